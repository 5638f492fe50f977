"""Outage fan-out: each consumer told exactly once per revision they should hear about, on the right channel."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, ConsoleSms, DistributionTransformer, Feeder, OutageRevision, Outbox, SmsOptOut
from cis.preferences import AlertChoice, save_alert_settings
from outage.errors import InvalidOutage
from outage.events import (
    Actor,
    Breakdown,
    Shutdown,
    add_revision,
    cancel,
    create_event,
    feeders_of,
    publish_breakdown,
    publish_shutdown,
    reopen,
    restore,
    update_etr,
)
from outage.fanout import fall_back_to_voice, fan_out, fan_out_pending, queue_scheduled_notices
from outage.queries import preview
from sms.dispatch import DispatchConfig, drain
from sms.providers import ConsoleProvider
from sms.templates import load_templates
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW
DESK = Actor("staff:desk.test")


@pytest.fixture(scope="module")
def fanout_pg(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_fanout") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "fanout_pg")


class World:
    """Feeder A with every kind of consumer, feeder B next to it (same division), and who should hear what."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.uow = UnitOfWork(make_session_factory(engine))
        with Session(engine) as s:
            dt_a = factories.network(s)
            feeder_a = s.get(Feeder, dt_a.feeder_id)
            assert feeder_a is not None
            feeder_b = Feeder(substation_id=feeder_a.substation_id, code="TFB", name="Test F-B", kind="urban")
            s.add(feeder_b)
            s.flush()
            dt_b = DistributionTransformer(feeder_id=feeder_b.id, code="TDTB", name="DT B", capacity_kva=100)
            s.add(dt_b)
            s.flush()
            sms = [factories.account(s, dtr=dt_a, mobiles=(f"+9198390000{n:02d}",)) for n in range(5)]
            two = factories.account(s, dtr=dt_a, mobiles=("+919839111101", "+919839111102"))
            voice = factories.account(s, dtr=dt_a, mobiles=("+919839222201",))
            voice.alert_channel = "voice"
            landline = factories.account(s, dtr=dt_a)
            landline.landline = "+915122540000"
            stopped = factories.account(s, dtr=dt_a, mobiles=("+919839333301",))
            s.add(SmsOptOut(e164="+919839333301", opted_out_at=NOW, via="sms"))
            opted_out = factories.account(s, dtr=dt_a, mobiles=("+919839333302",), opt_out=True)
            nobody = factories.account(s, dtr=dt_a)
            closed = factories.account(s, dtr=dt_a, mobiles=("+919839444401",), status="perm_disconnected")
            other = factories.account(s, dtr=dt_b, mobiles=("+919839555501",))
            s.commit()
            self.feeder_a, self.feeder_b = feeder_a.id, feeder_b.id
            self.by_sms = {a.id: a.account_no for a in (*sms, two)}
            self.first_mobile_of_two = (two.id, "+919839111101")
            self.by_voice = {voice.id: "+919839222201", landline.id: "+915122540000"}
            self.untold = {stopped.id, opted_out.id, nobody.id, closed.id, other.id}

    def rows(self, **where: object) -> list[Outbox]:
        with Session(self.engine) as s:
            query = select(Outbox).order_by(Outbox.id)
            for key, value in where.items():
                query = query.where(getattr(Outbox, key) == value)
            return list(s.scalars(query))

    def breakdown(self, etr: dt.datetime | None = NOW + dt.timedelta(hours=2)) -> int:
        ref = publish_breakdown(
            self.uow,
            Breakdown(since=NOW - dt.timedelta(minutes=20), cause="Jumper snapped", feeder_ids=(self.feeder_a,),
                      expected_restore_at=etr),
            actor=DESK,
            now=NOW,
        )  # fmt: skip
        return ref.event_id


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def _revision_rows(world: World, event_id: int, number: int) -> list[Outbox]:
    prefix = f"outage:{event_id}:{number}:"
    return [r for r in world.rows() if r.dedupe_key.startswith(prefix)]


