"""The outage desk on the web: publish with a preview of whom it reaches, ETR, restore, cancel, suspected breakdowns,
and a desk confined to its own division (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.models import (
    Account,
    AccountMobile,
    DistributionTransformer,
    Feeder,
    FeederInterruption,
    OutageEvent,
    OutageRevision,
    RosterSchedule,
    SmsOptOut,
    SubDivision,
    Substation,
)
from cis.web.auth import auth_blueprint
from outage import events, queries
from outage.desk import desk_blueprint
from outage.roster import RosterPlan, create_roster, roster_day
from tests import factories
from tests.integration.test_staff_login import Clock, add_staff, form_token, sign_in

NOW = factories.NOW  # 15:30 IST
MARGIN = dt.timedelta(minutes=30)


def ist(moment: dt.datetime) -> str:
    """A datetime-local value in IST, as the desk's browser sends it."""
    return (moment + dt.timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Division:
    id: int
    feeder: Feeder
    dtr: DistributionTransformer
    substation_id: int


@dataclass
class Desk:
    client: FlaskClient
    told: list[int]
    a: Division
    b: Division
    clock: Clock


def _division(session: Session) -> Division:
    dtr = factories.network(session)
    feeder = session.get(Feeder, dtr.feeder_id)
    assert feeder is not None
    substation = session.get(Substation, feeder.substation_id)
    assert substation is not None
    sub = session.get(SubDivision, substation.sub_division_id)
    assert sub is not None
    return Division(sub.division_id, feeder, dtr, substation.id)


def desk_app(session_factory: Callable[[], Session], clock: Clock, on_revision: Callable[[int], None]) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test-secret")
    # A whole shift without the idle time-out: these tests move the clock by hours between clicks.
    app.register_blueprint(auth_blueprint(session_factory, clock=clock, idle=dt.timedelta(hours=12)))
    app.register_blueprint(desk_blueprint(session_factory, on_revision=on_revision, etr_margin=MARGIN, clock=clock))
    return app


@pytest.fixture
def desk(session_factory: Callable[[], Session], session: Session) -> Desk:
    """Division A's desk signed in; division B next door, with a desk of its own."""
    a, b = _division(session), _division(session)
    for mobile in ("+919876500001", "+919876500002", "+919876500003"):
        factories.account(session, dtr=a.dtr, mobiles=(mobile,))
    factories.account(session, dtr=b.dtr, mobiles=("+919812300001",))
    add_staff(session, "desk.a", scope_level="division", scope_id=a.id)
    add_staff(session, "desk.b", scope_level="division", scope_id=b.id)
    add_staff(session, "agent1", role="agent")
    session.commit()
    clock = Clock()
    told: list[int] = []
    client = desk_app(session_factory, clock, told.append).test_client()
    assert sign_in(client, "desk.a")[0] == 302
    return Desk(client, told, a, b, clock)


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _post(desk: Desk, path: str, **data: object) -> tuple[int, str, str]:
    response = desk.client.post(path, data={"csrf_token": form_token(desk.client, "/desk/breakdown"), **data})
    return response.status_code, response.headers.get("Location", ""), response.get_data(as_text=True)


def _flash(desk: Desk) -> str:
    page = desk.client.get("/desk/").get_data(as_text=True)
    found = re.search(r'<p class="(?:ok|warning)" role="status">(.*?)</p>', page, re.S)
    assert found, "no message on the live list"
    return html.unescape(" ".join(found.group(1).split()))


def _breakdown(desk: Desk, session: Session, division: Division | None = None, **extra: object) -> events.RevisionRef:
    report = events.Breakdown(
        since=NOW - dt.timedelta(hours=1),
        cause="Jumper snapped",
        feeder_ids=((division or desk.a).feeder.id,),
        expected_restore_at=NOW + dt.timedelta(hours=2),
        **extra,  # type: ignore[arg-type]
    )
    actor = events.Actor("staff:desk.x", None)
    return events.publish_breakdown(UnitOfWork(lambda: session), report, actor=actor, now=NOW)


def test_publishing_a_breakdown_previews_its_reach_then_writes_it_on_confirm(desk: Desk, session: Session) -> None:
    fields = {
        "feeder": str(desk.a.feeder.id),
        "since": ist(NOW - dt.timedelta(minutes=40)),
        "etr": ist(NOW + dt.timedelta(hours=2)),
        "cause": "11 kV jumper snapped near pole 14",
    }

    status, _, preview = _post(desk, "/desk/breakdown", **fields)

    assert status == 200
    text = " ".join(re.sub(r"<[^>]+>", "", preview).split())
    assert "This will reach 3 consumers: 3 by SMS, 0 by voice call, 0 unreachable." in text
    assert _count(session, OutageEvent) == 0
    assert 'name="since" value="' + fields["since"] + '"' in preview

    status, location, _ = _post(desk, "/desk/breakdown", confirm="1", **fields)

    assert (status, location) == (302, "/desk/")
    session.expire_all()
    event = session.scalars(select(OutageEvent)).one()
    assert (event.kind, event.status, event.division_id, event.cause) == (
        "breakdown",
        "published",
        desk.a.id,
        "11 kV jumper snapped near pole 14",
    )
    assert event.starts_at == NOW - dt.timedelta(minutes=40)
    assert event.expected_restore_at == NOW + dt.timedelta(hours=2)
    interruption = session.scalars(select(FeederInterruption)).one()
    assert (interruption.feeder_id, interruption.event_id, interruption.consumers) == (desk.a.feeder.id, event.id, 3)
    revision = session.scalars(select(OutageRevision)).one()
    assert (revision.action, revision.notify, revision.author) == ("published", True, "staff:desk.a")
    assert desk.told == [revision.id]
    assert _flash(desk) == (
        f"Breakdown published on {desk.a.feeder.name} (outage {event.id}). "
        "It will reach 3 consumers: 3 by SMS, 0 by voice call, 0 unreachable."
    )


def test_a_whole_substation_can_be_chosen(desk: Desk, session: Session) -> None:
    fields = {"substation": str(desk.a.substation_id), "since": ist(NOW), "cause": "33 kV incomer tripped"}

    status, _, preview = _post(desk, "/desk/breakdown", **fields)
    assert status == 200
    assert desk.a.feeder.name in preview
    assert _post(desk, "/desk/breakdown", confirm="1", **fields)[0] == 302

    session.expire_all()
    assert session.scalars(select(OutageEvent.substation_id)).one() == desk.a.substation_id
    assert session.scalars(select(FeederInterruption.feeder_id)).all() == [desk.a.feeder.id]


def test_a_refused_publication_shows_the_form_again_filled_in(desk: Desk, session: Session) -> None:
    _breakdown(desk, session)
    fields = {"feeder": str(desk.a.feeder.id), "since": ist(NOW), "cause": "Second report <b>same</b> fault"}

    status, _, page = _post(desk, "/desk/breakdown", confirm="1", **fields)

    assert status == 409
    assert "is already under outage" in page
    assert "Second report &lt;b&gt;same&lt;/b&gt; fault" in page
    assert f'<option value="{desk.a.feeder.id}" selected>' in page
    assert _count(session, OutageEvent) == 1
    assert desk.told == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"since": "yesterday", "cause": "x"}, "must be a date and time"),
        ({"since": ist(NOW), "cause": "   "}, "say what the cause is"),
        ({"since": ist(NOW + dt.timedelta(hours=1)), "cause": "x"}, "cannot start in the future"),
        ({"since": ist(NOW), "etr": ist(NOW - dt.timedelta(hours=1)), "cause": "x"}, "expected restoration"),
        ({"cause": "x"}, "Please give the time supply went off"),
    ],
    ids=["bad-date", "no-cause", "future", "etr-before", "no-since"],
)
def test_bad_breakdown_forms_are_400_with_nothing_written(
    desk: Desk, session: Session, fields: dict[str, str], message: str
) -> None:
    status, _, page = _post(desk, "/desk/breakdown", confirm="1", feeder=str(desk.a.feeder.id), **fields)

    assert status == 400
    assert message in html.unescape(page)
    assert _count(session, OutageEvent) == 0


