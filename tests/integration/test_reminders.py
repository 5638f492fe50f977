"""Bill-due reminders: which unpaid bills get one, to which mobile, with what in it, and never twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.models import Account, AccountMobile, Outbox, SmsOptOut
from cis.preferences import AlertChoice, save_alert_settings
from cis.reminders import queue_bill_reminders
from sms.dispatch import variables_for
from sms.templates import load_templates, render
from tests import factories

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # 09:30 IST
PORTAL = "https://urja.example.in/pay"
MOBILE = "+919876543210"
OTHER = "+919812345678"


def _issued_for(due: dt.date) -> dt.datetime:
    """The issue time of a factory bill falling due on `due` (factory bills are due 15 days after issue)."""
    return dt.datetime(due.year, due.month, due.day, 6, 0, tzinfo=dt.UTC) - dt.timedelta(days=15)


def _run(uow: UnitOfWork, **kwargs: object) -> int:
    return queue_bill_reminders(uow, today=TODAY, now=NOW, portal_url=PORTAL, **kwargs)  # type: ignore[arg-type]


def _reminders(session_factory: Callable[[], Session], acc: Account) -> list[Outbox]:
    with session_factory() as fresh:
        return list(
            fresh.scalars(
                select(Outbox)
                .where(Outbox.account_id == acc.id, Outbox.template == "bill.reminder")
                .order_by(Outbox.id)
            )
        )


def test_unpaid_bill_due_in_two_days_gets_one_reminder_to_its_mobile(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    due = TODAY + dt.timedelta(days=2)
    acc = factories.account(session, account_no="4100000001", mobiles=(MOBILE,))
    bill = factories.bill(session, acc, amount_paise=172_700, issued_at=_issued_for(due))
    session.commit()

    assert _run(uow) >= 1

    [row] = _reminders(session_factory, acc)
    assert row.channel == "sms"
    assert row.recipient == MOBILE
    assert row.status == "pending"
    assert row.priority == 5
    assert row.dedupe_key == f"bill.reminder:{bill.id}"
    assert row.payload == {
        "account_no": "4100000001",
        "amount_paise": 172_700,
        "due_date": "2026-11-22",
        "portal_url": PORTAL,
    }
    assert row.created_at == NOW
    template = load_templates()["bill.reminder"]
    sms = render(template, variables_for(template, row.payload), allowed_urls=[PORTAL], allowed_numbers=[])
    assert sms.text == (
        "Reminder: Rs 1,727.00 for A/c 4100000001 is due on 22 Nov 2026. Pay on time to avoid a late fee. "
        "Pay at https://urja.example.in/pay -Urja Mitra"
    )
    # Two days from now comes before the end of 22 November in India.
    assert row.expires_at == NOW + dt.timedelta(days=2)


def test_a_bill_due_today_expires_at_the_end_of_the_day_in_india(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, issued_at=_issued_for(TODAY))
    session.commit()

    _run(uow)

    [row] = _reminders(session_factory, acc)
    assert row.payload["due_date"] == "2026-11-20"
    assert row.expires_at == dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC)  # midnight IST


def test_running_twice_queues_once(session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]) -> None:
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, issued_at=_issued_for(TODAY + dt.timedelta(days=1)))
    session.commit()

    first = _run(uow)
    again = _run(uow)
    later_that_day = queue_bill_reminders(
        uow, today=TODAY, now=NOW + dt.timedelta(hours=8), portal_url=PORTAL, batch=1000
    )

    assert first >= 1
    assert again == 0
    assert later_that_day == 0
    assert len(_reminders(session_factory, acc)) == 1


def test_a_bill_paid_in_full_gets_no_reminder(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=2))
    paid_not_yet_marked = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, paid_not_yet_marked, amount_paise=150_000, issued_at=issued)
    factories.payment(session, paid_not_yet_marked, amount_paise=150_000, paid_at=issued + dt.timedelta(days=3))
    marked_paid = factories.account(session, mobiles=(OTHER,))
    factories.bill(session, marked_paid, amount_paise=150_000, issued_at=issued, status="paid")
    factories.payment(session, marked_paid, amount_paise=150_000, paid_at=issued + dt.timedelta(days=3))
    session.commit()

    _run(uow)

    assert _reminders(session_factory, paid_not_yet_marked) == []
    assert _reminders(session_factory, marked_paid) == []


def test_a_part_paid_bill_is_reminded_of_the_remainder_only(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=3))
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, amount_paise=250_000, issued_at=issued, status="part_paid")
    factories.payment(session, acc, amount_paise=100_000, paid_at=issued + dt.timedelta(days=2))
    # Paid before this bill was issued: it settled the previous one and does not count here.
    factories.payment(session, acc, amount_paise=90_000, paid_at=issued - dt.timedelta(days=5))
    session.commit()

    _run(uow)

    [row] = _reminders(session_factory, acc)
    assert row.payload["amount_paise"] == 150_000


@pytest.mark.parametrize("days_away", [10, 4, -1])
def test_a_bill_due_outside_the_window_gets_no_reminder(
    days_away: int, session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, issued_at=_issued_for(TODAY + dt.timedelta(days=days_away)))
    session.commit()

    _run(uow)

    assert _reminders(session_factory, acc) == []


def test_the_window_follows_days_before(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, issued_at=_issued_for(TODAY + dt.timedelta(days=10)))
    session.commit()

    queue_bill_reminders(uow, today=TODAY, now=NOW, portal_url=PORTAL, days_before=10)

    assert len(_reminders(session_factory, acc)) == 1


def test_opted_out_closed_and_unreachable_accounts_get_none(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=2))
    opted_out = factories.account(session, mobiles=(MOBILE,), opt_out=True)
    closed = factories.account(session, mobiles=(MOBILE,), status="perm_disconnected")
    no_mobile = factories.account(session)
    stopped = factories.account(session, mobiles=(OTHER,))
    session.add(SmsOptOut(e164=OTHER, opted_out_at=NOW - dt.timedelta(days=30), via="sms"))
    for acc in (opted_out, closed, no_mobile, stopped):
        factories.bill(session, acc, issued_at=issued)
    session.commit()

    _run(uow)

    for acc in (opted_out, closed, no_mobile, stopped):
        assert _reminders(session_factory, acc) == []


def test_the_first_verified_mobile_not_opted_out_is_told(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=2))
    verified_later = factories.account(session)
    session.add(AccountMobile(account_id=verified_later.id, e164=OTHER, verified=False, added_via="sms", added_at=NOW))
    session.flush()
    session.add(
        AccountMobile(account_id=verified_later.id, e164=MOBILE, verified=True, added_via="office", added_at=NOW)
    )
    first_stopped = factories.account(session, mobiles=("+919700000001", "+919700000002"))
    session.add(SmsOptOut(e164="+919700000001", opted_out_at=NOW, via="sms"))
    for acc in (verified_later, first_stopped):
        factories.bill(session, acc, issued_at=issued)
    session.commit()

    _run(uow)

    assert [row.recipient for row in _reminders(session_factory, verified_later)] == [MOBILE]
    assert [row.recipient for row in _reminders(session_factory, first_stopped)] == ["+919700000002"]


def test_only_the_latest_version_of_a_revised_bill_is_reminded(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=2))
    acc = factories.account(session, mobiles=(MOBILE,))
    old = factories.bill(session, acc, amount_paise=300_000, issued_at=issued, status="superseded")
    # Paid against the first version: a revision does not forget it.
    factories.payment(session, acc, amount_paise=50_000, paid_at=issued + dt.timedelta(days=1))
    new = factories.bill(session, acc, amount_paise=200_000, issued_at=issued + dt.timedelta(days=2), version=2)
    new.supersedes_id, new.due_date = old.id, old.due_date
    # A stale version left "issued" by mistake still loses to the newer one.
    stale = factories.account(session, mobiles=(OTHER,))
    factories.bill(session, stale, amount_paise=300_000, issued_at=issued)
    newest = factories.bill(session, stale, amount_paise=120_000, issued_at=issued, version=2)
    session.commit()

    _run(uow)

    [row] = _reminders(session_factory, acc)
    assert row.dedupe_key == f"bill.reminder:{new.id}"
    assert row.payload["amount_paise"] == 150_000
    [row] = _reminders(session_factory, stale)
    assert row.dedupe_key == f"bill.reminder:{newest.id}"
    assert row.payload["amount_paise"] == 120_000


def test_a_bill_followed_by_a_newer_cycle_is_not_reminded(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    """The newer bill carries the old one's unpaid amount as arrears: only it is reminded."""
    acc = factories.account(session, mobiles=(MOBILE,))
    factories.bill(session, acc, cycle="2026-09", issued_at=_issued_for(TODAY + dt.timedelta(days=1)))
    factories.bill(session, acc, cycle="2026-10", issued_at=_issued_for(TODAY + dt.timedelta(days=20)))
    session.commit()

    _run(uow)

    assert _reminders(session_factory, acc) == []