def test_a_breakdown_reaches_every_affected_consumer_once_on_their_channel(world: World) -> None:
    event_id = world.breakdown()
    (revision,) = fan_out_pending(world.engine, now=NOW)
    rows = _revision_rows(world, event_id, 1)
    assert revision.messages == len(rows) == len(world.by_sms) + len(world.by_voice)
    sms = {r.account_id: r for r in rows if r.channel == "sms"}
    voice = {r.account_id: r.recipient for r in rows if r.channel == "voice"}
    assert set(sms) == set(world.by_sms)
    assert voice == world.by_voice
    assert not {r.account_id for r in rows} & world.untold
    account_id, first = world.first_mobile_of_two
    assert sms[account_id].recipient == first  # one row per consumer, to the first verified mobile
    row = sms[account_id]
    assert (row.template, row.priority, row.status) == ("outage.breakdown", 0, "pending")
    assert row.payload["area"] == "Test F-" + row.payload["area"].removeprefix("Test F-")
    assert row.payload["since"] == (NOW - dt.timedelta(minutes=20)).isoformat()
    assert row.payload["etr"] == (NOW + dt.timedelta(hours=2)).isoformat()

    # Again, and again through the sweep: nothing more.
    assert fan_out(world.engine, revision.revision_id, now=NOW).written == 0
    assert fan_out_pending(world.engine, now=NOW) == []
    assert len(world.rows()) == len(rows)


def test_an_etr_change_inside_the_margin_is_recorded_but_told_to_nobody(world: World) -> None:
    event_id = world.breakdown(etr=NOW + dt.timedelta(hours=2))
    fan_out_pending(world.engine, now=NOW)
    before = len(world.rows())
    later = NOW + dt.timedelta(minutes=10)
    small = update_etr(world.uow, event_id, NOW + dt.timedelta(hours=2, minutes=20), actor=DESK, now=later,
                       margin=dt.timedelta(minutes=30))  # fmt: skip
    assert (small.action, small.notify) == ("etr_noted", False)
    assert fan_out(world.engine, small.revision_id, now=later).written == 0
    assert fan_out_pending(world.engine, now=later) == []
    assert len(world.rows()) == before

    # Creeping: a second 20-minute step is 40 minutes from what consumers were told, so it is told.
    step = update_etr(world.uow, event_id, NOW + dt.timedelta(hours=2, minutes=40), actor=DESK, now=later,
                      margin=dt.timedelta(minutes=30))  # fmt: skip
    assert (step.action, step.notify) == ("etr_changed", True)
    (done,) = fan_out_pending(world.engine, now=later)
    rows = _revision_rows(world, event_id, step.number)
    assert done.messages == len(rows) == len(world.by_sms) + len(world.by_voice)
    assert {r.template for r in rows} == {"outage.etr"}
    assert {r.payload["etr"] for r in rows} == {(NOW + dt.timedelta(hours=2, minutes=40)).isoformat()}


def test_restoration_is_told_once_and_not_on_a_feeder_still_off_under_another_event(world: World) -> None:
    event_id = publish_breakdown(
        world.uow,
        Breakdown(since=NOW - dt.timedelta(hours=1), cause="33 kV line tripped",
                  feeder_ids=(world.feeder_a, world.feeder_b)),
        actor=DESK,
        now=NOW,
    ).event_id  # fmt: skip
    # Feeder B is also under a shutdown that began meanwhile: "restored" would be a lie there.
    publish_shutdown(
        world.uow,
        Shutdown(feeder_ids=(world.feeder_b,), starts_at=NOW + dt.timedelta(minutes=10),
                 ends_at=NOW + dt.timedelta(hours=3), reason="Line maintenance"),
        actor=DESK,
        now=NOW,
    )  # fmt: skip
    fan_out_pending(world.engine, now=NOW)
    later = NOW + dt.timedelta(minutes=30)
    ref = restore(world.uow, event_id, actor=DESK, now=later)
    fan_out(world.engine, ref.revision_id, now=later)
    fan_out(world.engine, ref.revision_id, now=later)
    rows = _revision_rows(world, event_id, ref.number)
    assert {r.template for r in rows} == {"outage.restored"}
    assert Counter(r.account_id for r in rows) == Counter({a: 1 for a in (*world.by_sms, *world.by_voice)})
    assert {r.payload["time"] for r in rows} == {later.isoformat()}