def test_a_shutdown_is_previewed_then_published(desk: Desk, session: Session) -> None:
    start, end = NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=1, hours=4)
    fields = {"feeder": str(desk.a.feeder.id), "start": ist(start), "end": ist(end), "reason": "Line maintenance"}

    status, _, preview = _post(desk, "/desk/shutdown", **fields)
    assert status == 200
    assert "Publish and tell them" in preview
    assert "21 Nov 2026, 15:30 IST" in preview
    assert _post(desk, "/desk/shutdown", confirm="1", **fields)[0] == 302

    session.expire_all()
    event = session.scalars(select(OutageEvent)).one()
    assert (event.kind, event.starts_at, event.expected_restore_at) == ("shutdown", start, end)
    assert desk.told == [session.scalars(select(OutageRevision.id)).one()]
    assert "Shutdown on" in _flash(desk)


def test_the_etr_update_tells_consumers_only_beyond_the_margin(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)

    status, location, _ = _post(desk, f"/desk/events/{ref.event_id}/etr", etr=ist(NOW + dt.timedelta(hours=4)))
    assert (status, location) == (302, "/desk/")
    moved = _flash(desk)
    status, _, _ = _post(desk, f"/desk/events/{ref.event_id}/etr", etr=ist(NOW + dt.timedelta(hours=4, minutes=10)))
    assert status == 302
    small = _flash(desk)

    session.expire_all()
    revisions = session.scalars(select(OutageRevision).order_by(OutageRevision.number)).all()
    assert [(r.action, r.notify) for r in revisions] == [
        ("published", True),
        ("etr_changed", True),
        ("etr_noted", False),
    ]
    assert desk.told == [revisions[1].id]
    assert moved.startswith(
        f"New expected restoration 20 Nov 2026, 19:30 IST for outage {ref.event_id}. It will reach 3"
    )
    assert "nobody is messaged again" in small
    assert session.scalars(select(FeederInterruption.expected_restore_at)).one() == NOW + dt.timedelta(
        hours=4, minutes=10
    )


