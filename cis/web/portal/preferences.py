"""The portal's mobiles and SMS preferences pages, and the "supply on my feeder" card of My account.

GET/POST /portal/mobiles                        the registered mobiles (masked); add one → a code to that mobile
GET/POST /portal/mobiles/verify                 the code typed back → the mobile is added, verified
GET/POST /portal/mobiles/<id>/remove            confirm, then remove (never the last verified mobile)
GET/POST /portal/alerts                         alerts by kind, voice or SMS for outages, roster SMS per mobile

Views parse the form (cis.inputs), call cis.preferences and render; each error is a message in the page's language
tied to its field. Every POST carries the form token (`consumer_required` refuses one without it). The ticket of a
code on its way waits in Flask's signed session cookie, with the account it was asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis import preferences as prefs
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    LastVerifiedMobile,
    MalformedMobile,
    MobileAlreadyRegistered,
    NoNumberForCalls,
    NoPendingOtp,
    TooManyMobiles,
    TooManyOtpRequests,
    UnknownAccount,
    UnknownMobile,
    WrongOtp,
)
from cis.feeder_supply import FeederSupply, supply_on_feeder
from cis.inputs import InvalidInput, record_id, text
from cis.models.accounts import MAX_MOBILES_PER_ACCOUNT
from cis.models.outages import ALERT_CHANNELS
from cis.otp import VALID_MINUTES
from cis.web.portal import session as portal
from cis.web.portal.session import consumer_required, current_account
from cis.web.portal.views import Form

ADDING = "prefs_add"  # the code on its way to a new mobile: {"ticket", "masked", "account_id"}
NOTICE = "prefs_notice"  # what the next page says was done: {"what": "added" | "removed" | "saved", "masked"}
MAX_ROSTER_IDS = 2 * MAX_MOBILES_PER_ACCOUNT  # more ticked boxes than an account has mobiles is not a real form


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _too_many_otps() -> str:
    return _("Too many OTPs were asked for this mobile or account in the last hour. Please try again later.")


def _full(limit: int) -> str:
    return _("Your account already has %(n)s mobiles, the most it can hold. Remove one first.", n=limit)


def _mobile_format() -> str:
    return _("A mobile number has 10 digits and starts with 6, 7, 8 or 9.")


def preferences_blueprint(
    session_factory: Callable[[], Session], *, clock: Callable[[], dt.datetime] = _utc_now
) -> Blueprint:
    """Mobiles and SMS preferences (under /portal, beside the portal blueprint, which must be registered too)."""
    bp = Blueprint("prefs", __name__, url_prefix="/portal", template_folder="../templates")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    @bp.app_context_processor
    def _supply() -> dict[str, Any]:
        return {"feeder_supply": feeder_supply}

    def feeder_supply() -> FeederSupply | None:
        """The card on My account: the supply on the signed-in account's feeder (None for nobody signed in)."""
        account = current_account()
        if account is None:
            return None
        try:
            return supply_on_feeder(uow(), account.account_id, now=clock())
        except UnknownAccount:
            return None

    def notice() -> dict[str, str] | None:
        found = session.pop(NOTICE, None)
        return found if isinstance(found, dict) else None

    def adding() -> dict[str, Any] | None:
        """The code on its way to a new mobile of the account shown now (another account's is forgotten)."""
        found = session.get(ADDING)
        if (
            isinstance(found, dict)
            and isinstance(found.get("ticket"), str)
            and found.get("account_id") == portal.me().account_id
        ):
            return found
        return None

    # --- the list, and adding a mobile ------------------------------------------------------------------------------

    def mobiles_page(form: Form, status: int = 200) -> Response:
        account = portal.me()
        listed = prefs.list_mobiles(uow(), account.account_id, session_mobile=account.mobile)
        html = render_template(
            "prefs/mobiles.html",
            form=form,
            values=form.values,
            errors=form.errors,
            mobiles=listed,
            done=notice() if status == 200 else None,
            full=len(listed) >= MAX_MOBILES_PER_ACCOUNT,
            limit=MAX_MOBILES_PER_ACCOUNT,
        )
        return make_response(html, status)

    @bp.get("/mobiles")
    @consumer_required
    def mobiles() -> ResponseReturnValue:
        return mobiles_page(Form())

    @bp.post("/mobiles")
    @consumer_required
    def mobiles_add() -> ResponseReturnValue:
        account = portal.me()
        form = Form()
        try:
            form.values = {"mobile": text(request.form.get("mobile"), field="mobile", max_length=20) or ""}
        except InvalidInput:
            return mobiles_page(form.fail("mobile", _mobile_format()), 400)
        try:
            sent = prefs.start_add_mobile(uow(), account.account_id, form.values["mobile"], now=clock())
        except MalformedMobile:
            return mobiles_page(form.fail("mobile", _mobile_format()), 400)
        except MobileAlreadyRegistered:
            return mobiles_page(form.fail("mobile", _("This mobile is already registered on your account.")), 409)
        except TooManyMobiles as exc:
            return mobiles_page(form.fail("mobile", _full(exc.limit)), 409)
        except AccountClosed:
            form.notice = _("This account is permanently disconnected, so no mobile can be added to it.")
            return mobiles_page(form, 409)
        except TooManyOtpRequests:
            form.notice = _too_many_otps()
            return mobiles_page(form, 429)
        session[ADDING] = {"ticket": sent.ticket, "masked": sent.masked, "account_id": account.account_id}
        return redirect(url_for("prefs.mobiles_verify"), code=303)

    def verify_page(found: dict[str, Any], form: Form, status: int = 200) -> Response:
        html = render_template(
            "prefs/mobile_verify.html", form=form, errors=form.errors, masked=found["masked"], minutes=VALID_MINUTES
        )
        return make_response(html, status)

    @bp.get("/mobiles/verify")
    @consumer_required
    def mobiles_verify() -> ResponseReturnValue:
        found = adding()
        if found is None:
            return redirect(url_for("prefs.mobiles"), code=303)
        return verify_page(found, Form())

    @bp.post("/mobiles/verify")
    @consumer_required
    def mobiles_verify_post() -> ResponseReturnValue:
        found = adding()
        if found is None:
            return redirect(url_for("prefs.mobiles"), code=303)
        form = Form()
        code = (request.form.get("code") or "").strip()[:12]
        try:
            masked = prefs.finish_add_mobile(uow(), portal.me().account_id, found["ticket"], code, now=clock())
        except WrongOtp as exc:
            if exc.attempts_left:
                message = _("The OTP is not correct. You can try %(n)s more times.", n=exc.attempts_left)
            else:
                message = _("The OTP is not correct, and it cannot be tried again. Please ask for a new OTP.")
            return verify_page(found, form.fail("code", message), 400)
        except NoPendingOtp:
            message = _("This OTP has expired or was used. Please ask for a new OTP.")
            return verify_page(found, form.fail("code", message), 400)
        except TooManyMobiles as exc:
            form.notice = _full(exc.limit)
            return verify_page(found, form, 409)
        except AccountClosed:
            form.notice = _("This account is permanently disconnected, so no mobile can be added to it.")
            return verify_page(found, form, 409)
        session.pop(ADDING, None)
        session[NOTICE] = {"what": "added", "masked": masked}
        return redirect(url_for("prefs.mobiles"), code=303)

    # --- removing a mobile --------------------------------------------------------------------------------------------

    def one_mobile(mobile_id: int) -> prefs.MobileOnRecord:
        account = portal.me()
        for mobile in prefs.list_mobiles(uow(), account.account_id, session_mobile=account.mobile):
            if mobile.id == mobile_id:
                return mobile
        abort(404)

    def remove_page(mobile: prefs.MobileOnRecord, error: str | None = None, status: int = 200) -> Response:
        return make_response(render_template("prefs/mobile_remove.html", mobile=mobile, error=error), status)

    @bp.get("/mobiles/<int:mobile_id>/remove")
    @consumer_required
    def mobiles_remove(mobile_id: int) -> ResponseReturnValue:
        return remove_page(one_mobile(mobile_id))

    @bp.post("/mobiles/<int:mobile_id>/remove")
    @consumer_required
    def mobiles_remove_post(mobile_id: int) -> ResponseReturnValue:
        mobile = one_mobile(mobile_id)
        try:
            masked = prefs.remove_mobile(uow(), portal.me().account_id, mobile_id, now=clock())
        except UnknownMobile:
            abort(404)
        except LastVerifiedMobile:
            message = _("This is the only verified mobile on your account, so it cannot be removed. Add another first.")
            return remove_page(mobile, message, 409)
        if mobile.this_session:
            # The session proved this mobile: it has ended with it (cis.consumer_auth.session_account).
            g.pop("urja_portal", None)
            response = redirect(url_for("portal.login"), code=303)
            portal.forget_cookie(response)
            return response
        session[NOTICE] = {"what": "removed", "masked": masked}
        return redirect(url_for("prefs.mobiles"), code=303)

    # --- alerts ------------------------------------------------------------------------------------------------------

    def alerts_page(form: Form, chosen: prefs.AlertChoice | None = None, status: int = 200) -> Response:
        """The form, ticked as saved, or (`chosen`) as it was sent back with an error."""
        settings = prefs.alert_settings(uow(), portal.me().account_id)
        if chosen is None:
            chosen = prefs.AlertChoice(
                settings.outage,
                settings.roster,
                settings.bill,
                settings.channel,
                frozenset(m.id for m in settings.mobiles if m.roster),
            )
        html = render_template(
            "prefs/alerts.html",
            form=form,
            errors=form.errors,
            settings=settings,
            chosen=chosen,
            done=notice() if status == 200 else None,
        )
        return make_response(html, status)

    @bp.get("/alerts")
    @consumer_required
    def alerts() -> ResponseReturnValue:
        return alerts_page(Form())

    @bp.post("/alerts")
    @consumer_required
    def alerts_post() -> ResponseReturnValue:
        account = portal.me()
        form = Form()
        channel = request.form.get("channel") or ""
        raw_ids = request.form.getlist("roster_mobile")
        ids = [record_id(raw) for raw in raw_ids[:MAX_ROSTER_IDS]]
        choice = prefs.AlertChoice(
            outage=request.form.get("outage") == "on",
            roster=request.form.get("roster") == "on",
            bill=request.form.get("bill") == "on",
            channel=channel if channel in ALERT_CHANNELS else "",
            roster_mobile_ids=frozenset(i for i in ids if i is not None),
        )
        if not choice.channel:
            return alerts_page(form.fail("channel", _("Please choose SMS or a voice call.")), choice, 400)
        if len(raw_ids) > MAX_ROSTER_IDS or None in ids:
            return alerts_page(form.fail("roster", _("Please tick only the mobiles listed.")), choice, 400)
        try:
            prefs.save_alert_settings(uow(), account.account_id, choice, now=clock())
        except NoNumberForCalls:
            message = _("A voice call needs a registered mobile or a landline. Please add a mobile first.")
            return alerts_page(form.fail("channel", message), choice, 409)
        except UnknownMobile:
            return alerts_page(form.fail("roster", _("Please tick only the mobiles listed.")), choice, 400)
        session[NOTICE] = {"what": "saved", "masked": ""}
        return redirect(url_for("prefs.alerts"), code=303)

    return bp
