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
            if name in ("secret_key", "twilio_auth_token", "demo_password", "ussd_secret") and value:
                value = "********"
            elif name in ("database_url", "redis_url", "ami_url") and value:
                value = _mask_url(str(value))
            shown[name] = None if value is None else str(value)
        return shown