def test_a_bad_etr_shows_the_event_page_with_the_value_kept(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)

    status, _, page = _post(desk, f"/desk/events/{ref.event_id}/etr", etr="25:99", note="crew delayed")

    assert status == 400
    assert "must be a date and time" in page
    assert 'value="crew delayed"' in page
    assert _count(session, OutageRevision) == 1


def test_restore_marks_every_feeder_and_tells_consumers(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)
    desk.clock.now = NOW + dt.timedelta(minutes=50)

    assert _post(desk, f"/desk/events/{ref.event_id}/restore", confirm="1")[0] == 302

    session.expire_all()
    event = session.get(OutageEvent, ref.event_id)
    assert event is not None
    assert (event.status, event.restored_at) == ("restored", NOW + dt.timedelta(minutes=50))
    assert session.scalars(select(FeederInterruption.restored_at)).one() == NOW + dt.timedelta(minutes=50)
    restored = session.scalars(select(OutageRevision.id).where(OutageRevision.action == "restored")).one()
    assert desk.told == [restored]
    assert _flash(desk).startswith(f"Outage {ref.event_id} marked restored. It will reach 3 consumers")
    # Restored once: a second click is refused, nothing more is written.
    status, _, page = _post(desk, f"/desk/events/{ref.event_id}/restore", confirm="1")
    assert status == 409
    assert "is restored, so it cannot be restored" in page
    assert _count(session, OutageRevision) == 2


def test_cancel_withdraws_a_breakdown(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)

    assert _post(desk, f"/desk/events/{ref.event_id}/cancel", note="published in error", confirm="1")[0] == 302

    session.expire_all()
    event = session.get(OutageEvent, ref.event_id)
    assert event is not None
    assert event.status == "cancelled"
    assert session.scalars(select(FeederInterruption.cancelled_at)).one() == NOW
    cancelled = session.scalars(select(OutageRevision).where(OutageRevision.action == "cancelled")).one()
    assert (cancelled.note, desk.told) == ("published in error", [cancelled.id])
    page = desk.client.get("/desk/").get_data(as_text=True)
    assert f'id="closed-{ref.event_id}"' in page
    assert f'id="event-{ref.event_id}"' not in page


def _suspected(session: Session, division: Division) -> int:
    actor = events.Actor("system:outage")
    feeders = events.feeders_of(session, [division.feeder.id], None)
    event = events.create_event(
        session,
        kind="breakdown",
        status="suspected",
        feeders=feeders,
        division_id=division.id,
        substation_id=None,
        cause="No-supply complaints",
        starts_at=NOW - dt.timedelta(minutes=10),
        expected_restore_at=None,
        actor=actor,
        now=NOW,
    )
    events.add_revision(session, event, "suspected", False, actor, NOW)
    session.commit()
    return event.id