def test_batches_queue_the_same_reminders(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=1))
    accounts = [factories.account(session, mobiles=(f"+91980000{n:04d}",)) for n in range(5)]
    for n, acc in enumerate(accounts):
        factories.bill(session, acc, amount_paise=100_000 + n, issued_at=issued)
    session.commit()

    queue_bill_reminders(uow, today=TODAY, now=NOW, portal_url=PORTAL, batch=2)

    for n, acc in enumerate(accounts):
        [row] = _reminders(session_factory, acc)
        assert row.recipient == f"+91980000{n:04d}"
        assert row.payload["amount_paise"] == 100_000 + n


def test_nothing_due_queues_nothing(uow: UnitOfWork) -> None:
    assert queue_bill_reminders(uow, today=dt.date(1990, 1, 1), now=NOW, portal_url=PORTAL, batch=100) == 0


def test_an_account_that_switched_bill_sms_off_gets_no_reminder_while_others_still_do(
    session: Session, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    issued = _issued_for(TODAY + dt.timedelta(days=2))
    quiet = factories.account(session, mobiles=(MOBILE,))
    told = factories.account(session, mobiles=(OTHER,))
    for acc in (quiet, told):
        factories.bill(session, acc, issued_at=issued)
    session.commit()
    save_alert_settings(
        uow, quiet.id, AlertChoice(True, True, False, "sms", frozenset()), now=NOW - dt.timedelta(days=1)
    )

    assert _run(uow) == 1

    assert _reminders(session_factory, quiet) == []
    assert [r.recipient for r in _reminders(session_factory, told)] == [OTHER]
