"""A consumer's mobiles and alert preferences (cis.preferences) and the supply on their feeder (cis.feeder_supply):
a new mobile proves itself with a code sent to it, the last verified one stays, every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.consumer_auth import session_account, start_session
from cis.db import UnitOfWork
from cis.errors import (
    LastVerifiedMobile,
    MalformedMobile,
    MobileAlreadyRegistered,
    NoNumberForCalls,
    NoPendingOtp,
    TooManyMobiles,
    TooManyOtpRequests,
    UnknownMobile,
    WrongOtp,
)
from cis.feeder_supply import supply_on_feeder
from cis.models import Account, AccountMobile, AuditLog, Outbox, RosterSubscription, SmsOptOut
from cis.preferences import (
    AlertChoice,
    alert_settings,
    finish_add_mobile,
    list_mobiles,
    remove_mobile,
    save_alert_settings,
    start_add_mobile,
)
from tests import factories

NOW = factories.NOW
MINE = "+919876548113"
NEW = "+919812344455"


@pytest.fixture
def account(session: Session) -> Account:
    acc = factories.account(session, mobiles=(MINE,))
    session.commit()
    return acc


def _code(session_factory: Callable[[], Session], mobile: str) -> str:
    """The code in the newest SMS queued for `mobile` (the handset's view of it)."""
    with session_factory() as fresh:
        row = fresh.scalars(
            select(Outbox).where(Outbox.recipient == mobile).order_by(Outbox.id.desc()).limit(1)
        ).first()
    assert row is not None, f"no SMS for {mobile}"
    return str(row.payload["otp"])


def _audit(session_factory: Callable[[], Session], action: str) -> list[AuditLog]:
    with session_factory() as fresh:
        return list(fresh.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _mobiles(session_factory: Callable[[], Session], account_id: int) -> dict[str, bool]:
    with session_factory() as fresh:
        rows = fresh.execute(
            select(AccountMobile.e164, AccountMobile.verified).where(AccountMobile.account_id == account_id)
        )
        return {e164: bool(verified) for e164, verified in rows}


# --- adding a mobile -------------------------------------------------------------------------------------------


def test_a_new_mobile_gets_the_code_itself_and_is_added_verified_when_it_is_typed_back(
    uow: UnitOfWork, session_factory: Callable[[], Session], account: Account
) -> None:
    sent = start_add_mobile(uow, account.id, "98123 44455", now=NOW)

    assert sent.masked == "******4455"
    assert sent.expires_at == NOW + dt.timedelta(minutes=10)
    with session_factory() as fresh:
        sms = fresh.scalars(select(Outbox).where(Outbox.template == "otp.register")).one()
    assert sms.recipient == NEW  # to the new mobile, not to the one on record
    assert sms.payload["account"] == account.account_no
    assert len(sms.payload["otp"]) == 6
    assert sms.priority == 0

    assert finish_add_mobile(uow, account.id, sent.ticket, _code(session_factory, NEW), now=NOW) == "******4455"

    assert _mobiles(session_factory, account.id) == {MINE: True, NEW: True}
    [added] = _audit(session_factory, "mobile.registered")
    assert (added.actor, added.entity_id) == ("consumer:portal", account.account_no)
    assert (added.detail["mobile"], added.detail["via"], added.detail["verified"]) == (NEW, "portal", True)
    # The code is spent: typed again, it adds nothing.
    with pytest.raises(NoPendingOtp):
        finish_add_mobile(uow, account.id, sent.ticket, _code(session_factory, NEW), now=NOW)


def test_a_wrong_code_costs_a_try_and_five_kill_it(
    uow: UnitOfWork, session_factory: Callable[[], Session], account: Account
) -> None:
    sent = start_add_mobile(uow, account.id, NEW, now=NOW)
    right = _code(session_factory, NEW)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(WrongOtp) as caught:
            finish_add_mobile(uow, account.id, sent.ticket, wrong, now=NOW)
        assert caught.value.attempts_left == left
    with pytest.raises(NoPendingOtp):
        finish_add_mobile(uow, account.id, sent.ticket, right, now=NOW)
    assert _mobiles(session_factory, account.id) == {MINE: True}


def test_a_code_expires_after_ten_minutes(
    uow: UnitOfWork, session_factory: Callable[[], Session], account: Account
) -> None:
    sent = start_add_mobile(uow, account.id, NEW, now=NOW)
    with pytest.raises(NoPendingOtp):
        finish_add_mobile(uow, account.id, sent.ticket, _code(session_factory, NEW), now=NOW + dt.timedelta(minutes=10))


def test_three_codes_an_hour_to_a_mobile_and_to_an_account(uow: UnitOfWork, session: Session, account: Account) -> None:
    for minute in range(3):
        start_add_mobile(uow, account.id, NEW, now=NOW + dt.timedelta(minutes=minute))
    with pytest.raises(TooManyOtpRequests):
        start_add_mobile(uow, account.id, NEW, now=NOW + dt.timedelta(minutes=5))
    # The account has had its three too, whichever mobile is asked for next.
    with pytest.raises(TooManyOtpRequests):
        start_add_mobile(uow, account.id, "+919812300000", now=NOW + dt.timedelta(minutes=6))
    # Another account may still send a code to another mobile; an hour later, so may this one.
    other = factories.account(session, mobiles=("+919800000001",))
    session.commit()
    start_add_mobile(uow, other.id, "+919812300000", now=NOW + dt.timedelta(minutes=7))
    start_add_mobile(uow, account.id, "+919812399999", now=NOW + dt.timedelta(hours=1, minutes=1))


def test_a_code_answers_only_for_the_account_that_asked(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    other = factories.account(session, mobiles=("+919800000001",))
    session.commit()
    sent = start_add_mobile(uow, account.id, NEW, now=NOW)
    with pytest.raises(NoPendingOtp):
        finish_add_mobile(uow, other.id, sent.ticket, _code(session_factory, NEW), now=NOW)
    assert _mobiles(session_factory, other.id) == {"+919800000001": True}


def test_what_cannot_be_added_is_refused_before_any_sms(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    with pytest.raises(MalformedMobile):
        start_add_mobile(uow, account.id, "0512 254 0000", now=NOW)  # a landline
    with pytest.raises(MobileAlreadyRegistered):
        start_add_mobile(uow, account.id, MINE, now=NOW)
    full = factories.account(session, mobiles=tuple(f"+91980000000{n}" for n in range(5)))
    session.commit()
    with pytest.raises(TooManyMobiles):
        start_add_mobile(uow, full.id, NEW, now=NOW)
    with session_factory() as fresh:
        assert fresh.scalars(select(Outbox)).all() == []


def test_a_mobile_on_record_but_unverified_is_verified_by_its_code(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=False, added_via="ivr", added_at=NOW))
    session.commit()
    sent = start_add_mobile(uow, account.id, NEW, now=NOW)
    finish_add_mobile(uow, account.id, sent.ticket, _code(session_factory, NEW), now=NOW)
    assert _mobiles(session_factory, account.id) == {MINE: True, NEW: True}
    assert [a.detail["mobile"] for a in _audit(session_factory, "mobile.verified")] == [NEW]


# --- listing and removing --------------------------------------------------------------------------------------


def test_the_list_is_masked_and_says_what_each_mobile_gets(uow: UnitOfWork, session: Session, account: Account) -> None:
    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=False, added_via="ivr", added_at=NOW))
    session.add(RosterSubscription(account_id=account.id, e164=MINE, created_at=NOW))
    session.add(SmsOptOut(e164=NEW, opted_out_at=NOW, via="sms"))
    session.commit()
    listed = list_mobiles(uow, account.id, session_mobile=MINE)
    assert [(m.masked, m.verified, m.roster, m.stopped, m.this_session, m.primary) for m in listed] == [
        ("******8113", True, True, False, True, True),
        ("******4455", False, False, True, False, False),
    ]
    # The alerts go to the first mobile (verified first) that has not sent STOP, as the senders choose it.
    session.add(SmsOptOut(e164=MINE, opted_out_at=NOW, via="sms"))
    session.commit()
    assert [m.primary for m in list_mobiles(uow, account.id)] == [False, False]


def test_the_last_verified_mobile_stays_and_another_goes_with_its_roster_subscription(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    [mine] = list_mobiles(uow, account.id)
    with pytest.raises(LastVerifiedMobile):
        remove_mobile(uow, account.id, mine.id, now=NOW)

    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=True, added_via="portal", added_at=NOW))
    session.add(RosterSubscription(account_id=account.id, e164=MINE, created_at=NOW))
    session.commit()
    assert remove_mobile(uow, account.id, mine.id, now=NOW) == "******8113"

    assert _mobiles(session_factory, account.id) == {NEW: True}
    with session_factory() as fresh:
        assert fresh.scalars(select(RosterSubscription)).all() == []
    [removed] = _audit(session_factory, "mobile.removed")
    assert (removed.actor, removed.entity_id) == ("consumer:portal", account.account_no)
    assert removed.detail == {"mobile": MINE, "verified": True, "roster_unsubscribed": True, "via": "portal"}
    [left] = list_mobiles(uow, account.id)
    with pytest.raises(LastVerifiedMobile):
        remove_mobile(uow, account.id, left.id, now=NOW)