def test_a_cancelled_shutdown_sends_a_cancellation_to_those_told_of_it(world: World) -> None:
    starts = NOW + dt.timedelta(days=2)
    ref = publish_shutdown(
        world.uow,
        Shutdown(feeder_ids=(world.feeder_a,), starts_at=starts, ends_at=starts + dt.timedelta(hours=4),
                 reason="Tree trimming"),
        actor=DESK,
        now=NOW,
    )  # fmt: skip
    fan_out_pending(world.engine, now=NOW)
    published = _revision_rows(world, ref.event_id, 1)
    assert {r.template for r in published} == {"outage.shutdown"}
    assert published[0].payload["date"] == "2026-11-22"
    assert (published[0].payload["start"], published[0].payload["end"]) == ("3:30 PM", "7:30 PM")  # IST

    called_off = cancel(world.uow, ref.event_id, actor=DESK, now=NOW + dt.timedelta(hours=1), note="crew unavailable")
    fan_out_pending(world.engine, now=NOW + dt.timedelta(hours=1))
    rows = _revision_rows(world, ref.event_id, called_off.number)
    assert {r.template for r in rows} == {"outage.cancelled"}
    assert {r.account_id for r in rows} == {r.account_id for r in published}
    # A cancelled shutdown has no day-ahead or start notice.
    assert queue_scheduled_notices(world.uow, now=starts - dt.timedelta(hours=20)) == []
    assert queue_scheduled_notices(world.uow, now=starts + dt.timedelta(minutes=1)) == []


def test_a_shutdown_gets_one_day_ahead_notice_and_one_start_notice(world: World) -> None:
    starts = NOW + dt.timedelta(days=3)
    ref = publish_shutdown(
        world.uow,
        Shutdown(feeder_ids=(world.feeder_a,), starts_at=starts, ends_at=starts + dt.timedelta(hours=2),
                 reason="Transformer oiling"),
        actor=DESK,
        now=NOW,
    )  # fmt: skip
    fan_out_pending(world.engine, now=NOW)
    assert queue_scheduled_notices(world.uow, now=starts - dt.timedelta(days=2)) == []
    eve = starts - dt.timedelta(hours=20)
    (day_ahead,) = queue_scheduled_notices(world.uow, now=eve)
    assert day_ahead.action == "day_ahead"
    assert queue_scheduled_notices(world.uow, now=eve + dt.timedelta(minutes=1)) == []
    fan_out_pending(world.engine, now=eve)
    begun = starts + dt.timedelta(minutes=1)
    (start,) = queue_scheduled_notices(world.uow, now=begun)
    assert start.action == "started"
    assert queue_scheduled_notices(world.uow, now=begun + dt.timedelta(minutes=1)) == []
    fan_out_pending(world.engine, now=begun)
    told = Counter(r.template for r in world.rows() if r.dedupe_key.startswith(f"outage:{ref.event_id}:"))
    reach = len(world.by_sms) + len(world.by_voice)
    assert told == {"outage.shutdown": 2 * reach, "outage.shutdown_started": reach}


def test_a_failed_alert_sms_falls_back_to_one_voice_call(world: World) -> None:
    event_id = world.breakdown()
    fan_out_pending(world.engine, now=NOW)
    failed_at = NOW + dt.timedelta(minutes=5)
    with Session(world.engine) as s:
        row = s.scalars(select(Outbox).where(Outbox.channel == "sms").order_by(Outbox.id).limit(1)).one()
        row.status, row.updated_at, row.last_error = "failed", failed_at, "DLR: absent subscriber"
        failed_key, failed_account = row.dedupe_key, row.account_id
        s.commit()
    assert fall_back_to_voice(world.engine, now=failed_at + dt.timedelta(minutes=1)) == 1
    assert fall_back_to_voice(world.engine, now=failed_at + dt.timedelta(minutes=2)) == 0
    (call,) = world.rows(channel="voice", account_id=failed_account)
    assert call.dedupe_key == failed_key.removesuffix("sms") + "voice"
    assert (call.template, call.status) == ("outage.breakdown", "pending")
    assert event_id