def test_a_suspected_breakdown_is_confirmed_with_one_click(desk: Desk, session: Session) -> None:
    event_id = _suspected(session, desk.a)
    page = desk.client.get("/desk/").get_data(as_text=True)
    assert f'<tr id="event-{event_id}" class="suspected">' in page
    assert f'action="/desk/events/{event_id}/confirm"' in page
    assert _count(session, FeederInterruption) == 0

    assert _post(desk, f"/desk/events/{event_id}/confirm", confirm="1")[0] == 302

    session.expire_all()
    event = session.get(OutageEvent, event_id)
    assert event is not None
    assert event.status == "published"
    assert session.scalars(select(FeederInterruption.feeder_id)).all() == [desk.a.feeder.id]
    published = session.scalars(select(OutageRevision.id).where(OutageRevision.action == "published")).one()
    assert desk.told == [published]
    assert _flash(desk).startswith(f"Suspected breakdown {event_id} confirmed and published. It will reach 3")


def test_a_suspected_breakdown_is_dismissed_telling_nobody(desk: Desk, session: Session) -> None:
    event_id = _suspected(session, desk.a)

    assert _post(desk, f"/desk/events/{event_id}/dismiss", confirm="1")[0] == 302

    session.expire_all()
    event = session.get(OutageEvent, event_id)
    assert event is not None
    assert event.status == "dismissed"
    assert desk.told == []
    assert _flash(desk) == f"Suspected breakdown {event_id} dismissed; nobody is told."
    # A published event is not dismissed by that button (cancelling it tells its consumers).
    ref = _breakdown(desk, session)
    assert _post(desk, f"/desk/events/{ref.event_id}/dismiss", confirm="1")[0] == 409
    assert _post(desk, f"/desk/events/{ref.event_id}/dismiss")[0] == 409  # nor offered to confirm


def test_a_desk_neither_sees_nor_touches_another_divisions_outages(desk: Desk, session: Session) -> None:
    theirs = _breakdown(desk, session, desk.b)
    suspected = _suspected(session, desk.b)
    revisions = _count(session, OutageRevision)

    live = desk.client.get("/desk/").get_data(as_text=True)
    assert desk.b.feeder.name not in live
    assert desk.client.get("/desk/events.json").get_json()["live"] == []
    assert desk.client.get(f"/desk/events/{theirs.event_id}").status_code == 404
    assert _post(desk, f"/desk/events/{theirs.event_id}/restore", confirm="1")[0] == 404
    assert _post(desk, f"/desk/events/{theirs.event_id}/cancel", confirm="1")[0] == 404
    assert _post(desk, f"/desk/events/{theirs.event_id}/etr", etr=ist(NOW + dt.timedelta(hours=5)))[0] == 404
    assert _post(desk, f"/desk/events/{suspected}/confirm", confirm="1")[0] == 404
    assert _post(desk, f"/desk/events/{suspected}/dismiss", confirm="1")[0] == 404
    assert _post(desk, "/desk/events/999999/restore", confirm="1")[0] == 404
    for confirm in ("", "1"):
        status, _, page = _post(
            desk, "/desk/breakdown", feeder=str(desk.b.feeder.id), since=ist(NOW), cause="x", confirm=confirm
        )
        assert status == 403
        assert "is not one of your division's feeders" in html.unescape(page)
    assert _post(desk, "/desk/breakdown", substation=str(desk.b.substation_id), since=ist(NOW), cause="x")[0] == 403

    session.expire_all()
    assert _count(session, OutageRevision) == revisions
    assert _count(session, OutageEvent) == 2
    assert {e.status for e in session.scalars(select(OutageEvent))} == {"published", "suspected"}
    assert desk.told == []


def test_desk_forms_need_the_token(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)

    forged = desk.client.post(f"/desk/events/{ref.event_id}/restore", data={"csrf_token": "forged", "confirm": "1"})
    publish = desk.client.post(
        "/desk/breakdown", data={"feeder": str(desk.a.feeder.id), "since": ist(NOW), "cause": "x", "confirm": "1"}
    )

    assert (forged.status_code, publish.status_code) == (400, 400)
    session.expire_all()
    assert session.get(OutageEvent, ref.event_id).status == "published"  # type: ignore[union-attr]
    assert _count(session, OutageEvent) == 1


