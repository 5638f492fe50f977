"""The staff side of the web: the 1912 agents' console (search, consumer 360, screen-pop, actions for the caller),
the officers' to-do (complaints, bill revisions, applications) and the MIS. One blueprint each, on the staff
sign-in of cis.web.auth; pages in Hindi and English on the site's layout.
"""

from cis.web.console.agent import console_blueprint
from cis.web.console.counter import counter_blueprint
from cis.web.console.mis import mis_blueprint
from cis.web.console.todo import todo_blueprint

__all__ = ["console_blueprint", "counter_blueprint", "mis_blueprint", "todo_blueprint"]