def test_each_told_revision_is_marked_with_what_it_wrote(world: World) -> None:
    event_id = world.breakdown()
    fan_out_pending(world.engine, now=NOW)
    with Session(world.engine) as s:
        revisions = list(s.scalars(select(OutageRevision).where(OutageRevision.event_id == event_id)))
        accounts = s.scalar(select(Account.id).limit(1))
    assert accounts is not None
    assert [(r.number, r.action, r.notify, r.fanned_out_at is not None) for r in revisions] == [
        (1, "published", True, True)
    ]
    assert revisions[0].messages == len(world.by_sms) + len(world.by_voice)
    assert revisions[0].author == DESK.name


def test_a_fan_out_running_after_a_later_revision_tells_nothing_stale(world: World) -> None:
    event_id = world.breakdown()
    # The published revision's task is lost; the desk restores; the sweep then finds both.
    later = NOW + dt.timedelta(minutes=40)
    ref = restore(world.uow, event_id, actor=DESK, now=later)
    done = {d.revision_id: d for d in fan_out_pending(world.engine, now=later)}
    assert done[ref.revision_id].messages == len(world.by_sms) + len(world.by_voice)
    assert {r.template for r in world.rows()} == {"outage.restored"}  # never "power off" after "restored"


def test_a_restoration_withdraws_the_breakdown_alerts_still_waiting(world: World) -> None:
    event_id = world.breakdown()
    fan_out_pending(world.engine, now=NOW)
    with Session(world.engine) as s:  # one went out before the restoration; the rest are still queued
        first = s.scalars(select(Outbox).order_by(Outbox.id).limit(1)).one()
        first.status = "sent"
        s.commit()
    later = NOW + dt.timedelta(minutes=5)
    ref = restore(world.uow, event_id, actor=DESK, now=later)
    fan_out(world.engine, ref.revision_id, now=later)
    earlier = _revision_rows(world, event_id, 1)
    assert Counter(r.status for r in earlier) == {"sent": 1, "cancelled": len(earlier) - 1}
    assert {r.status for r in _revision_rows(world, event_id, ref.number)} == {"pending"}


def test_a_breakdown_without_an_etr_says_the_time_will_follow(world: World) -> None:
    event_id = world.breakdown(etr=None)
    fan_out_pending(world.engine, now=NOW)
    rows = _revision_rows(world, event_id, 1)
    assert {r.template for r in rows} == {"outage.breakdown_no_etr"}
    assert all("etr" not in r.payload for r in rows)


def test_an_sms_failed_for_want_of_a_receipt_is_not_followed_by_a_call(world: World) -> None:
    world.breakdown()
    fan_out_pending(world.engine, now=NOW)
    with Session(world.engine) as s:
        row = s.scalars(select(Outbox).where(Outbox.channel == "sms").limit(1)).one()
        row.status, row.updated_at, row.last_error = "failed", NOW, "no delivery receipt came"
        s.commit()
    assert fall_back_to_voice(world.engine, now=NOW + dt.timedelta(minutes=1)) == 0


def test_changes_to_a_roster_slot_are_told_to_nobody(world: World) -> None:
    with Session(world.engine) as s:
        feeders = feeders_of(s, [world.feeder_a], None)
        event = create_event(
            s,
            kind="roster",
            status="published",
            feeders=feeders,
            division_id=feeders[0][2],
            substation_id=None,
            cause="Rural roster",
            starts_at=NOW - dt.timedelta(hours=1),
            expected_restore_at=NOW + dt.timedelta(hours=1),
            actor=DESK,
            now=NOW,
        )
        add_revision(s, event, "published", False, DESK, NOW)
        s.commit()
        event_id = event.id
    # A slot keeps to its schedule: no new ETR, no restoration by hand; calling it off tells nobody.
    with pytest.raises(InvalidOutage, match="a roster slot ends by itself"):
        update_etr(world.uow, event_id, NOW + dt.timedelta(hours=3), actor=DESK, now=NOW)
    with pytest.raises(InvalidOutage, match="a roster slot ends by itself"):
        restore(world.uow, event_id, actor=DESK, now=NOW + dt.timedelta(minutes=5))
    called_off = cancel(world.uow, event_id, actor=DESK, now=NOW + dt.timedelta(minutes=5), note="enough power today")
    assert called_off.notify is False
    assert fan_out_pending(world.engine, now=NOW + dt.timedelta(minutes=5)) == []
    assert world.rows() == []