def test_an_unverified_mobile_always_goes_and_another_accounts_mobile_is_unknown(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    stranger = factories.account(session, mobiles=("+919800000001",))
    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=False, added_via="ivr", added_at=NOW))
    session.commit()
    [_, unverified] = list_mobiles(uow, account.id)
    [theirs] = list_mobiles(uow, stranger.id)
    with pytest.raises(UnknownMobile):
        remove_mobile(uow, account.id, theirs.id, now=NOW)
    remove_mobile(uow, account.id, unverified.id, now=NOW)
    assert _mobiles(session_factory, account.id) == {MINE: True}
    assert _mobiles(session_factory, stranger.id) == {"+919800000001": True}


def test_removing_the_mobile_a_session_proved_ends_that_session_only(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=True, added_via="portal", added_at=NOW))
    session.commit()
    by_mine = start_session(uow, account.id, mobile=MINE, remote_addr="10.0.0.1", now=NOW)
    by_new = start_session(uow, account.id, mobile=NEW, remote_addr="10.0.0.2", now=NOW)
    by_password = start_session(uow, account.id, remote_addr="10.0.0.3", now=NOW)
    mine = next(m for m in list_mobiles(uow, account.id) if m.masked.endswith("8113"))

    remove_mobile(uow, account.id, mine.id, now=NOW)

    assert session_account(session_factory, by_mine, now=NOW) is None
    assert session_account(session_factory, by_new, now=NOW) is not None
    assert session_account(session_factory, by_password, now=NOW) is not None


