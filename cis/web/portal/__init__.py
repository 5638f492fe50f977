"""The consumer web self-service portal: sign-in pages and home here; other sections use `portal.session`."""

from cis.web.portal.views import portal_blueprint

__all__ = ["portal_blueprint"]
