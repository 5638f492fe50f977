"""A complaint in words on the web pages: its category, status, the officer level holding it, and each step of its
history, in the page's language. The public status page and the portal's complaint pages both use these.

Marked with N_ (so the catalogs hold them) and translated with gettext when a page is rendered. The category
titles are cis.complaints.CATEGORIES' own (a test keeps the two equal).
"""

from __future__ import annotations

from flask_babel import gettext as _

from cis.complaints import CATEGORIES
from cis.web.i18n import N_

LEVELS = {
    "je": N_("Junior Engineer"),
    "sdo": N_("Sub-Divisional Officer"),
    "ee": N_("Executive Engineer"),
    "se": N_("Superintending Engineer"),
}
STATUSES = {
    "open": N_("Open"),
    "reopened": N_("Reopened"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
CATEGORY_TITLES = (
    N_("No supply"),
    N_("Low or fluctuating voltage"),
    N_("Meter defective, burnt or stopped"),
    N_("Wrong bill or bill not received"),
    N_("Dangerous line, sparking or broken pole"),
    N_("Electricity theft"),
)
# How a complaint came in, said as its first step.
LODGED_BY = {
    "portal": N_("Complaint lodged on the web portal"),
    "ivr": N_("Complaint lodged by phone on 1912"),
    "sms": N_("Complaint lodged by SMS"),
    "ussd": N_("Complaint lodged by USSD"),
    "console": N_("Complaint lodged through the 1912 call centre"),
    "app": N_("Complaint lodged in the mobile app"),
    "field": N_("Complaint lodged with the field staff"),
}


def category_text(code: str) -> str:
    category = CATEGORIES.get(code)
    return _(category.title) if category is not None else code


def status_text(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def level_text(level: str | None) -> str:
    return _(LEVELS[level]) if level in LEVELS else ""


def step_text(step: str, *, level: str | None = None, channel: str | None = None, by: str | None = None) -> str:
    """One step of a complaint's history as a sentence. `by` is "consumer" on the consumer's own pages (the step
    is then said to them: "You ..."); None on the public page, which never says who."""
    yours = by == "consumer"
    if step == "registered":
        return _(LODGED_BY[channel]) if channel in LODGED_BY else _("Complaint lodged")
    if step == "assigned":
        return _("Assigned to the %(officer)s", officer=level_text(level)) if level else _("Assigned to an officer")
    if step == "escalated":
        if not level:
            return _("Moved up to a senior officer")
        return _("Moved up to the %(officer)s", officer=level_text(level))
    if step == "linked_to_outage":
        return _("Linked to a supply interruption in the area: it is resolved when supply is restored")
    if step == "unlinked_from_outage":
        return _("The supply interruption was withdrawn: the complaint went back to the field staff")
    if step == "resolved":
        return _("Resolved")
    if step == "resolution_confirmed":
        return _("You confirmed it was fixed: closed") if yours else _("The consumer confirmed it was fixed: closed")
    if step == "resolution_rejected":
        return _("You said it was not fixed: reopened") if yours else _("The consumer said it was not fixed: reopened")
    if step == "closed":
        return _("Closed")
    return step