# --- alerts ------------------------------------------------------------------------------------------------------


def test_every_kind_is_on_until_switched_off_and_each_change_is_audited(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], account: Account
) -> None:
    settings = alert_settings(uow, account.id)
    assert (settings.outage, settings.roster, settings.bill, settings.channel) == (True, True, True, "sms")
    assert settings.can_call
    [mine] = settings.mobiles
    assert not mine.roster

    changed = save_alert_settings(
        uow, account.id, AlertChoice(False, True, False, "voice", frozenset({mine.id})), now=NOW
    )

    assert changed == ("outage", "bill", "channel", "roster:******8113")
    saved = alert_settings(uow, account.id)
    assert (saved.outage, saved.roster, saved.bill, saved.channel) == (False, True, False, "voice")
    assert saved.mobiles[0].roster
    with session_factory() as fresh:
        rows = fresh.scalars(select(AuditLog).where(AuditLog.entity_id == account.account_no).order_by(AuditLog.id))
        assert [(a.action, a.actor) for a in rows] == [
            ("alerts.switched", "consumer:portal"),
            ("alerts.switched", "consumer:portal"),
            ("alerts.channel_changed", "consumer:portal"),
            ("roster.subscribed", "consumer:portal"),
        ]
    switched = _audit(session_factory, "alerts.switched")
    assert [(a.detail["kind"], a.detail["on"]) for a in switched] == [("outage", False), ("bill", False)]
    # The same form again changes nothing and writes nothing.
    same = AlertChoice(False, True, False, "voice", frozenset({mine.id}))
    assert save_alert_settings(uow, account.id, same, now=NOW) == ()
    assert len(_audit(session_factory, "alerts.switched")) == 2
    # Unticking the mobile unsubscribes it.
    assert save_alert_settings(uow, account.id, AlertChoice(False, True, False, "voice", frozenset()), now=NOW) == (
        "roster:******8113",
    )
    assert not alert_settings(uow, account.id).mobiles[0].roster


def test_voice_needs_a_number_to_call(uow: UnitOfWork, session: Session, account: Account) -> None:
    bare = factories.account(session)
    session.commit()
    assert not alert_settings(uow, bare.id).can_call
    with pytest.raises(NoNumberForCalls):
        save_alert_settings(uow, bare.id, AlertChoice(True, True, True, "voice", frozenset()), now=NOW)
    bare_row = session.get(Account, bare.id)
    assert bare_row is not None
    bare_row.landline = "+915122540000"
    session.commit()
    save_alert_settings(uow, bare.id, AlertChoice(True, True, True, "voice", frozenset()), now=NOW)
    assert alert_settings(uow, bare.id).channel == "voice"


