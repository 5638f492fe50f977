"""Rate limits: per client address on the public web routes (Flask-Limiter), per mobile on SMS and USSD.

Counts live in Redis when URJA_REDIS_URL is set (every web process shares them; if Redis stops answering, each
process counts in memory until it is back), else in this process's memory. Each limit is a setting (README).
A refused request is answered in its channel's form: JSON with a message for the API, a page for browsers
(both 429 with Retry-After); one English SMS a window for SMS (the webhook itself answers the provider 200,
so nothing is retried); a USSD END screen in the session's language.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from flask import Flask, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.strategies import RateLimiter
from werkzeug.exceptions import TooManyRequests

from cis.logs import get_logger
from cis.phones import mobile_or_none
from urjamitra.settings import Settings

log = get_logger(__name__)

# The web routes each address limit covers. Endpoints in one group share one count (the calculator's page
# and its API; the complaint status API and page), so a client cannot double its allowance by switching.
ADDRESS_LIMITS: dict[str, tuple[str, ...]] = {
    "limit_accounts": ("api.summary",),
    "limit_complaint_status": ("api.complaint", "landing.complaint_status", "requests.application_status"),
    "limit_complaints": ("api.lodge",),
    "limit_login": ("auth.login_post", "portal.login_post"),
    # Portal pages that send an OTP (an SMS to a consumer's mobile, whoever asks): per address, beside cis.otp's
    # own 3 an hour per mobile and per account.
    "limit_otp": (
        "portal.register_post",
        "portal.login_otp_post",
        "portal.forgot_post",
        "requests.new_connection_post",
        "prefs.mobiles_add",
    ),
    "limit_calculator": ("calculator.form", "calculator.api"),
    # Not in the list, but the same weakness: anyone could make it count every account, again and again.
    "limit_reports": ("reliability.page", "reliability.as_json"),
    # Anonymous reports: whoever sends them needs no account, so only their address can be counted.
    "limit_theft": ("tips.theft_post",),
    "limit_feedback": ("tips.feedback_post",),
    # The pay link's pages: anyone holding a link may open it, and a guessed token is a 404 that still counts.
    "limit_pay": ("pay.show", "pay.go", "pay.done"),
}
# SMS REG is counted per mobile under the same `otp` setting (MobileLimits), the portal's OTP pages per address.


def install_limits(app: Flask, settings: Settings) -> Limiter:
    """The app's limiter and its 429 answers; `limit_routes` puts the address limits on the routes."""
    options = {"socket_timeout": 2, "socket_connect_timeout": 2} if settings.redis_url else {}
    limiter = Limiter(
        get_remote_address,  # the client, as ProxyFix (URJA_TRUSTED_PROXIES) sees it
        app=app,
        storage_uri=settings.redis_url or "memory://",
        storage_options=options,
        key_prefix=settings.rate_limit_prefix,
        strategy="fixed-window",
        headers_enabled=False,  # our 429 answers set Retry-After; a 503 keeps its own
        in_memory_fallback_enabled=bool(settings.redis_url),
    )

    @app.errorhandler(429)
    def too_many(error: TooManyRequests) -> ResponseReturnValue:
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60
        if request.path.startswith("/api/") or request.path.endswith(".json"):
            message = f"Too many requests from your address. Please try again in {wait_text(wait)}."
            response = make_response(jsonify(error="TooManyRequests", message=message), 429)
        else:
            html = render_template("limits/too_many.html", wait=wait_text(wait), wait_hi=wait_text_hi(wait))
            response = make_response(html, 429)
        response.headers["Retry-After"] = str(wait)
        response.headers["Cache-Control"] = "no-store"
        return response

    app.extensions["urja.limiter"] = limiter
    return limiter


def limit_routes(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Put each address limit on its routes; called once every blueprint is registered."""
    for setting, endpoints in ADDRESS_LIMITS.items():
        shared = limiter.shared_limit(getattr(settings, setting), scope=setting.removeprefix("limit_"))
        for endpoint in endpoints:
            # A renamed endpoint fails here, at start, rather than leaving a route without its limit.
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])


def wait_text(seconds: int) -> str:
    """'45 seconds', '1 minute', '10 minutes', '2 hours'."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3600:
        minutes = max(1, round(seconds / 60))  # a window's reset lands a second or so past the minute
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{round(seconds / 3600)} hours"


def wait_text_hi(seconds: int) -> str:
    """'45 सेकंड', '10 मिनट', '2 घंटे'."""
    if seconds < 60:
        return f"{seconds} सेकंड"
    if seconds < 2 * 3600:
        return f"{max(1, round(seconds / 60))} मिनट"
    return f"{round(seconds / 3600)} घंटे"


def _mobile_key(mobile: str) -> str:
    """The count's key: the E.164 number, or (not an Indian mobile) the sender as given, bounded."""
    return mobile_or_none(mobile) or (mobile.strip()[:32] or "unknown")


class MobileLimits:
    """Per-mobile counts for the SMS and USSD webhooks, on the same storage as the address limits.

    A storage failure never silences a consumer: it is logged and the message is answered.
    """

    def __init__(self, limiter: Limiter, settings: Settings) -> None:
        self._limiter = limiter
        self._prefix = settings.rate_limit_prefix
        self._sms = parse_many(settings.limit_sms)
        self._otp = parse_many(settings.limit_otp)
        self._ussd = parse_many(settings.limit_ussd)

    @property
    def _strategy(self) -> RateLimiter:
        return self._limiter.limiter

    def _breached(self, scope: str, items: Sequence[RateLimitItem], key: str) -> tuple[RateLimitItem, int] | None:
        """Count one more for `key`; the first limit it breaches and the seconds until it resets, or None."""
        for item in sorted(items):
            if not self._strategy.hit(item, self._prefix, scope, key):
                reset = self._strategy.get_window_stats(item, self._prefix, scope, key).reset_time
                return item, max(1, math.ceil(reset - time.time()))
        return None

    def sms(self, mobile: str, kind: str = "sms") -> tuple[bool, int] | None:
        """None when a message from `mobile` may be answered; else (tell, seconds to wait), where `tell` is
        True for the first refusal in the window (the sender gets one SMS saying so) and False after it.
        `kind` "otp" (a REG asking for an OTP) also counts against the OTP limit.
        """
        key = _mobile_key(mobile)
        try:
            breach = self._breached("sms", self._sms, key)
            if breach is None and kind == "otp":
                breach = self._breached("otp", self._otp, key)
            if breach is None:
                return None
            item, wait = breach
            once = type(item)(1, item.multiples)  # one notice per window of the limit breached
            return self._strategy.hit(once, self._prefix, "sms-told", key), wait
        except Exception:  # Redis gone: answer the consumer rather than drop the message
            log.warning("SMS rate limit not checked: the limit storage failed", exc_info=True)
            return None

    def ussd(self, mobile: str) -> int | None:
        """None when a USSD screen may be served to `mobile`; else the seconds to wait."""
        try:
            breach = self._breached("ussd", self._ussd, _mobile_key(mobile))
        except Exception:
            log.warning("USSD rate limit not checked: the limit storage failed", exc_info=True)
            return None
        return None if breach is None else breach[1]
