"""/outages: live interruptions feeder by feeder and the week's planned shutdowns, for anyone (PostgreSQL+SQLite)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.models import Division, Feeder, SubDivision, Substation
from cis.web.site import install_site
from outage import events
from outage.public import public_outages_blueprint
from tests import factories

NOW = factories.NOW  # 15:30 IST
DESK = events.Actor("staff:desk.test")


@pytest.fixture
def client(session_factory: Callable[[], Session]) -> FlaskClient:
    app = Flask(__name__)
    app.config.update(TESTING=True)
    install_site(app)  # the layout the page extends
    app.register_blueprint(public_outages_blueprint(session_factory, lambda: NOW))
    return app.test_client()


def _feeder(session: Session, name: str) -> tuple[int, str]:
    """A feeder of its own division, renamed; (feeder id, division name)."""
    dtr = factories.network(session)
    feeder = session.get(Feeder, dtr.feeder_id)
    assert feeder is not None
    feeder.name = name
    substation = session.get(Substation, feeder.substation_id)
    sub = session.get(SubDivision, substation.sub_division_id)  # type: ignore[union-attr]
    division = session.get(Division, sub.division_id)  # type: ignore[union-attr]
    assert division is not None
    session.commit()
    return feeder.id, division.name


def _breakdown(session: Session, feeder_id: int, cause: str, etr: dt.datetime | None = None) -> int:
    report = events.Breakdown(
        since=NOW - dt.timedelta(hours=1), cause=cause, feeder_ids=(feeder_id,), expected_restore_at=etr
    )
    return events.publish_breakdown(UnitOfWork(lambda: session), report, actor=DESK, now=NOW).event_id


def _shutdown(session: Session, feeder_id: int, starts: dt.datetime, reason: str) -> int:
    plan = events.Shutdown((feeder_id,), starts, starts + dt.timedelta(hours=3), reason)
    return events.publish_shutdown(UnitOfWork(lambda: session), plan, actor=DESK, now=NOW).event_id


def _rows(page: str, table: str) -> list[str]:
    if f'<table id="{table}"' not in page:
        return []
    body = page.split(f'<table id="{table}"')[1].split("</table>")[0]
    return [" ".join(r.split()) for r in body.split("<tr>")[2:]]


def test_a_live_breakdown_is_shown_and_a_restored_one_is_not(client: FlaskClient, session: Session) -> None:
    live, division = _feeder(session, "Kidwai Nagar F-3")
    gone, _ = _feeder(session, "Govind Nagar F-1")
    no_etr, _ = _feeder(session, "Barra F-2")
    _breakdown(session, live, "Cable fault", etr=NOW + dt.timedelta(hours=2))
    _breakdown(session, no_etr, "Tree on line")
    restored = _breakdown(session, gone, "Fuse blown")
    events.restore(UnitOfWork(lambda: session), restored, actor=DESK, now=NOW)

    page = client.get("/outages").get_data(as_text=True)

    rows = _rows(page, "live")
    assert len(rows) == 2
    mine = next(r for r in rows if "Kidwai Nagar F-3" in r)
    for shown in (division, "breakdown", "20 Nov 2026, 14:30 IST", "20 Nov 2026, 17:30 IST", "Cable fault"):
        assert shown in mine
    assert "not known yet" in next(r for r in rows if "Barra F-2" in r)
    assert "Govind Nagar F-1" not in page
    assert "Fuse blown" not in page


def test_planned_shutdowns_of_the_next_seven_days_are_listed_apart(client: FlaskClient, session: Session) -> None:
    soon, _ = _feeder(session, "Civil Lines F-1")
    later, _ = _feeder(session, "Civil Lines F-2")
    called_off, _ = _feeder(session, "Civil Lines F-3")
    _shutdown(session, soon, NOW + dt.timedelta(days=2), "Pole replacement")
    _shutdown(session, later, NOW + dt.timedelta(days=8), "Far ahead")
    cancelled = _shutdown(session, called_off, NOW + dt.timedelta(days=1), "Called off")
    events.cancel(UnitOfWork(lambda: session), cancelled, actor=DESK, now=NOW)

    page = client.get("/outages").get_data(as_text=True)
    body = client.get("/outages.json").get_json()

    assert _rows(page, "live") == []
    assert "No feeder is off just now." in page
    planned = _rows(page, "planned")
    assert len(planned) == 1
    assert "Civil Lines F-1" in planned[0]
    assert "22 Nov 2026, 15:30 IST" in planned[0]
    assert "22 Nov 2026, 18:30 IST" in planned[0]
    assert "Far ahead" not in page
    assert "Called off" not in page
    assert body["live"] == []
    assert [(p["feeder"], p["kind"], p["since"], p["expected_restore_at"], p["reason"]) for p in body["planned"]] == [
        ("Civil Lines F-1", "shutdown", "2026-11-22T10:00:00+00:00", "2026-11-22T13:00:00+00:00", "Pole replacement")
    ]


def test_the_json_lists_the_live_interruptions(client: FlaskClient, session: Session) -> None:
    feeder, division = _feeder(session, "Swaroop Nagar F-4")
    _breakdown(session, feeder, "Transformer fire")

    body = client.get("/outages.json").get_json()

    assert body["as_of"] == "2026-11-20T10:00:00+00:00"
    assert body["live"] == [
        {
            "division": division,
            "feeder": "Swaroop Nagar F-4",
            "kind": "breakdown",
            "since": "2026-11-20T09:00:00+00:00",
            "since_ist": "20 Nov 2026, 14:30 IST",
            "expected_restore_at": None,
            "expected_restore_ist": "not known yet",
            "reason": "Transformer fire",
        }
    ]


def test_the_page_escapes_what_the_desk_typed(client: FlaskClient, session: Session) -> None:
    feeder, _ = _feeder(session, "Naya <b>Ganj</b>")
    _breakdown(session, feeder, "<script>alert(1)</script> & more")

    page = client.get("/outages").get_data(as_text=True)

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "Naya &lt;b&gt;Ganj&lt;/b&gt;" in page


def test_no_login_is_needed_and_caches_keep_it_briefly(client: FlaskClient) -> None:
    response = client.get("/outages")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert "No shutdown is planned for the next 7 days." in response.get_data(as_text=True)
