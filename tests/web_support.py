"""The whole web app (`create_app`) on a SQLite file holding the IVR's test consumers and the staff who sign in.

For tests that go through every layer a request crosses in production: security headers, rate limits, sign-in.
Each app counts its rate limits under a key prefix of its own, so tests never share counts (on Redis, neither
with each other nor with another run).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cis.complaints import RegisterComplaint, register_complaint
from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import Account, ConsoleSms
from cis.passwords import WerkzeugHasher
from tests.factories import NOW
from tests.integration.test_staff_login import add_staff, form_token, sign_in
from tests.ivr_support import World, build_world
from urjamitra.settings import Settings

PUBLIC = "https://urjamitra.example.in"
TWILIO_TOKEN = "twilio-auth-token"
GATEWAY_SECRET = "gateway-shared-secret"
USSD_SECRET = "ussd-shared-secret"
TWILIO_SID = "AC" + "7" * 32
DLT_ENTITY = "1201159000000000042"


@dataclass(frozen=True)
class Site:
    url: str  # the database
    world: World
    complaint: str  # a complaint lodged on world.single
    settings: Settings

    def app(self, **overrides: Any) -> Flask:
        """The app on this database, with these settings changed and rate limits counted apart."""
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        return _create_app(replace(self.settings, rate_limit_prefix=prefix, **overrides))


def _create_app(settings: Settings) -> Flask:
    from urjamitra.web import create_app

    return create_app(settings)


def build_site(tmp_path: Path, url: str | None = None) -> Site:
    """The site on a new SQLite file in `tmp_path`, or on the empty database at `url` (PostgreSQL)."""
    url = url or f"sqlite:///{tmp_path / 'site.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as session:
            world = build_world(session)
            add_staff(session, "admin", role="admin")
            add_staff(session, "desk.d1", role="outage_desk", scope_level="division", scope_id=1)
            session.commit()
            assert session.scalar(select(Account.id).where(Account.account_no == world.single)) is not None
        receipt = register_complaint(
            UnitOfWork(factory),
            RegisterComplaint(channel="console", category="voltage", account_no=world.single),
            now=NOW - dt.timedelta(hours=1),
        )
    finally:
        engine.dispose()
    settings = Settings(
        database_url=url,
        secret_key="test",
        public_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        sms_gateway_secret=GATEWAY_SECRET,
        ussd_secret=USSD_SECRET,
        dlt_entity_id=DLT_ENTITY,
        prompts_dir=str(tmp_path / "no-audio"),
    )
    return Site(url, world, receipt.number, settings)


@contextmanager
def running(app: Flask) -> Iterator[FlaskClient]:
    try:
        yield app.test_client()
    finally:
        app.extensions["urja.engine"].dispose()
        app.extensions["urja.celery"].close()
        forget_counts(app.extensions["urja.settings"])


def forget_counts(settings: Settings) -> None:
    """Delete the rate-limit counts this app left in Redis (only its own, by its key prefix)."""
    if not settings.redis_url:
        return
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        for key in client.scan_iter(f"*/{settings.rate_limit_prefix}/*"):
            client.delete(key)
    except redis.ConnectionError:
        pass  # a Redis that never answered (a test of that very case) holds no counts
    finally:
        client.close()


def signed_in(client: FlaskClient, username: str) -> FlaskClient:
    status, _, page = sign_in(client, username)
    assert status == 302, page
    return client


# --- the consumer portal ----------------------------------------------------------------------------------------

PORTAL_PASSWORD = "Kidwai Nagar 208011"
_CHEAP = WerkzeugHasher("pbkdf2:sha256:1000")  # the app checks any werkzeug hash; a cheap one keeps tests quick


def give_portal_password(site: Site, account_no: str, password: str = PORTAL_PASSWORD) -> None:
    """Register `account_no` on the portal with `password`, as the office would (site.world.single, pair...)."""
    engine = make_engine(site.url)
    try:
        set_password(
            UnitOfWork(make_session_factory(engine)),
            account_no,
            password,
            actor="test",
            now=dt.datetime.now(dt.UTC),
            hasher=_CHEAP,
        )
    finally:
        engine.dispose()


def portal_sign_in(client: FlaskClient, account_no: str, password: str = PORTAL_PASSWORD) -> FlaskClient:
    """Sign `client` in to the portal through its login form (the account needs a password: give_portal_password)."""
    data = {"account": account_no, "password": password, "csrf_token": form_token(client, "/portal/login")}
    response = client.post("/portal/login", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/portal/"
    return client


def console_sms(site: Site, recipient: str) -> list[str]:
    """Send what waits in the outbox through the console provider, then the texts `recipient` has got, oldest
    first: a handset, for tests (an OTP is the first word of its SMS)."""
    from sms.providers import ConsoleProvider
    from urjamitra.messaging import drain_outbox

    engine = make_engine(site.url)
    try:
        factory = make_session_factory(engine)
        drain_outbox(site.settings, engine, ConsoleProvider(factory), None)
        with factory() as session:
            rows = session.scalars(
                select(ConsoleSms.text).where(ConsoleSms.recipient == recipient).order_by(ConsoleSms.id)
            )
            return list(rows)
    finally:
        engine.dispose()