def test_only_the_desk_role_gets_in(session_factory: Callable[[], Session], desk: Desk) -> None:
    agent = desk.client.application.test_client()
    sign_in(agent, "agent1")
    assert agent.get("/desk/").status_code == 403
    stranger = desk.client.application.test_client()
    response = stranger.get("/desk/breakdown")
    assert (response.status_code, response.headers["Location"]) == (302, "/login?next=/desk/breakdown")


def test_the_live_list_refreshes_and_shows_each_events_detail(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)
    events.update_etr(
        UnitOfWork(lambda: session),
        ref.event_id,
        NOW + dt.timedelta(hours=3),
        actor=events.Actor("staff:desk.a", desk.a.id),
        now=NOW,
    )

    page = desk.client.get("/desk/").get_data(as_text=True)
    body = desk.client.get("/desk/events.json").get_json()

    assert '<meta http-equiv="refresh" content="30">' in page
    row = page.split(f'id="event-{ref.event_id}"')[1].split("</tr>")[0]
    for shown in (
        desk.a.feeder.name,
        "Jumper snapped",
        "20 Nov 2026, 14:30 IST",
        "20 Nov 2026, 18:30 IST",
        "New ETR, consumers told",
    ):
        assert shown in row
    assert body["live"] == [
        {
            "id": ref.event_id,
            "kind": "breakdown",
            "status": "published",
            "cause": "Jumper snapped",
            "division_id": desk.a.id,
            "feeders": [{"id": desk.a.feeder.id, "name": desk.a.feeder.name}],
            "consumers": 3,
            "since": "2026-11-20T09:00:00+00:00",
            "expected_restore_at": "2026-11-20T13:00:00+00:00",
            "restored_at": None,
            "cancelled_at": None,
            "revision": 2,
            "last_action": "etr_changed",
            "last_action_at": "2026-11-20T10:00:00+00:00",
            "complaints": 0,
        }
    ]


def _reach_accounts(session: Session, dtr: DistributionTransformer) -> None:
    """Seven active accounts, one of each way the fan-out can (or cannot) reach them, and one disconnected."""

    def acc(
        mobiles: tuple[str, ...] = (), *, channel: str = "sms", landline: str | None = None, **kw: object
    ) -> Account:
        made = factories.account(session, dtr=dtr, mobiles=mobiles, **kw)  # type: ignore[arg-type]
        made.alert_channel = channel
        made.landline = landline
        return made

    acc(("+919800000001",))  # SMS
    acc(("+919800000002",), opt_out=True)  # the account said STOP, no landline: unreachable
    acc(("+919800000003",), landline="+915122000003")  # its mobile sent STOP: the landline is called
    acc(("+919800000004",), channel="voice")  # prefers a call
    acc(landline="+915122000005")  # landline only: called
    acc()  # nothing on record: unreachable
    acc(channel="voice")  # prefers a call but has no number: unreachable
    acc(("+919800000008",), status="temp_disconnected")  # not supplied: not counted
    session.add(SmsOptOut(e164="+919800000003", opted_out_at=NOW, via="sms", message_ref=None))
    session.flush()


def test_preview_counts_match_a_hand_built_set_of_accounts(session: Session) -> None:
    dtr = factories.network(session)
    other = factories.network(session)
    _reach_accounts(session, dtr)
    factories.account(session, dtr=other, mobiles=("+919800000009",))
    session.commit()

    assert queries.preview(session, [dtr.feeder_id]) == queries.Reach(consumers=7, sms=1, voice=3, unreachable=3)
    assert queries.preview(session, [dtr.feeder_id, other.feeder_id]) == queries.Reach(8, 2, 3, 3)
    substation = session.get(Feeder, dtr.feeder_id).substation_id  # type: ignore[union-attr]
    assert queries.preview(session, substation_id=substation) == queries.Reach(7, 1, 3, 3)
    assert queries.preview(session, []) == queries.Reach(0, 0, 0, 0)


def test_the_preview_page_shows_the_same_numbers(desk: Desk, session: Session) -> None:
    extra = factories.network(session)
    feeder = session.get(Feeder, extra.feeder_id)
    assert feeder is not None
    feeder.substation_id = desk.a.substation_id  # a second feeder of division A
    _reach_accounts(session, extra)
    session.commit()

    status, _, preview = _post(
        desk, "/desk/breakdown", feeder=[str(desk.a.feeder.id), str(extra.feeder_id)], since=ist(NOW), cause="x"
    )

    assert status == 200
    text = " ".join(re.sub(r"<[^>]+>", "", preview).split())
    assert "This will reach 10 consumers: 4 by SMS, 3 by voice call, 3 unreachable." in text


