"""Settings: the one place that reads the environment, once, into a frozen object."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from limits import parse_many
from sqlalchemy.engine import make_url


class SettingsError(ValueError):
    """A setting in the environment is malformed."""


# Where `urjamitra-agi` finds its settings when Asterisk starts it (Asterisk's environment has none of ours).
DEFAULT_ENV_FILE = "/etc/urjamitra/env"
_FILE_PREFIXES = ("URJA_", "TWILIO_")


def read_env_file(path: str | Path) -> dict[str, str]:
    """`URJA_*=value` lines of a settings file (a systemd EnvironmentFile works as it is): blank lines and `#`
    comments are skipped, `export ` is allowed, a value may be quoted; names not starting URJA_ or TWILIO_ are
    ignored. Raises SettingsError for a line that is not NAME=value, OSError when the file cannot be read."""
    values: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name.replace("_", "").isalnum():
            raise SettingsError(f"{path}, line {number}: expected NAME=value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if name.startswith(_FILE_PREFIXES):
            values[name] = value
    return values


def environment(environ: Mapping[str, str] | None = None, *, env_file: str | None = None) -> dict[str, str]:
    """The settings' source: the settings file under the environment (what the environment sets wins).

    The file is the one `URJA_ENV_FILE` names (it must exist), else `env_file` when given and present.
    """
    env = dict(os.environ if environ is None else environ)
    named = env.get("URJA_ENV_FILE")
    path = named or env_file
    if not path:
        return env
    try:
        values = read_env_file(path)
    except FileNotFoundError:
        if named:
            raise SettingsError(f"URJA_ENV_FILE names {named}, which does not exist") from None
        return env
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc.strerror}") from exc
    return {**values, **env}


def _bind(value: str, name: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    # Port 0 asks the system for a free port (the CLI prints the one it got).
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        raise SettingsError(f"{name} must look like HOST:PORT, got {value!r}")
    return host, int(port)


def _mask_url(url: str) -> str:
    """Hide credentials in a URL: the user-info part and any password in the query string."""
    scheme, sep, rest = url.partition("://")
    base, qsep, query = rest.partition("?")
    if sep and "@" in base:
        base = "***@" + base.rpartition("@")[2]
    if qsep:
        hidden = ("password=", "secret=")
        query = "&".join(p.split("=", 1)[0] + "=***" if p.lower().startswith(hidden) else p for p in query.split("&"))
    return scheme + sep + base + qsep + query


def _limit(value: str, name: str) -> str:
    """A rate limit as Flask-Limiter reads it: "30 per minute", "30/minute; 300/hour", "10 per 15 minutes"."""
    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed or any(item.amount <= 0 for item in parsed):
        raise SettingsError(f"{name} must be a rate limit like '30 per minute' or '10/minute; 100/hour', got {value!r}")
    return value


# Rate limits: the setting's field, its variable, and what it counts (README lists them).
LIMITS = {
    "limit_accounts": "URJA_LIMIT_ACCOUNTS",
    "limit_complaint_status": "URJA_LIMIT_COMPLAINT_STATUS",
    "limit_complaints": "URJA_LIMIT_COMPLAINTS",
    "limit_otp": "URJA_LIMIT_OTP",
    "limit_login": "URJA_LIMIT_LOGIN",
    "limit_calculator": "URJA_LIMIT_CALCULATOR",
    "limit_reports": "URJA_LIMIT_REPORTS",
    "limit_theft": "URJA_LIMIT_THEFT",
    "limit_feedback": "URJA_LIMIT_FEEDBACK",
    "limit_sms": "URJA_LIMIT_SMS",
    "limit_ussd": "URJA_LIMIT_USSD",
    "limit_pay": "URJA_LIMIT_PAY",
}
MAX_SMS_LINK = 30  # a DLT template variable holds at most 30 characters (sms.templates.MAX_VARIABLE_LENGTH)


def _portal_url(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    url = value.strip().rstrip("/")
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise SettingsError(f"URJA_PORTAL_URL must be an http(s):// address, got {value!r}")
    if len(url) > MAX_SMS_LINK:
        raise SettingsError(f"URJA_PORTAL_URL goes into SMS as a DLT variable: at most {MAX_SMS_LINK} characters")
    return url


_SECRETS = (
    "secret_key",
    "twilio_auth_token",
    "demo_password",
    "ussd_secret",
    "sms_gateway_key",
    "sms_gateway_secret",
    "razorpay_key_secret",
    "razorpay_webhook_secret",
    "bbps_partners",
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults of `urjamitra up`."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'urjamitra.db'}")
    redis_url: str | None = None
    web_bind: str = "127.0.0.1:8080"
    # `urjamitra serve` (gunicorn, gthread workers): processes x threads answer at once. Two processes use both
    # cores of a small server; threads overlap the waits on the database within each.
    web_workers: int = 2
    web_threads: int = 4
    web_access_log: str = "-"  # where `serve` writes its access log: - (stdout), a file path, or off
    web_graceful_timeout: int = 30  # seconds a stopping or reloading `serve` gives requests in flight
    fastagi_bind: str = "127.0.0.1:4573"
    sms_provider: str = "console"
    public_url: str = "http://127.0.0.1:8080"
    # Where SMS send consumers to pay and help themselves (the discom's web self-service); unset: public_url,
    # whose / is the public landing page. The one link prefix whitelisted with DLT for every SMS.
    portal_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    ami_url: str | None = None
    demo_consumers: int = 2000
    demo_password: str = "demo1912"  # the seeded demo staff logins and the demo portal consumer; never seed production
    prompts_dir: str = field(default_factory=lambda: str(Path.cwd() / "var" / "prompts"))
    agi_sounds: str = "urjamitra"  # the folder under Asterisk's sounds directory holding the prompts
    asterisk_sounds_dir: str = "/var/lib/asterisk/sounds"  # Asterisk's sounds directory, as this machine sees it
    agent_queue: str = "1912"  # the Asterisk queue of the 1912 agents
    agent_wait: int = 300  # seconds a caller waits in that queue before Asterisk gives up (Queue()'s timeout)
    # What Twilio <Dial>s to reach an agent: +E.164, a sip: URI or client:<identity>; unset: "call 1912".
    agent_dial: str | None = None
    ussd_secret: str | None = None  # the USSD gateway's shared secret; unset: the USSD webhook refuses all
    call_limit: int = 10  # concurrent outbound calls the trunk takes
    ivr_number: str = "+911800180000"  # caller ID on outbound calls (and Twilio's From)
    ami_context: str = "urjamitra-out"  # the dialplan context outbound AMI calls start in
    ami_trunk: str = "trunk"  # the trunk outbound calls leave by: `{trunk}` in ami_dial (a PJSIP endpoint, a group)
    # The channel an alert call dials: {e164} +919876543210, {e164_digits} 919876543210, {national} 9876543210,
    # {trunk}. An E1/PRI trunk on DAHDI that wants national numbers with the 0 prefix: "DAHDI/g0/0{national}".
    ami_dial: str = "PJSIP/{e164_digits}@{trunk}"
    agi_log: str = "stderr"  # where urjamitra-agi logs: stderr (Asterisk's, never stdout), syslog, or a file path
    sms_rate: float = 100.0  # messages per second the SMS provider accepts (a token bucket shared by all workers)
    sms_batch: int = 500  # outbox rows one dispatcher claims and sends at a time
    sms_gateway_url: str | None = None  # the DLT gateway's send endpoint (URJA_SMS_PROVIDER=dlt)
    sms_gateway_key: str | None = None  # our API key at the gateway
    sms_gateway_secret: str | None = None  # the secret the gateway signs its webhooks with
    dlt_entity_id: str = "1101000000000000001"  # the discom's DLT principal entity id (19 digits)
    sms_sender: str = "URJAMT"  # Twilio's From for SMS (an approved alphanumeric sender id)
    twilio_messaging_service_sid: str | None = None  # used instead of sms_sender when set
    twilio_api_url: str | None = None  # another address for Twilio's REST API (a proxy, a test double)
    etr_margin_minutes: int = 30  # an ETR moved by no more than this is not announced again
    suspect_complaints: int = 3  # this many no-supply complaints from one feeder ...
    suspect_minutes: int = 15  # ... within this many minutes raise a suspected breakdown on the desk
    check_share: float = 0.02  # the share of consumers asked "is your power back?" after a restoration
    # Reverse proxies in front of the web app whose X-Forwarded-For/-Proto/-Host are believed (0: none, so a
    # client cannot choose the address its rate limits are counted against).
    trusted_proxies: int = 0
    rate_limit_prefix: str = "urja"  # the rate limits' key prefix in Redis (several deployments on one Redis)
    # Rate limits, counted per client address (web) or per mobile (SMS, USSD); Redis with URJA_REDIS_URL.
    limit_accounts: str = "30 per minute; 600 per hour"  # GET /api/accounts/<no>
    limit_complaint_status: str = "30 per minute; 600 per hour"  # complaint status by number (API and page)
    limit_complaints: str = "10 per minute; 50 per hour"  # complaint registration (POST /api/complaints)
    limit_otp: str = "5 per hour"  # OTP sends asked for by one mobile (SMS REG), beside cis.otp's own limits
    limit_login: str = "10 per minute; 100 per hour"  # staff sign-in attempts (POST /login)
    limit_calculator: str = "60 per minute"  # the bill calculator page and /api/calc
    limit_reports: str = "20 per minute"  # the public reliability report (it counts every account per feeder)
    limit_theft: str = "5 per hour; 20 per day"  # anonymous theft reports (POST /theft)
    limit_feedback: str = "10 per hour"  # feedback (POST /feedback)
    limit_sms: str = "10 per 10 minutes"  # inbound SMS commands per mobile (Twilio and the DLT gateway)
    limit_ussd: str = "60 per 10 minutes"  # USSD screens per mobile
    staff_idle_minutes: int = 30  # a staff session unused this long ends (and every one 12 hours after sign-in)
    portal_idle_minutes: int = 30  # a consumer's portal session unused this long ends (and 12 hours after sign-in)
    check_reopen: int = 3  # this many "2" answers from that sample reopen the outage (fewer: a complaint each)
    max_body_bytes: int = 1_048_576  # the largest request body the web app reads (413 beyond)
    db_connect_timeout: int = 5  # seconds to wait for a database connection (the web app's and the webhooks')
    db_statement_timeout: int = 10  # seconds a web request's statement (or lock wait) may take; 0: no limit
    db_pool_timeout: int = 5  # seconds a web request waits for a free connection of the pool
    # Where uploaded documents are kept (never a served folder); unset: "uploads" beside the SQLite database file,
    # or in the working directory for another database.
    upload_dir: str | None = None
    # Payments: "sandbox" (a local gateway speaking Razorpay's contract, under /sandbox/razorpay; no money moves)
    # or "razorpay" (its API with these keys; the webhook secret is the one set on Razorpay's dashboard).
    pay_gateway: str = "sandbox"
    razorpay_key_id: str | None = None
    razorpay_key_secret: str | None = None
    razorpay_webhook_secret: str | None = None
    razorpay_api_url: str | None = None  # another address for Razorpay's API (a proxy, a test double)
    upi_vpa: str = "urjamitra.bills@sbi"  # the discom's collection VPA that UPI intents pay
    upi_payee: str = "Urja Mitra Discom"  # the payee name UPI apps show
    limit_pay: str = "30 per minute; 300 per hour"  # the pay link's pages, per client address
    # The BBPS-style biller API's partners: "bank1:secret1,wallet2:secret2" (secrets of 16 characters or more).
    bbps_partners: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from `environ` (default: the process environment over the file URJA_ENV_FILE names)."""
        env = environment() if environ is None else environ
        defaults = cls()
        provider = env.get("URJA_SMS_PROVIDER", defaults.sms_provider)
        if provider not in ("console", "twilio", "dlt"):
            raise SettingsError(f"URJA_SMS_PROVIDER must be console, twilio or dlt, got {provider!r}")
        web_bind = env.get("URJA_WEB_BIND", defaults.web_bind)
        fastagi_bind = env.get("URJA_FASTAGI_BIND", defaults.fastagi_bind)
        _bind(web_bind, "URJA_WEB_BIND")
        _bind(fastagi_bind, "URJA_FASTAGI_BIND")
        demo = env.get("URJA_DEMO_CONSUMERS", str(defaults.demo_consumers))
        if not (demo.isascii() and demo.isdigit()):
            raise SettingsError(f"URJA_DEMO_CONSUMERS must be a whole number, got {demo!r}")
        host, port = _bind(web_bind, "URJA_WEB_BIND")
        agent_dial = env.get("URJA_AGENT_DIAL") or None
        if agent_dial and not (
            agent_dial.startswith(("sip:", "sips:"))
            or (agent_dial.startswith("client:") and len(agent_dial) > 7)
            or (agent_dial.startswith("+") and agent_dial[1:].isdigit() and 8 <= len(agent_dial) <= 16)
        ):
            raise SettingsError(
                f"URJA_AGENT_DIAL must be +<country><number>, a sip: URI or client:<identity>, got {agent_dial!r}"
            )
        agent_wait = env.get("URJA_AGENT_WAIT", str(defaults.agent_wait))
        if not (agent_wait.isascii() and agent_wait.isdigit() and 10 <= int(agent_wait) <= 3600):
            raise SettingsError(f"URJA_AGENT_WAIT must be seconds from 10 to 3600, got {agent_wait!r}")
        call_limit = env.get("URJA_CALL_LIMIT", str(defaults.call_limit))
        if not (call_limit.isascii() and call_limit.isdigit() and int(call_limit) > 0):
            raise SettingsError(f"URJA_CALL_LIMIT must be a whole number above 0, got {call_limit!r}")
        sms_rate = env.get("URJA_SMS_RATE", str(defaults.sms_rate))
        try:
            rate = float(sms_rate)
        except ValueError:
            rate = 0.0
        if not rate > 0 or rate != rate or rate == float("inf"):
            raise SettingsError(f"URJA_SMS_RATE must be messages per second above 0, got {sms_rate!r}")
        sms_batch = env.get("URJA_SMS_BATCH", str(defaults.sms_batch))
        if not (sms_batch.isascii() and sms_batch.isdigit() and 1 <= int(sms_batch) <= 5000):
            raise SettingsError(f"URJA_SMS_BATCH must be a whole number from 1 to 5000, got {sms_batch!r}")
        entity = env.get("URJA_DLT_ENTITY_ID") or defaults.dlt_entity_id
        if not (entity.isascii() and entity.isdigit() and len(entity) == 19):
            raise SettingsError(f"URJA_DLT_ENTITY_ID must be the 19-digit DLT principal entity id, got {entity!r}")
        gateway_url = env.get("URJA_SMS_GATEWAY_URL") or None
        if provider == "dlt" and not (gateway_url and env.get("URJA_SMS_GATEWAY_KEY")):
            raise SettingsError("URJA_SMS_PROVIDER=dlt needs URJA_SMS_GATEWAY_URL and URJA_SMS_GATEWAY_KEY")
        if provider == "twilio" and not (env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN")):
            raise SettingsError("URJA_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        outage_numbers = {}
        for name, var in (
            ("etr_margin_minutes", "URJA_ETR_MARGIN_MINUTES"),
            ("suspect_complaints", "URJA_SUSPECT_COMPLAINTS"),
            ("suspect_minutes", "URJA_SUSPECT_MINUTES"),
            ("check_reopen", "URJA_CHECK_REOPEN"),
        ):
            raw = env.get(var, str(getattr(defaults, name)))
            if not (raw.isascii() and raw.isdigit() and int(raw) > 0):
                raise SettingsError(f"{var} must be a whole number above 0, got {raw!r}")
            outage_numbers[name] = int(raw)
        ami_dial = env.get("URJA_AMI_DIAL") or defaults.ami_dial
        sample = {"e164": "+919876543210", "e164_digits": "919876543210", "national": "9876543210", "trunk": "t"}
        try:
            dialled = ami_dial.format(number=sample["e164_digits"], **sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise SettingsError(
                f"URJA_AMI_DIAL may name {{e164}}, {{e164_digits}}, {{national}} and {{trunk}}, got {ami_dial!r}"
            ) from exc
        if "/" not in dialled or any(c.isspace() or c == "," for c in dialled):
            raise SettingsError(f"URJA_AMI_DIAL must be an Asterisk channel such as TECH/resource, got {ami_dial!r}")
        idle = env.get("URJA_STAFF_IDLE_MINUTES", str(defaults.staff_idle_minutes))
        if not (idle.isascii() and idle.isdigit() and 1 <= int(idle) <= 720):
            raise SettingsError(f"URJA_STAFF_IDLE_MINUTES must be a whole number from 1 to 720, got {idle!r}")
        portal_idle = env.get("URJA_PORTAL_IDLE_MINUTES", str(defaults.portal_idle_minutes))
        if not (portal_idle.isascii() and portal_idle.isdigit() and 1 <= int(portal_idle) <= 720):
            raise SettingsError(f"URJA_PORTAL_IDLE_MINUTES must be a whole number from 1 to 720, got {portal_idle!r}")
        check_share = env.get("URJA_CHECK_SHARE", str(defaults.check_share))
        try:
            share = float(check_share)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise SettingsError(f"URJA_CHECK_SHARE must be a share from 0 to 1, got {check_share!r}")
        proxies = env.get("URJA_TRUSTED_PROXIES", str(defaults.trusted_proxies))
        if not (proxies.isascii() and proxies.isdigit() and int(proxies) <= 5):
            raise SettingsError(f"URJA_TRUSTED_PROXIES must be a whole number from 0 to 5, got {proxies!r}")
        limits = {name: _limit(env.get(var) or getattr(defaults, name), var) for name, var in LIMITS.items()}
        edge_numbers = {}
        for name, var, low, high in (
            ("max_body_bytes", "URJA_MAX_BODY_BYTES", 1024, 1_073_741_824),
            ("db_connect_timeout", "URJA_DB_CONNECT_TIMEOUT", 1, 600),
            ("db_statement_timeout", "URJA_DB_STATEMENT_TIMEOUT", 0, 3600),
            ("db_pool_timeout", "URJA_DB_POOL_TIMEOUT", 1, 600),
        ):
            raw = env.get(var, str(getattr(defaults, name)))
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
                raise SettingsError(f"{var} must be a whole number from {low} to {high}, got {raw!r}")
            edge_numbers[name] = int(raw)
        serving = {}
        for name, var, low, high in (
            ("web_workers", "URJA_WEB_WORKERS", 1, 64),
            ("web_threads", "URJA_WEB_THREADS", 1, 256),
            ("web_graceful_timeout", "URJA_WEB_GRACEFUL_TIMEOUT", 1, 3600),
        ):
            raw = env.get(var, str(getattr(defaults, name)))
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
                raise SettingsError(f"{var} must be a whole number from {low} to {high}, got {raw!r}")
            serving[name] = int(raw)
        gateway = env.get("URJA_PAY_GATEWAY") or defaults.pay_gateway
        if gateway not in ("sandbox", "razorpay"):
            raise SettingsError(f"URJA_PAY_GATEWAY must be sandbox or razorpay, got {gateway!r}")
        razorpay_keys = {
            "razorpay_key_id": env.get("RAZORPAY_KEY_ID") or None,
            "razorpay_key_secret": env.get("RAZORPAY_KEY_SECRET") or None,
            "razorpay_webhook_secret": env.get("RAZORPAY_WEBHOOK_SECRET") or None,
        }
        if gateway == "razorpay" and not all(razorpay_keys.values()):
            raise SettingsError(
                "URJA_PAY_GATEWAY=razorpay needs RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET"
            )
        upi_vpa = env.get("URJA_UPI_VPA") or defaults.upi_vpa
        if not re.fullmatch(r"[A-Za-z0-9.\-_]{2,64}@[A-Za-z0-9.\-]{2,64}", upi_vpa):
            raise SettingsError(f"URJA_UPI_VPA must be a UPI address like discom.bills@sbi, got {upi_vpa!r}")
        bbps = env.get("URJA_BBPS_PARTNERS") or None
        if bbps is not None:
            for pair in bbps.split(","):
                partner, _, secret = pair.strip().partition(":")
                if not re.fullmatch(r"[A-Za-z0-9_-]{2,40}", partner) or len(secret) < 16:
                    raise SettingsError("URJA_BBPS_PARTNERS is partner:secret,... (secrets of 16 characters or more)")
        access_log = env.get("URJA_WEB_ACCESS_LOG") or defaults.web_access_log
        if any(c.isspace() and c != " " for c in access_log) or "\x00" in access_log:
            raise SettingsError(f"URJA_WEB_ACCESS_LOG must be -, off or a file path, got {access_log!r}")
        return cls(
            database_url=env.get("URJA_DATABASE_URL") or defaults.database_url,
            redis_url=env.get("URJA_REDIS_URL") or None,
            web_bind=web_bind,
            web_access_log=access_log,
            **serving,
            fastagi_bind=fastagi_bind,
            sms_provider=provider,
            public_url=(env.get("URJA_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            portal_url=_portal_url(env.get("URJA_PORTAL_URL")),
            # Without a configured key every start signs sessions with a fresh random one.
            secret_key=env.get("URJA_SECRET_KEY") or defaults.secret_key,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            ami_url=env.get("URJA_AMI_URL") or None,
            demo_consumers=int(demo),
            demo_password=env.get("URJA_DEMO_PASSWORD") or defaults.demo_password,
            prompts_dir=env.get("URJA_PROMPTS_DIR") or defaults.prompts_dir,
            agi_sounds=env.get("URJA_AGI_SOUNDS") or defaults.agi_sounds,
            asterisk_sounds_dir=env.get("URJA_ASTERISK_SOUNDS_DIR") or defaults.asterisk_sounds_dir,
            agent_queue=env.get("URJA_AGENT_QUEUE") or defaults.agent_queue,
            agent_wait=int(agent_wait),
            agent_dial=agent_dial,
            ussd_secret=env.get("URJA_USSD_SECRET") or None,
            call_limit=int(call_limit),
            ivr_number=env.get("URJA_IVR_NUMBER") or defaults.ivr_number,
            ami_context=env.get("URJA_AMI_CONTEXT") or defaults.ami_context,
            ami_trunk=env.get("URJA_AMI_TRUNK") or defaults.ami_trunk,
            ami_dial=ami_dial,
            agi_log=env.get("URJA_AGI_LOG") or defaults.agi_log,
            sms_rate=rate,
            sms_batch=int(sms_batch),
            sms_gateway_url=gateway_url,
            sms_gateway_key=env.get("URJA_SMS_GATEWAY_KEY") or None,
            sms_gateway_secret=env.get("URJA_SMS_GATEWAY_SECRET") or None,
            dlt_entity_id=entity,
            sms_sender=env.get("URJA_SMS_SENDER") or defaults.sms_sender,
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            twilio_api_url=env.get("URJA_TWILIO_API_URL") or None,
            check_share=share,
            trusted_proxies=int(proxies),
            rate_limit_prefix=env.get("URJA_RATE_LIMIT_PREFIX") or defaults.rate_limit_prefix,
            staff_idle_minutes=int(idle),
            portal_idle_minutes=int(portal_idle),
            upload_dir=env.get("URJA_UPLOAD_DIR") or None,
            pay_gateway=gateway,
            bbps_partners=bbps,
            **razorpay_keys,
            razorpay_api_url=(env.get("URJA_RAZORPAY_API_URL") or "").rstrip("/") or None,
            upi_vpa=upi_vpa,
            upi_payee=(env.get("URJA_UPI_PAYEE") or defaults.upi_payee)[:50],
            **outage_numbers,
            **limits,
            **edge_numbers,
        )

    @property
    def portal_link(self) -> str:
        """The link SMS carry to the consumers' portal: URJA_PORTAL_URL, else the public URL."""
        return (self.portal_url or self.public_url).rstrip("/")

    def bbps_partner_secrets(self) -> dict[str, str]:
        """The BBPS partners and their secrets (none: the biller API refuses every request)."""
        pairs = (pair.strip().partition(":") for pair in (self.bbps_partners or "").split(",") if pair.strip())
        return {partner: secret for partner, _, secret in pairs if partner and secret}

    def gateway_keys(self) -> tuple[str, str, str, str]:
        """(API address, key id, key secret, webhook secret) of the payment gateway. The sandbox's keys are derived
        from the secret key (none is kept anywhere), its address is this web app's own."""
        if self.pay_gateway == "razorpay":
            keys = (self.razorpay_key_id, self.razorpay_key_secret, self.razorpay_webhook_secret)
            if not all(keys):
                raise SettingsError("the razorpay gateway needs its key id, key secret and webhook secret")
            return (self.razorpay_api_url or "https://api.razorpay.com", *(str(k) for k in keys))  # type: ignore[return-value]

        def derived(purpose: str) -> str:
            return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()[:32]

        return (
            self.razorpay_api_url or f"{self.public_url}/sandbox/razorpay",
            "rzp_test_sandbox",
            derived("sandbox gateway key"),
            derived("sandbox gateway webhook"),
        )

    @property
    def sandbox_state_path(self) -> Path:
        """The sandbox gateway's own SQLite file: beside the SQLite database; for a server database (a staging
        site on the sandbox), in the temporary folder, one file per database."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / "sandbox_gateway.sqlite"
        digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "urjamitra-sandbox-gateway" / f"{digest}.sqlite"

    @property
    def uploads_path(self) -> Path:
        """The folder uploaded documents are stored in (created 0700 at the first upload)."""
        if self.upload_dir:
            return Path(self.upload_dir)
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / "uploads"
        return Path.cwd() / "uploads"

    @property
    def fastagi_host(self) -> str:
        return _bind(self.fastagi_bind, "URJA_FASTAGI_BIND")[0]

    @property
    def fastagi_port(self) -> int:
        return _bind(self.fastagi_bind, "URJA_FASTAGI_BIND")[1]

    @property
    def web_host(self) -> str:
        return _bind(self.web_bind, "URJA_WEB_BIND")[0]

    @property
    def web_port(self) -> int:
        return _bind(self.web_bind, "URJA_WEB_BIND")[1]

    @property
    def queue_target(self) -> str:
        """What the IVR's `EXEC Queue` is given: the agents' queue and how long a caller waits in it
        (`Queue(queuename,options,URL,announceoverride,timeout)`); past it Asterisk returns QUEUESTATUS=TIMEOUT
        and the dialplan says goodbye (asterisk/extensions.conf)."""
        return f"{{queue}},,,,{self.agent_wait}"

    def __repr__(self) -> str:
        return f"Settings({self.masked()!r})"

    def masked(self) -> dict[str, str | None]:
        """The settings for a log or a status page, secrets hidden."""
        shown: dict[str, str | None] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in _SECRETS and value:
                value = "********"
            elif name in ("database_url", "redis_url", "ami_url", "sms_gateway_url") and value:
                value = _mask_url(str(value))
            shown[name] = None if value is None else str(value)
        return shown