def test_a_consumers_2_does_not_reopen_an_outage_a_newer_breakdown_covers(world: World) -> None:
    old = world.breakdown()
    restore(world.uow, old, actor=DESK, now=NOW + dt.timedelta(minutes=30))
    newer = publish_breakdown(
        world.uow,
        Breakdown(since=NOW + dt.timedelta(minutes=50), cause="Insulator flashover", feeder_ids=(world.feeder_a,)),
        actor=DESK,
        now=NOW + dt.timedelta(minutes=55),
    )
    assert reopen(world.uow, old, actor=Actor("consumer:check"), now=NOW + dt.timedelta(hours=1), note="2") is None
    assert newer.event_id != old


# --- when a planned shutdown's notice goes --------------------------------------------------------------------


def _ist(hour: int, minute: int = 0, day: int = 20) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Kolkata")).astimezone(dt.UTC)


def _sent_by_console(world: World, at: dt.datetime) -> list[str]:
    """Drain the outbox at `at` through the console provider; the recipients of every shutdown SMS sent so far."""
    provider = ConsoleProvider(make_session_factory(world.engine), stream=io.StringIO(), clock=lambda: at)
    config = DispatchConfig(batch_size=50, allowed_urls=(), defaults={"portal_url": "https://urja.example.in"})
    drain(world.engine, provider, templates=load_templates(), bucket=None, config=config, clock=lambda: at)
    with Session(world.engine) as s:
        return sorted(s.scalars(select(ConsoleSms.recipient).where(ConsoleSms.template == "outage.shutdown")))


def test_a_shutdown_notice_published_at_7_44_waits_for_8_00(world: World) -> None:
    published_at = _ist(7, 44)
    publish_shutdown(
        world.uow,
        Shutdown((world.feeder_a,), _ist(14), _ist(17), "Line maintenance"),
        actor=DESK,
        now=published_at,
    )
    fan_out_pending(world.engine, now=published_at)

    rows = [r for r in world.rows() if r.template == "outage.shutdown"]
    assert {(r.channel, r.not_before) for r in rows} == {("sms", _ist(8)), ("voice", _ist(8))}
    assert _sent_by_console(world, published_at) == []
    assert _sent_by_console(world, _ist(7, 59)) == []
    assert len(_sent_by_console(world, _ist(8))) == len(world.by_sms)


@pytest.mark.parametrize(
    ("published_at", "starts"),
    [(_ist(11), _ist(14)), (_ist(2), _ist(8, 30)), (_ist(21, 30), _ist(9, 0, day=21))],
    ids=["in-the-day", "a-morning-shutdown-published-at-night", "waiting-would-leave-under-two-hours"],
)
def test_a_shutdown_notice_goes_at_once_in_the_day_or_when_waiting_would_make_it_late(
    world: World, published_at: dt.datetime, starts: dt.datetime
) -> None:
    publish_shutdown(
        world.uow,
        Shutdown((world.feeder_a,), starts, starts + dt.timedelta(hours=3), "Line maintenance"),
        actor=DESK,
        now=published_at,
    )
    fan_out_pending(world.engine, now=published_at)

    assert {r.not_before for r in world.rows() if r.template == "outage.shutdown"} == {None}
    assert len(_sent_by_console(world, published_at)) == len(world.by_sms)


def test_consumers_who_switched_outage_alerts_off_are_told_by_neither_channel_while_others_still_are(
    world: World,
) -> None:
    quiet_sms = next(iter(world.by_sms))
    quiet_voice = next(iter(world.by_voice))
    uow = world.uow
    for account_id, channel in ((quiet_sms, "sms"), (quiet_voice, "voice")):
        save_alert_settings(uow, account_id, AlertChoice(False, True, True, channel, frozenset()), now=NOW)
    with Session(world.engine) as s:
        reach = preview(s, [world.feeder_a])

    event_id = world.breakdown()
    fan_out_pending(world.engine, now=NOW)

    told = {r.account_id for r in _revision_rows(world, event_id, 1)}
    assert told == (set(world.by_sms) | set(world.by_voice)) - {quiet_sms, quiet_voice}
    assert (reach.sms, reach.voice) == (len(world.by_sms) - 1, len(world.by_voice) - 1)  # the desk counts alike