def test_the_reach_page_gives_each_feeders_share_of_verified_mobiles(desk: Desk, session: Session) -> None:
    unverified = factories.account(session, dtr=desk.a.dtr, mobiles=("+919800000101",))
    session.execute(
        AccountMobile.__table__.update().where(AccountMobile.account_id == unverified.id).values(verified=False)
    )
    factories.account(session, dtr=desk.a.dtr)
    session.commit()

    rows = queries.reachable_share(session, desk.a.id)
    page = desk.client.get("/desk/reach").get_data(as_text=True)

    assert [(r.feeder, r.consumers, r.verified, r.share) for r in rows] == [(desk.a.feeder.name, 5, 3, 60)]
    row = page.split(f'id="feeder-{desk.a.feeder.id}"')[1].split("</tr>")[0]
    assert re.findall(r'class="num">([^<]*)<', row) == ["5", "3", "60.0%"]


def test_a_roster_is_saved_from_its_form(desk: Desk, session: Session) -> None:
    fields = {
        "name": "Rural group A",
        "feeder": str(desk.a.feeder.id),
        "off_slots": "02:00-05:00,13:00-15:00",
        "valid_from": "2026-11-21",
    }

    status, location, _ = _post(desk, "/desk/rosters", **fields)
    refused, _, page = _post(desk, "/desk/rosters", **{**fields, "off_slots": "25:00-26:00"})

    assert (status, location) == (302, "/desk/rosters")
    assert refused == 400
    assert "is not a time of day" in html.unescape(page)
    session.expire_all()
    roster = session.scalars(select(RosterSchedule)).one()
    assert (roster.name, roster.division_id, roster.created_by) == ("Rural group A", desk.a.id, "staff:desk.a")
    listing = desk.client.get("/desk/rosters").get_data(as_text=True)
    assert f'id="roster-{roster.id}"' in listing


def test_an_administrator_picks_a_division_and_acts_in_any(
    session_factory: Callable[[], Session], desk: Desk, session: Session
) -> None:
    add_staff(session, "admin", role="admin")
    session.commit()
    theirs = _breakdown(desk, session, desk.b)
    admin = desk.client.application.test_client()
    sign_in(admin, "admin")

    everything = admin.get("/desk/events.json").get_json()
    chooser = admin.get("/desk/breakdown").get_data(as_text=True)
    admin.post("/desk/division", data={"division": str(desk.a.id), "csrf_token": form_token(admin, "/desk/")})
    form = admin.get("/desk/breakdown").get_data(as_text=True)
    restored = admin.post(
        f"/desk/events/{theirs.event_id}/restore", data={"csrf_token": form_token(admin, "/desk/"), "confirm": "1"}
    )

    assert [e["id"] for e in everything["live"]] == [theirs.event_id]
    assert "Pick a division" in chooser
    assert f'<option value="{desk.a.feeder.id}"' in form
    assert f'<option value="{desk.b.feeder.id}"' not in form
    assert restored.status_code == 302
    session.expire_all()
    assert session.get(OutageEvent, theirs.event_id).status == "restored"  # type: ignore[union-attr]
    assert session.scalars(select(OutageRevision.author).where(OutageRevision.action == "restored")).one() == (
        "staff:admin"
    )


def test_a_failed_fan_out_keeps_the_revision_for_the_sweep(
    session_factory: Callable[[], Session], desk: Desk, session: Session
) -> None:
    def broken(revision_id: int) -> None:
        raise ConnectionError("queue down")

    client = desk_app(session_factory, desk.clock, broken).test_client()
    sign_in(client, "desk.a")
    ref = _breakdown(desk, session)

    response = client.post(
        f"/desk/events/{ref.event_id}/restore", data={"csrf_token": form_token(client, "/desk/"), "confirm": "1"}
    )
    page = client.get("/desk/").get_data(as_text=True)

    assert response.status_code == 302
    assert "they will go out with the next sweep" in page
    session.expire_all()
    restored = session.scalars(select(OutageRevision).where(OutageRevision.action == "restored")).one()
    assert (restored.notify, restored.fanned_out_at) == (True, None)


