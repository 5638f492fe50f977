"""The whole web app on a small world, with signed provider requests: shared by the edge tests and the fuzzers.

`build_world` commits a division with two feeders, accounts (one billed, with a registered mobile), a
complaint, a live breakdown, a roster, console SMS and one staff login per role of `cis.models.staff.ROLES`
(outage desks scoped to the division). `make_app` is `create_app` with every provider's secret set, so signed
requests reach the handlers; `twilio_headers`, `gateway_headers` and `USSD_HEADERS` sign as the providers do.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from twilio.request_validator import RequestValidator
from werkzeug.security import generate_password_hash

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_session_factory
from cis.models import ConsoleSms, Staff, SubDivision, Substation
from cis.models.staff import ROLES
from outage import events
from outage.roster import RosterPlan, create_roster
from sms.providers import SIGNATURE_HEADER, TIMESTAMP_HEADER, gateway_signature
from tests import factories
from urjamitra.settings import Settings
from urjamitra.web import create_app

TWILIO_TOKEN = "edge-twilio-token"
GATEWAY_SECRET = "edge-gateway-secret"
USSD_SECRET = "edge-ussd-secret"
USSD_HEADERS = {"X-USSD-Secret": USSD_SECRET}
PUBLIC_URL = "http://localhost"
PASSWORD = "edge-password-1912"
MOBILE = "+919812345670"
_HASH = generate_password_hash(PASSWORD)


@dataclass(frozen=True)
class World:
    account_no: str
    other_account_no: str
    complaint_no: str
    division_id: int
    feeder_ids: tuple[int, ...]
    event_id: int
    roster_id: int
    console_sms_id: int
    staff: dict[str, str]  # role -> username


def build_world(engine: Engine, *, tag: str = "") -> World:
    """Commit the small world (call once per database; `tag` keeps usernames apart when called twice)."""
    now = dt.datetime.now(dt.UTC)
    factory = make_session_factory(engine)
    with factory() as session:
        billed = factories.account(session, account_no=f"47000001{len(tag):02d}", mobiles=(MOBILE,))
        factories.bill(session, billed, amount_paise=172_700, issued_at=now - dt.timedelta(days=20))
        other = factories.account(session, account_no=f"47000002{len(tag):02d}")
        feeder = factories.feeder_of(session, billed)
        division_id = session.execute(
            select(SubDivision.division_id)
            .join(Substation, Substation.sub_division_id == SubDivision.id)
            .where(Substation.id == feeder.substation_id)
        ).scalar_one()
        second_feeder = factories.feeder_of(session, factories.account(session))
        second_feeder.substation_id = feeder.substation_id  # a second feeder in the same division
        session.flush()
        staff: dict[str, str] = {}
        for role in ROLES:
            username = f"edge.{role}{tag}"
            scoped = role == "outage_desk"
            session.add(
                Staff(
                    username=username,
                    name=f"Edge {role}",
                    role=role,
                    scope_level="division" if scoped else None,
                    scope_id=division_id if scoped else None,
                    password_hash=_HASH,
                    active=True,
                    created_at=now,
                )
            )
            staff[role] = username
        sms = ConsoleSms(
            sent_at=now,
            recipient=MOBILE,
            sender="URJAMT",
            template="reply.help",
            dlt_template_id="1107170000000000001",
            segments=1,
            text="Urja Mitra SMS: BILL, PAY, COMP",
        )
        session.add(sms)
        session.commit()
        billed_no, other_no, console_id = billed.account_no, other.account_no, sms.id
        feeder_ids = (feeder.id, second_feeder.id)
    receipt = register_complaint(
        UnitOfWork(factory), RegisterComplaint(channel="console", category="voltage", account_no=other_no), now=now
    )
    actor = events.Actor(f"staff:{staff['outage_desk']}", division_id)
    ref = events.publish_breakdown(
        UnitOfWork(factory),
        events.Breakdown(since=now - dt.timedelta(hours=1), cause="Jumper snapped", feeder_ids=(feeder_ids[0],)),
        actor=actor,
        now=now,
    )
    roster_id = create_roster(
        UnitOfWork(factory),
        RosterPlan("Edge group", (feeder_ids[1],), "02:00-04:00", now.date() + dt.timedelta(days=1), None),
        actor=actor,
        now=now,
    )
    return World(
        billed_no, other_no, receipt.number, division_id, feeder_ids, ref.event_id, roster_id, console_id, staff
    )


def make_app(database_url: str, **overrides: Any) -> Flask:
    # No prompt audio unless a test gives a folder: the working directory's var/prompts (which `bin/up` builds in a
    # clone) must not turn the spoken <Say> the tests read into <Play>.
    overrides.setdefault("prompts_dir", str(Path(tempfile.gettempdir()) / f"urja-no-audio-{uuid.uuid4().hex}"))
    settings = Settings(
        database_url=database_url,
        secret_key="edge-secret",
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_TOKEN,
        sms_gateway_secret=GATEWAY_SECRET,
        ussd_secret=USSD_SECRET,
        **overrides,
    )
    return create_app(settings)


def close_app(app: Flask) -> None:
    app.extensions["urja.engine"].dispose()
    app.extensions["urja.celery"].close()


def twilio_headers(
    path: str, form: Mapping[str, str], query: dict[str, str] | None = None, *, raw_query: str | None = None
) -> dict[str, str]:
    """X-Twilio-Signature over the public URL of `path` (with its query, or the query string exactly as sent)
    and the form (a dict, or a MultiDict with repeated fields), as Twilio signs."""
    encoded = raw_query if raw_query is not None else urlencode(query or {})
    url = PUBLIC_URL + path + (f"?{encoded}" if encoded else "")
    return {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, form)}


def gateway_headers(body: bytes) -> dict[str, str]:
    """The DLT gateway's signature headers over `body`, stamped now."""
    stamp = str(int(time.time()))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: gateway_signature(GATEWAY_SECRET, stamp, body),
        "Content-Type": "application/json",
    }


def post_gateway(client: FlaskClient, path: str, document: Any) -> Any:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(path, data=body, headers=gateway_headers(body))


def sign_in(client: FlaskClient, username: str) -> str:
    """Sign `username` in through the login form, as a browser; returns the signed-in session's form token."""
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": form_token(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return form_token(client, response.headers["Location"])


def form_token(client: FlaskClient, path: str = "/login") -> str:
    """The form token a page on `path` gives this client (else the one its session holds), as a browser reads it."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found:
        return found.group(1)
    with client.session_transaction() as session:
        return str(session.get("csrf") or "")
