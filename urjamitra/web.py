"""The Flask app factory: wires the database, the Celery app and every blueprint together."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any

import redis
from flask import Flask, Response, jsonify, make_response, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from cis.bill_pdf import Issuer
from cis.db import Timeouts, make_engine, make_session_factory
from cis.logs import get_logger
from cis.migrate import current_revision
from cis.models import Account, Complaint, Feeder
from cis.printing import FontsMissing, prepare_fonts
from cis.web.account import account_blueprint
from cis.web.api import bp as api_bp
from cis.web.auth import auth_blueprint, login_required
from cis.web.calculator import bp as calculator_bp
from cis.web.console import console_blueprint as agent_console_blueprint
from cis.web.console import counter_blueprint, mis_blueprint, todo_blueprint
from cis.web.forms import forms_blueprint
from cis.web.landing import landing_blueprint
from cis.web.pay.bbps import bbps_blueprint
from cis.web.pay.razorpay import GatewayConfig, Razorpay
from cis.web.pay.sandbox import SandboxConfig, SandboxGateway
from cis.web.pay.views import Upi, pay_blueprint
from cis.web.portal import portal_blueprint
from cis.web.portal.preferences import preferences_blueprint
from cis.web.portal_complaints import complaints_blueprint
from cis.web.service_requests import requests_blueprint
from cis.web.site import install_site
from cis.web.tips import tips_blueprint
from ivr.alert_calls import call_outcome_recorder
from ivr.twilio_voice import voice_blueprint
from ivr.ussd import ussd_blueprint
from outage.desk import desk_blueprint
from outage.public import public_outages_blueprint
from outage.reliability_web import reliability_blueprint
from sms.console_web import console_blueprint
from sms.webhooks import sms_blueprint
from urjamitra import edge
from urjamitra.limits import MobileLimits, install_limits, limit_routes
from urjamitra.messaging import sms_preview
from urjamitra.outages import revision_hook
from urjamitra.security import install_security
from urjamitra.settings import Settings
from urjamitra.tasks import celery_for
from urjamitra.telephony import audio_library, make_dialer, make_dialog

# The parts of the system and where each is reached; those still to come name their issue.
PARTS: tuple[dict[str, Any], ...] = (
    {
        "name": "CIS JSON API",
        "what": "account summary, complaint registration and status",
        "links": [
            "/api/accounts/<account no>",
            "/api/complaints/<number>",
            "/api/complaint-categories",
            "/api/openapi.json",
        ],
    },
    {
        "name": "Consumer pages",
        "what": "the public landing page: live outages, reliability, the calculator, complaint status, how to pay; "
        "blank application forms to print (PDF, Hindi and English)",
        "links": ["/", "/complaints/status", "/forms"],
    },
    {
        "name": "Consumer portal",
        "what": "register with an account and bill number and an OTP to the verified mobile, sign in by password "
        "(5 failures lock the account for 15 minutes) or by mobile OTP, a forgotten password by OTP, switch between "
        "a mobile's accounts; sessions end at sign-out or after URJA_PORTAL_IDLE_MINUTES unused; my account: the "
        "current bill itemised, why it is high, 12 months of use, bills and payments, each bill as a PDF; lodge "
        "complaints, follow each one's history, confirm or reject a resolution",
        "links": [
            "/portal/login",
            "/portal/register",
            "/portal/login/otp",
            "/portal/forgot",
            "/portal/",
            "/portal/complaints",
            "/portal/bills",
        ],
    },
    {
        "name": "Requests and applications",
        "what": "a bill revision with a document (PDF, JPEG or PNG up to 2 MB, typed by its bytes), load change up to "
        "4 kW, name change and permanent disconnection for a signed-in consumer; a new connection for anyone whose "
        "mobile is proven by OTP; each with a number by SMS and a timeline against its statutory time limit; the "
        "public status of an application; anonymous theft reports and feedback",
        "links": [
            "/portal/revision",
            "/portal/requests",
            "/apply/new_connection",
            "/applications/status",
            "/theft",
            "/feedback",
        ],
    },
    {
        "name": "1912 console, to-do and MIS",
        "what": "agents (agent1 ...) find a consumer by account, mobile, name (English or Hindi), complaint or request "
        "number and see the consumer 360 (network, bill, payments, complaints with history, requests, supply now, "
        "the IVR calls and SMS the consumer had), log complaints, send the bill or payment SMS, start a mobile "
        "registration, keep notes; a transferred IVR call pops on the agent's screen. Officers (je.<sub-division>, "
        "sdo..., ee..., se...) work complaints of their area (resolve with a closure code, reassign, escalate, close "
        "with the consumer's code), approve or reject bill revisions and move applications through their steps; the "
        "MIS of their area (pendency, SLA breach, reopened and unconfirmed closures, IVR containment and drop-outs, "
        "SMS delivery, outage minutes, revisions pending), charts with tables and CSV",
        "links": ["/console/", "/todo/", "/mis/"],
    },
    {
        "name": "Payments",
        "what": "payment links (IVR 2 then 1, SMS PAY, the portal's Pay now, the console) to our pay page /p/<token> "
        "with a UPI intent and QR; Razorpay or the sandbox gateway (URJA_PAY_GATEWAY) and its signed webhooks, each "
        "payment posted once; receipts (SMS, PDF); refunds; the daily reconciliation; the BBPS-style biller API",
        "links": [
            "/portal/bills",
            "POST /webhooks/razorpay",
            "urjamitra payments reconcile --date YYYY-MM-DD",
            "POST /bbps/fetch",
        ],
    },
    {"name": "Health", "what": "database, schema revision and Redis", "links": ["/healthz"]},
    {
        "name": "Bill calculator",
        "what": "an itemised bill by the rate schedule in force (also on the command line: urjamitra calc)",
        "links": ["/calculator", "/api/calc?category=LMV-1U&load=2&units=250&days=30", "/api/calc/categories"],
    },
    {
        "name": "Billing run",
        "what": "one versioned bill per account and cycle: actual, estimated or assessed, with arrears and LPS",
        "links": ["urjamitra bill-run --cycle YYYY-MM", "urjamitra bill-revise --account N --cycle YYYY-MM --reason R"],
    },
    {
        "name": "Hindi IVR",
        "what": "Asterisk FastAGI (urjamitra fastagi, urjamitra phone), the AGI script urjamitra-agi, Twilio voice "
        "webhooks (signed) and the USSD gateway webhook (shared secret)",
        "links": ["urjamitra phone --caller +919876543210", "POST /voice/incoming", "POST /ussd"],
    },
    {
        "name": "SMS",
        "what": "English keyword commands (BILL, PAY, COMP, STATUS, OUTAGE, REG, CALC, READ, STOP, START, HELP) by "
        "Twilio or a DLT gateway (signed webhooks) or urjamitra sms; DLT templates; the outbox drained in batches by "
        "Celery (urjamitra outbox drain without Redis); the console provider's messages on a page (admin only)",
        "links": [
            "/sms/console",
            'urjamitra sms --from +919876543210 "BILL"',
            "POST /sms/twilio/inbound",
            "POST /sms/gateway/inbound",
        ],
    },
    {
        "name": "Outage desk",
        "what": "staff sign-in (demo desks: desk.<division code>, password from URJA_DEMO_PASSWORD); the desk of a "
        "division publishes breakdowns and planned shutdowns after a preview of whom they reach (SMS, voice call, "
        "unreachable), updates ETRs, marks restoration, cancels, confirms suspected breakdowns and sees the share of "
        "consumers reachable by a verified mobile; the public page of live interruptions feeder by feeder; SAIFI, "
        "SAIDI and CAIDI per feeder, division and month",
        "links": ["/login", "/desk/", "/outages", "/outages.json", "/reliability"],
    },
)


OPENAPI = (resources.files("urjamitra") / "openapi.json").read_bytes()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def web_timeouts(settings: Settings) -> Timeouts:
    """The web app's and webhooks' limits on waiting for the database (batch jobs have none)."""
    return Timeouts(
        connect_s=settings.db_connect_timeout,
        statement_s=settings.db_statement_timeout or None,
        pool_s=settings.db_pool_timeout,
    )


def twilio_screen_pop(session_factory: Any) -> Any:
    """The voice blueprint's `on_agent_answered`: the agent Twilio names (`sip:...`, `client:...`) sees the call."""
    from cis.db import UnitOfWork
    from cis.screen_pop import record_answer_for_call

    def answered(agent: str, call_sid: str) -> None:
        record_answer_for_call(
            UnitOfWork(session_factory), extension=agent, channel="twilio", call_ref=call_sid, source="twilio"
        )

    return answered