# --- every action that tells consumers (or drops a breakdown) asks first --------------------------------------


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize(
    ("action", "suspected", "fields", "question", "button"),
    [
        ("restore", False, {"at": ist(NOW)}, "Mark outage {id} restored?", "Yes, mark restored and tell consumers"),
        ("cancel", False, {"note": "wrong DT"}, "Cancel outage {id} (breakdown)?", "Yes, cancel and tell consumers"),
        ("confirm", True, {"cause": "DT fuse"}, "Publish suspected breakdown {id}?", "Yes, publish and tell consumers"),
        ("dismiss", True, {}, "Dismiss suspected breakdown {id}?", "Yes, dismiss"),
    ],
)
def test_one_click_only_asks_and_the_change_waits_for_the_confirmation(
    desk: Desk,
    session: Session,
    action: str,
    suspected: bool,
    fields: dict[str, str],
    question: str,
    button: str,
) -> None:
    event_id = _suspected(session, desk.a) if suspected else _breakdown(desk, session).event_id
    revisions = _count(session, OutageRevision)

    status, _, page = _post(desk, f"/desk/events/{event_id}/{action}", **fields)

    assert status == 200
    text = _text(page)
    assert question.format(id=event_id) in text
    assert f'<button type="submit" name="confirm" value="1">{button}</button>' in page
    assert "No, go back" in text
    for name, value in fields.items():  # what was typed rides along to the confirmation
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    if action != "dismiss":
        assert "It will reach 3 consumers: 3 by SMS, 0 by voice call, 0 unreachable." in text
    assert "<script" not in page  # works without JavaScript
    session.expire_all()
    assert _count(session, OutageRevision) == revisions
    assert desk.told == []

    status, location, _ = _post(desk, f"/desk/events/{event_id}/{action}", confirm="1", **fields)

    assert (status, location) == (302, "/desk/")
    assert _count(session, OutageRevision) == revisions + 1


def test_a_confirmation_page_is_not_offered_for_what_no_longer_applies(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)
    events.restore(UnitOfWork(lambda: session), ref.event_id, actor=events.Actor("staff:desk.a", desk.a.id), now=NOW)

    status, _, page = _post(desk, f"/desk/events/{ref.event_id}/restore")

    assert status == 409
    assert f"Outage {ref.event_id} is restored, so it cannot be restored." in html.unescape(page)
    assert "Yes, mark restored" not in page


# --- another division's events and rosters are answered as missing ones ---------------------------------


def test_every_desk_route_answers_404_alike_for_another_divisions_event_and_a_missing_one(
    desk: Desk, session: Session
) -> None:
    theirs = _breakdown(desk, session, desk.b).event_id
    suspected = _suspected(session, desk.b)
    roster = create_roster(
        UnitOfWork(lambda: session),
        RosterPlan("Their roster", (desk.b.feeder.id,), "02:00-04:00", NOW.date(), None),
        actor=events.Actor("staff:desk.b", desk.b.id),
        now=NOW,
    )
    missing = 999_999
    revisions = _count(session, OutageRevision)
    etr = ist(NOW + dt.timedelta(hours=5))

    answers: dict[str, tuple[int, str]] = {}
    for label, event_id in (("theirs", theirs), ("suspected", suspected), ("missing", missing)):
        page = desk.client.get(f"/desk/events/{event_id}")
        answers[f"GET {label}"] = (page.status_code, page.get_data(as_text=True))
        for action in ("etr", "restore", "cancel", "confirm", "dismiss"):
            for confirm in ("", "1"):
                status, _, body = _post(desk, f"/desk/events/{event_id}/{action}", etr=etr, confirm=confirm)
                answers[f"{action} {confirm} {label}"] = (status, body)
    for label, roster_id in (("theirs", roster), ("missing", missing)):
        status, _, body = _post(desk, f"/desk/rosters/{roster_id}/end")
        answers[f"end roster {label}"] = (status, body)

    assert {key: status for key, (status, _) in answers.items()} == {key: 404 for key in answers}
    assert len({body for _, body in answers.values()}) == 1  # nothing tells one from the other
    assert "outside your division" not in next(iter(answers.values()))[1]
    session.expire_all()
    assert _count(session, OutageRevision) == revisions
    assert session.get(RosterSchedule, roster).active  # type: ignore[union-attr]
    assert desk.told == []


# --- words, not codes ---------------------------------------------------------------------------------------


