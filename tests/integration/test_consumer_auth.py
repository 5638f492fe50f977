"""Consumers on the portal against a real database: registering by bill number and OTP, signing in by password or
by mobile OTP, a forgotten password, and sessions (idle expiry, revocation, switching between accounts)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from cis import consumer_auth as ca
from cis.db import UnitOfWork
from cis.errors import (
    MalformedAccountNumber,
    MalformedBillNumber,
    NoPendingOtp,
    NotYourAccount,
    NoVerifiedMobile,
    RegistrationMismatch,
    TooManyOtpRequests,
    TooManySignInTries,
    WeakPassword,
    WrongAccountPassword,
    WrongOtp,
)
from cis.models import AccountMobile, AuditLog, ConsumerLogin, ConsumerSession, LoginAttempt, OtpChallenge, Outbox
from cis.numbers import bill_no_for_id
from cis.passwords import WerkzeugHasher
from tests import factories

NOW = factories.NOW
ACCOUNT = "4930000001"
SECOND = "4930000002"  # the same person's second connection, on the same mobile
STRANGER = "4930000003"  # someone else's account, with a mobile of its own
BARE = "4930000004"  # an account whose only mobile is not verified
MOBILE = "+919876548113"
STRANGER_MOBILE = "+919811122233"
UNVERIFIED = "+919822233344"
UNKNOWN = "9999999999"
PASSWORD = "Kidwai Nagar 208011"
ADDRESS = "203.0.113.7"
YEAR, MONTH = dt.timedelta(days=365), dt.timedelta(days=30)
HASHER = WerkzeugHasher("pbkdf2:sha256:1000")  # cheap: the method is not what is tested


@pytest.fixture
def bills(session: Session) -> dict[str, str]:
    """The accounts, and the number of a recent bill of each (`old`: one of 13 months ago)."""
    mine = factories.account(session, account_no=ACCOUNT, mobiles=(MOBILE,), name="Ramesh Verma")
    second = factories.account(session, account_no=SECOND, mobiles=(MOBILE,), name="Ramesh Verma")
    stranger = factories.account(session, account_no=STRANGER, mobiles=(STRANGER_MOBILE,), name="Sita Devi")
    bare = factories.account(session, account_no=BARE)
    session.add(AccountMobile(account_id=bare.id, e164=UNVERIFIED, verified=False, added_via="ivr", added_at=NOW))
    numbers = {
        ACCOUNT: bill_no_for_id(factories.bill(session, mine).id),
        SECOND: bill_no_for_id(factories.bill(session, second).id),
        STRANGER: bill_no_for_id(factories.bill(session, stranger).id),
        BARE: bill_no_for_id(factories.bill(session, bare).id),
        "old": bill_no_for_id(factories.bill(session, mine, cycle="2025-09", issued_at=NOW - YEAR - MONTH).id),
    }
    session.commit()
    return numbers


def _sms(session_factory: Callable[[], Session], template: str | None = None) -> list[Outbox]:
    with session_factory() as s:
        query = select(Outbox).order_by(Outbox.id)
        if template:
            query = query.where(Outbox.template == template)
        return list(s.scalars(query))


def _code(session_factory: Callable[[], Session]) -> str:
    return str(_sms(session_factory)[-1].payload["otp"])


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _register(uow: UnitOfWork, factory: Callable[[], Session], bills: dict[str, str], account: str = ACCOUNT) -> int:
    step = ca.start_registration(uow, account, bills[account], remote_addr=ADDRESS, now=NOW)
    done = ca.finish_registration(uow, step.ticket, _code(factory), PASSWORD, now=NOW, hasher=HASHER)
    return done.account_id


def _sign_in(uow: UnitOfWork, account: str = ACCOUNT, password: str = PASSWORD, **kw: object) -> int:
    options: dict[str, object] = {"remote_addr": ADDRESS, "now": NOW, "hasher": HASHER} | kw
    return ca.sign_in_password(uow, account, password, **options)  # type: ignore[arg-type]


@contextmanager
def statements(session_factory: Callable[[], Session]) -> Iterator[list[str]]:
    """The SQL the use cases send while the block runs, literal values left out (what the database is asked)."""
    sent: list[str] = []
    with session_factory() as s:
        bind = s.get_bind()

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(re.sub(r"sa_savepoint_\d+", "sa_savepoint", re.sub(r"\s+", " ", statement)))

    event.listen(bind, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(bind, "before_cursor_execute", record)


# --- registration --------------------------------------------------------------------------------------------


def test_registration_sends_a_code_to_the_verified_mobile_and_shows_only_its_last_four_digits(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)

    assert step.hint == "******8113"
    assert step.expires_at == NOW + dt.timedelta(minutes=10)
    [sms] = _sms(session_factory)
    assert (sms.template, sms.recipient, sms.priority) == ("otp.password", MOBILE, 0)
    assert sms.payload["account"] == ACCOUNT
    assert re.fullmatch(r"\d{6}", sms.payload["otp"])
    assert sms.expires_at == NOW + dt.timedelta(minutes=10)
    with session_factory() as s:
        challenge = s.scalars(select(OtpChallenge)).one()
    assert challenge.ticket_hash is not None
    assert step.ticket not in challenge.ticket_hash  # only its hash is kept
    assert sms.payload["otp"] not in challenge.code_hash


def test_the_code_and_a_good_password_register_the_account_with_an_audit_row(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    later = NOW + dt.timedelta(minutes=4)

    done = ca.finish_registration(uow, step.ticket, _code(session_factory), PASSWORD, now=later, hasher=HASHER)

    assert (done.account_no, done.mobile) == (ACCOUNT, MOBILE)
    with session_factory() as s:
        login = s.scalars(select(ConsumerLogin)).one()
        assert PASSWORD not in login.password_hash
        assert login.password_changed_at == later
        row = s.scalars(select(AuditLog).where(AuditLog.action == "portal.registered")).one()
        assert (row.entity_id, row.detail["mobile"]) == (ACCOUNT, MOBILE)
    assert _sign_in(uow) == done.account_id


def test_any_bill_of_the_last_twelve_months_will_do_but_not_an_older_one(
    bills: dict[str, str], uow: UnitOfWork
) -> None:
    with pytest.raises(RegistrationMismatch):
        ca.start_registration(uow, ACCOUNT, bills["old"], remote_addr=ADDRESS, now=NOW)
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    assert step.hint == "******8113"


@pytest.mark.parametrize(
    ("account", "bill"),
    [(UNKNOWN, ACCOUNT), (ACCOUNT, STRANGER), (STRANGER, ACCOUNT), (ACCOUNT, "old")],
    ids=["unknown-account", "anothers-bill", "bill-of-another-account", "too-old"],
)
def test_unknown_account_and_wrong_bill_get_the_same_answer_after_the_same_queries(
    account: str, bill: str, bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    with statements(session_factory) as baseline, pytest.raises(RegistrationMismatch) as first:
        ca.start_registration(uow, ACCOUNT, bills[STRANGER], remote_addr="198.51.100.1", now=NOW)
    with statements(session_factory) as sent, pytest.raises(RegistrationMismatch) as this:
        ca.start_registration(uow, account, bills[bill], remote_addr="198.51.100.1", now=NOW)

    assert str(this.value) == str(first.value)
    assert len(baseline) >= 4
    assert sent == baseline  # the same statements, so the same work: the timing tells nothing either
    assert _sms(session_factory) == []


def test_an_account_without_a_verified_mobile_is_told_to_register_one(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    with pytest.raises(NoVerifiedMobile) as refused:
        ca.start_registration(uow, BARE, bills[BARE], remote_addr=ADDRESS, now=NOW)
    assert f"REG {BARE}" in str(refused.value)
    assert _sms(session_factory) == []  # not to the unverified mobile either


def test_numbers_that_cannot_be_an_account_or_a_bill_are_refused_before_any_lookup(
    bills: dict[str, str], uow: UnitOfWork
) -> None:
    with pytest.raises(MalformedAccountNumber):
        ca.start_registration(uow, "49300", bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    typo = bills[ACCOUNT][:-2] + bills[ACCOUNT][-1] + bills[ACCOUNT][-2]  # two digits swapped: the check digit sees it
    if typo != bills[ACCOUNT]:
        with pytest.raises(MalformedBillNumber):
            ca.start_registration(uow, ACCOUNT, typo, remote_addr=ADDRESS, now=NOW)


def test_five_wrong_bill_numbers_pause_registration_of_the_account(bills: dict[str, str], uow: UnitOfWork) -> None:
    for _ in range(5):
        with pytest.raises(RegistrationMismatch):
            ca.start_registration(uow, ACCOUNT, bills[STRANGER], remote_addr=ADDRESS, now=NOW)
    with pytest.raises(TooManySignInTries):
        ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    later = NOW + dt.timedelta(minutes=15, seconds=1)
    assert ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=later).hint == "******8113"


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1", "short"), ("password@123", "common"), ("Password123", "common"), (f"my{ACCOUNT}!", "account")],
)
def test_weak_passwords_are_refused_and_a_weak_one_costs_no_try(
    password: str, reason: str, bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    code = _code(session_factory)

    with pytest.raises(WeakPassword) as refused:
        ca.finish_registration(uow, step.ticket, code, password, now=NOW, hasher=HASHER)

    assert refused.value.reason == reason
    with session_factory() as s:
        tries = s.scalar(select(OtpChallenge.attempts))
        assert s.scalar(select(func.count()).select_from(ConsumerLogin)) == 0
    assert tries == (1 if reason == "account" else 0)  # the account number is known only once the code is
    ca.finish_registration(uow, step.ticket, code, PASSWORD, now=NOW, hasher=HASHER)  # the code still works


def test_the_code_answers_only_for_the_browser_that_asked(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    code = _code(session_factory)
    other = ca.start_reset(uow, STRANGER, STRANGER_MOBILE, remote_addr=ADDRESS, now=NOW)  # another challenge's ticket

    with pytest.raises(NoPendingOtp):
        ca.finish_registration(uow, "made-up-ticket", code, PASSWORD, now=NOW, hasher=HASHER)
    with pytest.raises(NoPendingOtp):  # a ticket of another purpose
        ca.finish_registration(uow, other.ticket, code, PASSWORD, now=NOW, hasher=HASHER)
    with session_factory() as s:
        assert s.scalars(select(OtpChallenge.attempts).order_by(OtpChallenge.id)).all() == [0, 0]


def test_five_wrong_codes_kill_the_registration_code(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    code = _code(session_factory)
    left = []
    for _ in range(5):
        with pytest.raises(WrongOtp) as wrong:
            ca.finish_registration(uow, step.ticket, _wrong(code), PASSWORD, now=NOW, hasher=HASHER)
        left.append(wrong.value.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(NoPendingOtp):
        ca.finish_registration(uow, step.ticket, code, PASSWORD, now=NOW, hasher=HASHER)


def test_the_code_expires_after_ten_minutes_and_acts_once(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW)
    code = _code(session_factory)
    with pytest.raises(NoPendingOtp):
        ca.finish_registration(uow, step.ticket, code, PASSWORD, now=NOW + dt.timedelta(minutes=10), hasher=HASHER)

    again = ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW + dt.timedelta(minutes=11))
    code = _code(session_factory)
    ca.finish_registration(uow, again.ticket, code, PASSWORD, now=NOW + dt.timedelta(minutes=12), hasher=HASHER)
    with pytest.raises(NoPendingOtp):
        ca.finish_registration(uow, again.ticket, code, "another good one", now=NOW, hasher=HASHER)


def test_three_codes_an_hour_reach_a_mobile(bills: dict[str, str], uow: UnitOfWork) -> None:
    for minute in range(3):
        at = NOW + dt.timedelta(minutes=minute)
        ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=at)
    with pytest.raises(TooManyOtpRequests):
        ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW + dt.timedelta(minutes=5))
    with pytest.raises(TooManyOtpRequests):  # a sign-in code to the same mobile counts too
        ca.sign_in_otp(uow, MOBILE, now=NOW + dt.timedelta(minutes=6))
    ca.start_registration(uow, ACCOUNT, bills[ACCOUNT], remote_addr=ADDRESS, now=NOW + dt.timedelta(minutes=61))


# --- passwords -----------------------------------------------------------------------------------------------


def test_unknown_unregistered_and_wrong_password_are_one_answer_each_checking_one_hash(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _register(uow, session_factory, bills)
    checked: list[str] = []

    class Counting(WerkzeugHasher):
        def verify(self, password_hash: str, password: str) -> bool:
            checked.append(password_hash)
            return super().verify(password_hash, password)

    hasher = Counting("pbkdf2:sha256:1000")
    answers = []
    for account, password in ((ACCOUNT, "wrong password"), (UNKNOWN, PASSWORD), (SECOND, PASSWORD), (ACCOUNT, "")):
        with pytest.raises(WrongAccountPassword) as refused:
            _sign_in(uow, account, password, hasher=hasher, remote_addr=f"192.0.2.{len(answers)}")
        answers.append(str(refused.value))

    assert len(set(answers)) == 1
    assert len(checked) == 4
    with session_factory() as s:
        logged = s.scalars(select(LoginAttempt.username).order_by(LoginAttempt.id)).all()
    assert f"account:{UNKNOWN}" in logged


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_for_the_right_one(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    for n in range(5):
        with pytest.raises(WrongAccountPassword):
            _sign_in(uow, password=f"guess {n}", remote_addr=f"192.0.2.{n}")
    with pytest.raises(TooManySignInTries):
        _sign_in(uow)
    assert _sign_in(uow, now=NOW + dt.timedelta(minutes=15, seconds=1)) == account_id


def test_twenty_failures_from_one_address_lock_that_address(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _register(uow, session_factory, bills)
    for n in range(20):
        with pytest.raises(WrongAccountPassword):
            _sign_in(uow, f"49300{n:05d}", "guess", remote_addr="198.51.100.9")
    with pytest.raises(TooManySignInTries):
        _sign_in(uow, remote_addr="198.51.100.9")
    assert _sign_in(uow, remote_addr="198.51.100.10")


def test_staff_and_consumer_counts_are_kept_apart(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    from cis.staff_auth import WrongCredentials, authenticate

    for _ in range(5):
        with pytest.raises(WrongCredentials):
            authenticate(uow, ACCOUNT, "guess", ADDRESS, now=NOW, hasher=HASHER)
    _register(uow, session_factory, bills)
    assert _sign_in(uow)


# --- forgotten password ----------------------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_by_a_code_to_the_registered_mobile_and_ends_every_session(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    token = ca.start_session(uow, account_id, remote_addr=ADDRESS, now=NOW)

    step = ca.start_reset(uow, ACCOUNT, "98765 48113", remote_addr=ADDRESS, now=NOW)
    assert step.hint is None
    assert _sms(session_factory)[-1].recipient == MOBILE
    ca.finish_reset(uow, step.ticket, _code(session_factory), "a new passphrase", now=NOW, hasher=HASHER)

    assert ca.session_account(session_factory, token, now=NOW) is None
    with pytest.raises(WrongAccountPassword):
        _sign_in(uow)
    assert _sign_in(uow, password="a new passphrase") == account_id
    with session_factory() as s:
        detail = s.scalar(select(AuditLog.detail).where(AuditLog.action == "portal.password_reset"))
    assert detail["sessions_ended"] == 1


@pytest.mark.parametrize(
    ("account", "mobile"),
    [(ACCOUNT, STRANGER_MOBILE), (UNKNOWN, MOBILE), (BARE, UNVERIFIED)],
    ids=["anothers-mobile", "unknown-account", "unverified-mobile"],
)
def test_a_forgotten_password_for_details_not_on_record_looks_the_same_and_sends_nothing(
    account: str, mobile: str, bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.start_reset(uow, account, mobile, remote_addr=ADDRESS, now=NOW)

    assert (step.hint, step.expires_at, len(step.ticket)) == (None, NOW + dt.timedelta(minutes=10), 43)
    assert _sms(session_factory) == []
    with pytest.raises(NoPendingOtp):
        ca.finish_reset(uow, step.ticket, "123456", "a new passphrase", now=NOW, hasher=HASHER)


# --- sign-in by mobile and switching -------------------------------------------------------------------------------


def test_a_mobile_signs_in_by_otp_onto_its_first_account_and_may_switch_to_its_others(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    step = ca.sign_in_otp(uow, "9876548113", now=NOW)
    [sms] = _sms(session_factory, "otp.login")
    assert sms.recipient == MOBILE

    proven = ca.confirm_sign_in_otp(uow, step.ticket, _code(session_factory), now=NOW)
    assert (proven.mobile, proven.account_no) == (MOBILE, ACCOUNT)
    token = ca.start_session(uow, proven.account_id, mobile=proven.mobile, remote_addr=ADDRESS, now=NOW)
    signed_in = ca.session_account(session_factory, token, now=NOW)
    assert signed_in is not None
    assert (signed_in.account_no, signed_in.mobile, signed_in.name) == (ACCOUNT, MOBILE, "Ramesh Verma")

    choices = ca.switchable_accounts(uow, signed_in)
    assert [(c.account_no, c.masked_name) for c in choices] == [(ACCOUNT, "Ra**** Ve***"), (SECOND, "Ra**** Ve***")]
    ca.switch_account(uow, token, SECOND, now=NOW)
    after = ca.session_account(session_factory, token, now=NOW)
    assert after is not None
    assert after.account_no == SECOND
    with pytest.raises(NotYourAccount):
        ca.switch_account(uow, token, STRANGER, now=NOW)
    with pytest.raises(NotYourAccount):
        ca.switch_account(uow, token, UNKNOWN, now=NOW)


def test_a_password_session_shows_its_own_account_only(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    token = ca.start_session(uow, _sign_in(uow), remote_addr=ADDRESS, now=NOW)
    signed_in = ca.session_account(session_factory, token, now=NOW)
    assert signed_in is not None
    assert signed_in.mobile is None
    assert [c.account_no for c in ca.switchable_accounts(uow, signed_in)] == [ACCOUNT]
    with pytest.raises(NotYourAccount):
        ca.switch_account(uow, token, SECOND, now=NOW)
    assert ca.switch_account(uow, token, ACCOUNT, now=NOW) == account_id


def test_an_unknown_mobile_gets_the_same_code_page_and_no_sms(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    known = ca.sign_in_otp(uow, MOBILE, now=NOW)
    unknown = ca.sign_in_otp(uow, "+919800000001", now=NOW)
    unverified = ca.sign_in_otp(uow, UNVERIFIED, now=NOW)

    for step in (unknown, unverified):
        assert (step.hint, step.expires_at, len(step.ticket)) == (known.hint, known.expires_at, len(known.ticket))
        with pytest.raises(NoPendingOtp):
            ca.confirm_sign_in_otp(uow, step.ticket, "123456", now=NOW)
    assert [m.recipient for m in _sms(session_factory)] == [MOBILE]


def test_a_session_on_a_mobile_ends_when_the_mobile_is_removed_from_the_account(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session], session: Session
) -> None:
    step = ca.sign_in_otp(uow, MOBILE, now=NOW)
    proven = ca.confirm_sign_in_otp(uow, step.ticket, _code(session_factory), now=NOW)
    token = ca.start_session(uow, proven.account_id, mobile=proven.mobile, remote_addr=ADDRESS, now=NOW)
    link = session.scalars(
        select(AccountMobile).where(AccountMobile.account_id == proven.account_id, AccountMobile.e164 == MOBILE)
    ).one()
    session.delete(link)
    session.commit()

    assert ca.session_account(session_factory, token, now=NOW) is None


# --- sessions ------------------------------------------------------------------------------------------------------


def test_a_session_ends_after_thirty_idle_minutes_but_use_keeps_it_alive(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    token = ca.start_session(uow, account_id, remote_addr=ADDRESS, now=NOW)
    with session_factory() as s:
        assert token not in s.scalars(select(ConsumerSession.token_hash)).one()

    at = NOW
    for _ in range(4):  # used every 29 minutes: alive for two hours
        at += dt.timedelta(minutes=29)
        assert ca.session_account(session_factory, token, now=at) is not None
    assert ca.session_account(session_factory, token, now=at + dt.timedelta(minutes=30)) is None
    shorter = ca.session_account(session_factory, token, now=at + dt.timedelta(minutes=5), idle=dt.timedelta(minutes=5))
    assert shorter is None


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    token = ca.start_session(uow, account_id, remote_addr=ADDRESS, now=NOW)
    at = NOW
    while at < NOW + dt.timedelta(hours=11, minutes=50):
        at += dt.timedelta(minutes=20)
        ca.session_account(session_factory, token, now=at)
    assert ca.session_account(session_factory, token, now=NOW + dt.timedelta(hours=12)) is None


def test_signing_out_revokes_the_token_and_each_sign_in_gets_a_new_one(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    account_id = _register(uow, session_factory, bills)
    first = ca.start_session(uow, account_id, remote_addr=ADDRESS, now=NOW)
    second = ca.start_session(uow, account_id, remote_addr=ADDRESS, now=NOW)
    assert first != second

    ca.end_session(uow, first, now=NOW)

    assert ca.session_account(session_factory, first, now=NOW) is None
    assert ca.session_account(session_factory, second, now=NOW) is not None
    assert ca.session_account(session_factory, "x" * 500, now=NOW) is None
    assert ca.session_account(session_factory, "", now=NOW) is None


def test_the_office_sets_a_password_under_the_same_rules(
    bills: dict[str, str], uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    with pytest.raises(WeakPassword):
        ca.set_password(uow, ACCOUNT, "12345678", actor="cli", now=NOW, hasher=HASHER)
    ca.set_password(uow, ACCOUNT, "demo1912", actor="cli", now=NOW, hasher=HASHER)
    assert _sign_in(uow, password="demo1912")
    with session_factory() as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "portal.password_set")) == "cli"


def test_masks() -> None:
    assert ca.mask_hint("+919876548113") == "******8113"
    assert ca.masked_name("Ramesh Kumar Verma") == "Ra**** Ku*** Ve***"
    assert ca.masked_name("A Ko") == "A Ko*"