def install_payments(app: Flask, settings: Settings, sessions: Callable[[], Session]) -> None:
    """The pay link, the gateway's webhooks and, with the sandbox gateway, the sandbox itself (same contract)."""
    api_url, key_id, key_secret, webhook_secret = settings.gateway_keys()
    gateway = Razorpay(GatewayConfig(settings.pay_gateway, api_url, key_id, key_secret, webhook_secret))
    app.extensions["urja.gateway"] = gateway
    upi = Upi(settings.upi_vpa, settings.upi_payee)
    app.register_blueprint(pay_blueprint(sessions, gateway=gateway, upi=upi, clock=_utc_now))
    app.register_blueprint(bbps_blueprint(sessions, partners=settings.bbps_partner_secrets(), clock=_utc_now))
    if settings.pay_gateway == "sandbox":
        get_logger("urjamitra.payments").warning(
            "payments: the sandbox gateway is on (no money moves; anyone holding a pay link can mark it paid): "
            "set URJA_PAY_GATEWAY=razorpay with its keys before taking real payments"
        )
        sandbox = SandboxGateway(
            SandboxConfig(
                key_id=key_id,
                key_secret=key_secret,
                webhook_secret=webhook_secret,
                webhook_url=f"{settings.public_url}/webhooks/razorpay",
                state_path=settings.sandbox_state_path,
                public_url=settings.public_url,
            )
        )
        app.extensions["urja.sandbox_gateway"] = sandbox
        app.register_blueprint(sandbox.blueprint())


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    # The session cookie travels only over https where the site is served over https.
    app.config.update(SECRET_KEY=settings.secret_key, SESSION_COOKIE_SECURE=settings.public_url.startswith("https:"))
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep bills in bill order: energy ... total
    edge.install(app, settings)  # before any blueprint: its `int` converter must be the one routes get
    engine = make_engine(settings.database_url, timeouts=web_timeouts(settings))
    app.extensions["urja.settings"] = settings
    app.extensions["urja.engine"] = engine
    app.extensions["urja.session_factory"] = make_session_factory(engine)
    app.extensions["urja.celery"] = celery_for(settings)
    install_security(app, settings)
    install_site(app, site_name=getattr(settings, "discom_name", "") or "")
    limiter = install_limits(app, settings)
    per_mobile = MobileLimits(limiter, settings)
    app.register_blueprint(landing_blueprint(app.extensions["urja.session_factory"], helpline="1912"))
    app.register_blueprint(api_bp)
    app.register_blueprint(calculator_bp)
    dialog = make_dialog(settings, app.extensions["urja.session_factory"])
    app.extensions["urja.dialog"] = dialog
    # Twilio's status callbacks free the outbound call slots of the dialer in this process.
    dialer = make_dialer(settings) if not settings.ami_url else None
    app.extensions["urja.dialer"] = dialer
    app.register_blueprint(
        voice_blueprint(
            dialog,
            auth_token=settings.twilio_auth_token,
            audio=audio_library(settings),
            public_url=settings.public_url,
            agent_dial=settings.agent_dial,
            on_call_ended=dialer.call_ended if dialer is not None else None,
            on_call_status=call_outcome_recorder(engine, "twilio", clock=_utc_now),
            on_agent_answered=twilio_screen_pop(app.extensions["urja.session_factory"]),
        )
    )
    app.register_blueprint(ussd_blueprint(dialog, secret=settings.ussd_secret, throttle=per_mobile.ussd))
    app.register_blueprint(
        sms_blueprint(
            app.extensions["urja.session_factory"],
            engine,
            twilio_auth_token=settings.twilio_auth_token,
            gateway_secret=settings.sms_gateway_secret,
            public_url=settings.public_url,
            portal_url=settings.portal_link,
            throttle=per_mobile.sms,
            check_reopen=settings.check_reopen,
        )
    )
    app.register_blueprint(
        console_blueprint(app.extensions["urja.session_factory"], enabled=settings.sms_provider == "console")
    )
    sessions = app.extensions["urja.session_factory"]
    app.register_blueprint(
        auth_blueprint(
            sessions,
            clock=_utc_now,
            landing={
                "outage_desk": "/desk/",
                "admin": "/admin/system",
                "agent": "/console/",
                **dict.fromkeys(("je", "sdo", "ee", "se"), "/todo/"),
                "cashier": "/counter/",
            },
            idle=dt.timedelta(minutes=settings.staff_idle_minutes),
        )
    )
    app.register_blueprint(
        portal_blueprint(sessions, clock=_utc_now, idle=dt.timedelta(minutes=settings.portal_idle_minutes))
    )
    app.register_blueprint(complaints_blueprint(sessions, clock=_utc_now))
    app.register_blueprint(requests_blueprint(sessions, upload_dir=settings.uploads_path, clock=_utc_now))
    # Theft reporters are told apart by a keyed hash of their address, keyed apart from the session cookies.
    reporter_key = hashlib.sha256(b"theft-reporter:" + settings.secret_key.encode()).digest()
    app.register_blueprint(
        tips_blueprint(sessions, upload_dir=settings.uploads_path, address_key=reporter_key, clock=_utc_now)
    )
    app.register_blueprint(preferences_blueprint(sessions, clock=_utc_now))
    app.register_blueprint(account_blueprint(sessions, issuer=Issuer(portal_url=settings.portal_link)))
    app.register_blueprint(forms_blueprint(portal_url=settings.portal_link))
    app.register_blueprint(
        agent_console_blueprint(
            sessions, clock=_utc_now, sms_preview=sms_preview(settings), portal_url=settings.portal_link
        )
    )
    app.register_blueprint(todo_blueprint(sessions, clock=_utc_now))
    app.register_blueprint(mis_blueprint(sessions, clock=_utc_now))
    app.register_blueprint(counter_blueprint(sessions, clock=_utc_now, issuer=Issuer(portal_url=settings.portal_link)))
    install_payments(app, settings, sessions)
    try:
        prepare_fonts()  # the bill PDFs' fonts cut and parsed now, in each worker, not for the first consumer
    except FontsMissing as exc:
        app.logger.warning("bill PDFs cannot be made: %s", exc)

    # A told revision is fanned out by a Celery task (with Redis) or at once here; the sweep finishes any left.
    # Without Redis the fan-out runs here and may run long: an engine without the web's statement timeout,
    # connecting afresh each time (a desk action is rare), so it holds no connection in between.
    batch_engine = make_engine(settings.database_url, poolclass=NullPool)
    app.extensions["urja.on_revision"] = revision_hook(settings, batch_engine, app.extensions["urja.celery"])

    def on_revision(revision_id: int) -> None:
        fan_out = app.extensions.get("urja.on_revision")
        if fan_out is not None:
            fan_out(revision_id)

    margin = dt.timedelta(minutes=settings.etr_margin_minutes)
    app.register_blueprint(desk_blueprint(sessions, on_revision=on_revision, etr_margin=margin, clock=_utc_now))
    app.register_blueprint(public_outages_blueprint(sessions, _utc_now))
    app.register_blueprint(reliability_blueprint(sessions, _utc_now))

    @app.get("/admin/system")
    @login_required("admin")
    def system() -> ResponseReturnValue:
        counts: dict[str, int | None] = {}
        try:
            with engine.connect() as conn:
                for label, model in (("accounts", Account), ("feeders", Feeder), ("complaints", Complaint)):
                    counts[label] = conn.scalar(select(func.count()).select_from(model))
        except SQLAlchemyError:
            counts = {}
        html = render_template("admin/system.html", parts=PARTS, counts=counts, settings=settings.masked())
        page = make_response(html)
        page.headers["Cache-Control"] = "no-store"  # the configuration: never kept by a browser or proxy
        return page

    @app.get("/api/openapi.json")
    def openapi() -> ResponseReturnValue:
        """The OpenAPI description of the JSON API and the providers' webhooks (urjamitra/openapi.json)."""
        return Response(OPENAPI, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        report: dict[str, Any] = {"status": "ok"}
        try:
            report["schema"] = current_revision(engine)
        except SQLAlchemyError as exc:
            report.update(status="error", database=type(exc).__name__)
        if settings.redis_url:
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
            try:
                report["redis"] = "ok" if client.ping() else "error"
            except redis.RedisError as exc:
                report.update(status="error", redis=type(exc).__name__)
            finally:
                client.close()
        else:
            report["redis"] = "not configured: tasks run in-process"
        if report.get("schema") is None and report["status"] == "ok":
            report["status"] = "error"
            report["database"] = "no schema: run `urjamitra db upgrade`"
        response = jsonify(report)
        if report["status"] != "ok":
            response.status_code = 503
            response.headers["Retry-After"] = str(edge.RETRY_AFTER_S)
        return response

    limit_routes(app, limiter, settings)
    return app