def test_a_roster_mobile_that_is_not_a_verified_mobile_of_the_account_saves_nothing(
    uow: UnitOfWork, session: Session, account: Account
) -> None:
    session.add(AccountMobile(account_id=account.id, e164=NEW, verified=False, added_via="ivr", added_at=NOW))
    session.commit()
    unverified = next(m for m in list_mobiles(uow, account.id) if not m.verified)
    choice = AlertChoice(False, False, False, "sms", frozenset({unverified.id}))
    with pytest.raises(UnknownMobile):
        save_alert_settings(uow, account.id, choice, now=NOW)
    assert alert_settings(uow, account.id).outage  # nothing was saved
    with pytest.raises(ValueError, match="alert channel"):
        save_alert_settings(uow, account.id, AlertChoice(True, True, True, "email", frozenset()), now=NOW)


# --- supply on my feeder ------------------------------------------------------------------------------------------


def test_the_feeder_card_tells_a_live_breakdown_with_its_etr_then_nothing(
    uow: UnitOfWork, session: Session, account: Account
) -> None:
    feeder = factories.feeder_of(session, account)
    quiet = supply_on_feeder(uow, account.id, now=NOW)
    assert (quiet.feeder_name, quiet.outage, quiet.planned) == (feeder.name, None, None)

    _published(session, feeder.id, "breakdown", NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=2))
    live = supply_on_feeder(uow, account.id, now=NOW)
    assert live.outage is not None
    assert (live.outage.kind, live.outage.expected_restore_at) == ("breakdown", NOW + dt.timedelta(hours=2))
    assert not live.etr_passed
    assert supply_on_feeder(uow, account.id, now=NOW + dt.timedelta(hours=3)).etr_passed


def test_the_feeder_card_tells_the_next_planned_shutdown_within_a_week(
    uow: UnitOfWork, session: Session, account: Account
) -> None:
    feeder = factories.feeder_of(session, account)
    starts = NOW + dt.timedelta(days=2)
    _published(session, feeder.id, "shutdown", starts, starts + dt.timedelta(hours=4))
    _published(session, feeder.id, "shutdown", NOW + dt.timedelta(days=9), NOW + dt.timedelta(days=9, hours=2))
    found = supply_on_feeder(uow, account.id, now=NOW)
    assert found.outage is None
    assert found.planned is not None
    assert (found.planned.started_at, found.planned.expected_restore_at) == (starts, starts + dt.timedelta(hours=4))
    during = supply_on_feeder(uow, account.id, now=starts + dt.timedelta(hours=1))
    assert during.outage is not None
    assert during.outage.kind == "shutdown"


def _published(session: Session, feeder_id: int, kind: str, starts: dt.datetime, ends: dt.datetime) -> None:
    """A published outage event on the feeder with its interruption, as the outage desk leaves one."""
    from cis.models import Feeder, FeederInterruption, OutageEvent, SubDivision, Substation

    division_id = session.scalar(
        select(SubDivision.division_id)
        .join(Substation, Substation.sub_division_id == SubDivision.id)
        .join(Feeder, Feeder.substation_id == Substation.id)
        .where(Feeder.id == feeder_id)
    )
    event = OutageEvent(
        kind=kind,
        status="published",
        division_id=division_id,
        cause="Test",
        starts_at=starts,
        expected_restore_at=ends,
        revision=1,
        created_by="test",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(event)
    session.flush()
    session.add(
        FeederInterruption(
            feeder_id=feeder_id,
            kind=kind,
            started_at=starts,
            expected_restore_at=ends,
            event_id=event.id,
            created_at=NOW,
        )
    )
    session.commit()


def test_each_alert_template_belongs_to_its_switch_and_the_rest_are_always_sent() -> None:
    from cis.preferences import alert_kind

    assert [alert_kind(t) for t in ("outage.breakdown", "outage.shutdown", "outage.restored", "outage.etr")] == [
        "outage"
    ] * 4
    assert alert_kind("outage.roster") == "roster"
    assert [alert_kind(t) for t in ("bill.issued", "bill.revised", "bill.reminder")] == ["bill"] * 3
    for always in ("outage.check", "otp.register", "payment.link", "complaint.ack", "reply.outage", "payment.receipt"):
        assert alert_kind(always) is None