def test_staff_read_what_happened_in_words_never_the_codes_stored(desk: Desk, session: Session) -> None:
    ref = _breakdown(desk, session)
    actor = events.Actor("staff:desk.a", desk.a.id)
    uow = UnitOfWork(lambda: session)
    events.update_etr(uow, ref.event_id, NOW + dt.timedelta(hours=2, minutes=10), actor=actor, now=NOW)  # noted
    events.update_etr(uow, ref.event_id, NOW + dt.timedelta(hours=4), actor=actor, now=NOW)  # told

    live = _text(desk.client.get("/desk/").get_data(as_text=True))
    event = _text(desk.client.get(f"/desk/events/{ref.event_id}").get_data(as_text=True))

    for code in ("etr_noted", "etr_changed", "staff:", "system:outage", "consumer:check"):
        assert code not in live
        assert code not in event
    assert "New ETR, a small change: nobody messaged" in event
    assert "New ETR, consumers told" in event
    assert re.search(rf"Outage {ref.event_id}: Breakdown ?, live", event)
    assert "desk.x" in event  # the author, without the "staff:" prefix


# --- roster slots keep to their schedule ------------------------------------------------------------------


def _roster_slot(desk: Desk, session: Session) -> int:
    create_roster(
        UnitOfWork(lambda: session),
        RosterPlan("Rural group A", (desk.a.feeder.id,), "14:00-18:00", NOW.date(), None),
        actor=events.Actor("staff:desk.a", desk.a.id),
        now=NOW,
    )
    roster_day(UnitOfWork(lambda: session), NOW.date(), now=NOW)
    return session.scalars(select(OutageEvent.id).where(OutageEvent.kind == "roster")).one()


def test_a_roster_slot_offers_no_etr_or_restore_only_calling_it_off(desk: Desk, session: Session) -> None:
    slot = _roster_slot(desk, session)

    page = desk.client.get(f"/desk/events/{slot}").get_data(as_text=True)
    live = desk.client.get("/desk/").get_data(as_text=True)
    etr = _post(desk, f"/desk/events/{slot}/etr", etr=ist(NOW + dt.timedelta(hours=5)))
    restore = _post(desk, f"/desk/events/{slot}/restore", confirm="1")
    asked = _post(desk, f"/desk/events/{slot}/restore")

    assert f"/desk/events/{slot}/etr" not in page
    assert f"/desk/events/{slot}/restore" not in page
    assert f'action="/desk/events/{slot}/cancel"' in page
    assert "This slot ends by itself at 20 Nov 2026, 18:00 IST" in _text(page)
    assert "update ETR, restore" not in live.split(f'id="event-{slot}"')[1].split("</tr>")[0]
    assert "Roster slot" in live
    for status, _, body in (etr, restore, asked):
        assert status == 400
        assert "a roster slot ends by itself at its planned end" in html.unescape(body)
    session.expire_all()
    assert session.get(OutageEvent, slot).status == "published"  # type: ignore[union-attr]
    assert [r.action for r in session.scalars(select(OutageRevision).where(OutageRevision.event_id == slot))] == [
        "published"
    ]


# --- the live list: what is off now first ----------------------------------------------------------------


def test_a_live_breakdown_sorts_above_shutdowns_still_to_come(desk: Desk, session: Session) -> None:
    actor = events.Actor("staff:desk.a", desk.a.id)
    uow = UnitOfWork(lambda: session)
    extra = factories.network(session)
    feeder = session.get(Feeder, extra.feeder_id)
    assert feeder is not None
    feeder.substation_id = desk.a.substation_id  # a second feeder of division A
    session.commit()
    later = events.publish_shutdown(
        uow,
        events.Shutdown((extra.feeder_id,), NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=2, hours=3), "Works"),
        actor=actor,
        now=NOW,
    )
    sooner = events.publish_shutdown(
        uow,
        events.Shutdown((desk.a.feeder.id,), NOW + dt.timedelta(hours=5), NOW + dt.timedelta(hours=8), "Tree"),
        actor=actor,
        now=NOW,
    )
    broken = _breakdown(desk, session)  # the latest published, and off since an hour ago

    page = desk.client.get("/desk/").get_data(as_text=True)
    listed = desk.client.get("/desk/events.json").get_json()["live"]

    order = [broken.event_id, sooner.event_id, later.event_id]
    assert [int(i) for i in re.findall(r'<tr id="event-(\d+)"', page)] == order
    assert [e["id"] for e in listed] == order
