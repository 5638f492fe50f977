"""Settings: the one place that reads the environment, once, into a frozen object."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A setting in the environment is malformed."""


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


_SECRETS = ("secret_key", "twilio_auth_token", "demo_password", "ussd_secret", "sms_gateway_key", "sms_gateway_secret")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults of `urjamitra up`."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'urjamitra.db'}")
    redis_url: str | None = None
    web_bind: str = "127.0.0.1:8080"
    fastagi_bind: str = "127.0.0.1:4573"
    sms_provider: str = "console"
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    ami_url: str | None = None
    demo_consumers: int = 2000
    demo_password: str = "demo1912"  # the seeded demo staff logins only; never seed production
    prompts_dir: str = field(default_factory=lambda: str(Path.cwd() / "var" / "prompts"))
    agi_sounds: str = "urjamitra"  # the folder under Asterisk's sounds directory holding the prompts
    agent_queue: str = "1912"  # the Asterisk queue of the 1912 agents
    agent_dial: str | None = None  # what Twilio <Dial>s to reach an agent: +E.164 or a sip: URI; unset: "call 1912"
    ussd_secret: str | None = None  # the USSD gateway's shared secret; unset: the USSD webhook refuses all
    call_limit: int = 10  # concurrent outbound calls the trunk takes
    ivr_number: str = "+911800180000"  # caller ID on outbound calls (and Twilio's From)
    ami_context: str = "urjamitra-out"  # the dialplan context outbound AMI calls start in
    ami_trunk: str = "trunk"  # the PJSIP endpoint of the trunk outbound calls leave by
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
    max_body_bytes: int = 1_048_576  # the largest request body the web app reads (413 beyond)
    db_connect_timeout: int = 5  # seconds to wait for a database connection (the web app's and the webhooks')
    db_statement_timeout: int = 10  # seconds a web request's statement (or lock wait) may take; 0: no limit
    db_pool_timeout: int = 5  # seconds a web request waits for a free connection of the pool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
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
            or (agent_dial.startswith("+") and agent_dial[1:].isdigit() and 8 <= len(agent_dial) <= 16)
        ):
            raise SettingsError(f"URJA_AGENT_DIAL must be +<country><number> or a sip: URI, got {agent_dial!r}")
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
        ):
            raw = env.get(var, str(getattr(defaults, name)))
            if not (raw.isascii() and raw.isdigit() and int(raw) > 0):
                raise SettingsError(f"{var} must be a whole number above 0, got {raw!r}")
            outage_numbers[name] = int(raw)
        check_share = env.get("URJA_CHECK_SHARE", str(defaults.check_share))
        try:
            share = float(check_share)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise SettingsError(f"URJA_CHECK_SHARE must be a share from 0 to 1, got {check_share!r}")
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
        return cls(
            database_url=env.get("URJA_DATABASE_URL") or defaults.database_url,
            redis_url=env.get("URJA_REDIS_URL") or None,
            web_bind=web_bind,
            fastagi_bind=fastagi_bind,
            sms_provider=provider,
            public_url=(env.get("URJA_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            # Without a configured key every start signs sessions with a fresh random one.
            secret_key=env.get("URJA_SECRET_KEY") or defaults.secret_key,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            ami_url=env.get("URJA_AMI_URL") or None,
            demo_consumers=int(demo),
            demo_password=env.get("URJA_DEMO_PASSWORD") or defaults.demo_password,
            prompts_dir=env.get("URJA_PROMPTS_DIR") or defaults.prompts_dir,
            agi_sounds=env.get("URJA_AGI_SOUNDS") or defaults.agi_sounds,
            agent_queue=env.get("URJA_AGENT_QUEUE") or defaults.agent_queue,
            agent_dial=agent_dial,
            ussd_secret=env.get("URJA_USSD_SECRET") or None,
            call_limit=int(call_limit),
            ivr_number=env.get("URJA_IVR_NUMBER") or defaults.ivr_number,
            ami_context=env.get("URJA_AMI_CONTEXT") or defaults.ami_context,
            ami_trunk=env.get("URJA_AMI_TRUNK") or defaults.ami_trunk,
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
            **outage_numbers,
            **edge_numbers,
        )

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
