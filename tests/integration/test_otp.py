"""Linking a new mobile by OTP against a real database: where the code goes, what it links, and its limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis import accounts
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    NoMobileForAccount,
    NoPendingOtp,
    TooManyMobiles,
    TooManyOtpRequests,
    UnknownAccount,
    WrongOtp,
)
from cis.models import AccountMobile, AuditLog, OtpChallenge, Outbox
from cis.otp import OtpSent, confirm_link_otp, request_link_otp
from tests import factories

NOW = factories.NOW
ACCOUNT = "4930000001"
ON_RECORD = "+919876543210"
UNVERIFIED = "+919876500000"
NEW = "+919811122233"
OTHER = "+919822233344"


@pytest.fixture
def account(session: Session) -> str:
    """An account with a verified mobile on record and, added later, an unverified one."""
    acc = factories.account(session, account_no=ACCOUNT, mobiles=(ON_RECORD,))
    session.add(AccountMobile(account_id=acc.id, e164=UNVERIFIED, verified=False, added_via="ivr", added_at=NOW))
    session.commit()
    return ACCOUNT


def _request(
    uow: UnitOfWork, mobile: str = NEW, request_id: str = "SM1", *, account_no: str = ACCOUNT, now: dt.datetime = NOW
) -> OtpSent:
    return request_link_otp(uow, account_no, mobile, via="sms", now=now, request_id=request_id)


def _otp_sms(session_factory: Callable[[], Session]) -> list[Outbox]:
    with session_factory() as s:
        return list(s.scalars(select(Outbox).where(Outbox.template == "otp.register").order_by(Outbox.id)))


def _last_code(session_factory: Callable[[], Session]) -> str:
    return str(_otp_sms(session_factory)[-1].payload["otp"])


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _linked(session_factory: Callable[[], Session], mobile: str) -> list[str]:
    return [ref.account_no for ref in accounts.find_accounts_by_mobile(UnitOfWork(session_factory), mobile)]


def test_the_code_goes_to_the_verified_mobile_on_record_by_an_urgent_expiring_sms(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    sent = _request(uow)

    assert sent == OtpSent(account_no=ACCOUNT, sent_to_ending="3210", expires_at=NOW + dt.timedelta(minutes=10))
    [sms] = _otp_sms(session_factory)
    assert (sms.channel, sms.recipient, sms.priority, sms.status) == ("sms", ON_RECORD, 0, "pending")
    assert sms.expires_at == NOW + dt.timedelta(minutes=10)
    assert set(sms.payload) == {"otp", "account", "minutes"}
    assert (sms.payload["account"], sms.payload["minutes"]) == (ACCOUNT, "10")
    code = sms.payload["otp"]
    assert len(code) == 6
    assert code.isdigit()


def test_the_code_itself_is_never_stored_with_the_challenge(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    code = _last_code(session_factory)
    with session_factory() as s:
        [challenge] = s.scalars(select(OtpChallenge)).all()
    assert (challenge.requested_by, challenge.sent_to, challenge.attempts) == (NEW, ON_RECORD, 0)
    assert code not in challenge.code_hash
    assert code not in challenge.salt
    assert len(challenge.code_hash) == 64


def test_the_right_code_links_the_new_mobile_as_verified_with_an_audit_row(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)

    linked = confirm_link_otp(uow, NEW, _last_code(session_factory), via="sms", now=NOW + dt.timedelta(minutes=3))

    assert linked == ACCOUNT
    assert _linked(session_factory, NEW) == [ACCOUNT]
    with session_factory() as s:
        mobile = s.scalars(select(AccountMobile).where(AccountMobile.e164 == NEW)).one()
        assert (mobile.verified, mobile.added_via) == (True, "sms")
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "mobile.registered")).one()
        assert (audit.entity_id, audit.actor, audit.detail["mobile"]) == (ACCOUNT, "channel:sms", NEW)
        assert s.scalars(select(OtpChallenge)).one().used_at == NOW + dt.timedelta(minutes=3)


def test_a_code_links_once(account: str, uow: UnitOfWork, session_factory: Callable[[], Session]) -> None:
    _request(uow)
    code = _last_code(session_factory)
    confirm_link_otp(uow, NEW, code, via="sms", now=NOW)
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, NEW, code, via="sms", now=NOW)


def test_the_code_works_only_from_the_mobile_that_asked(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, OTHER, _last_code(session_factory), via="sms", now=NOW)
    assert _linked(session_factory, OTHER) == []


def test_each_wrong_code_says_how_many_tries_are_left_and_the_fifth_kills_the_challenge(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    code = _last_code(session_factory)
    left = []
    for _ in range(5):
        with pytest.raises(WrongOtp) as wrong:
            confirm_link_otp(uow, NEW, _wrong(code), via="sms", now=NOW)
        left.append(wrong.value.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, NEW, code, via="sms", now=NOW)
    assert _linked(session_factory, NEW) == []


def test_a_wrong_code_delivered_twice_by_the_provider_costs_one_try(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    code = _last_code(session_factory)
    left = []
    for request_id in ("sms:SM1", "sms:SM1", "sms:SM2"):
        with pytest.raises(WrongOtp) as wrong:
            confirm_link_otp(uow, NEW, _wrong(code), via="sms", now=NOW, request_id=request_id)
        left.append(wrong.value.attempts_left)
    assert left == [4, 4, 3]


def test_a_right_code_after_a_few_wrong_ones_still_links(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    code = _last_code(session_factory)
    for _ in range(4):
        with pytest.raises(WrongOtp):
            confirm_link_otp(uow, NEW, _wrong(code), via="sms", now=NOW)
    assert confirm_link_otp(uow, NEW, code, via="sms", now=NOW) == ACCOUNT


def test_the_code_expires_after_ten_minutes(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow)
    code = _last_code(session_factory)
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, NEW, code, via="sms", now=NOW + dt.timedelta(minutes=10))
    assert _linked(session_factory, NEW) == []
    assert confirm_link_otp(uow, NEW, code, via="sms", now=NOW + dt.timedelta(minutes=9, seconds=59)) == ACCOUNT


def test_only_the_latest_code_asked_for_counts(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow, request_id="SM1")
    first = _last_code(session_factory)
    _request(uow, request_id="SM2", now=NOW + dt.timedelta(minutes=1))
    latest = _last_code(session_factory)
    if first != latest:  # one in a million they are the same
        with pytest.raises(WrongOtp):
            confirm_link_otp(uow, NEW, first, via="sms", now=NOW + dt.timedelta(minutes=2))
    assert confirm_link_otp(uow, NEW, latest, via="sms", now=NOW + dt.timedelta(minutes=2)) == ACCOUNT


def test_an_older_code_does_not_come_back_when_the_newest_dies(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    _request(uow, request_id="SM1")
    first = _last_code(session_factory)
    _request(uow, request_id="SM2", now=NOW + dt.timedelta(minutes=1))
    latest = _last_code(session_factory)
    guesses = [g for g in (f"{n:06d}" for n in range(7)) if g not in (first, latest)][:5]
    for guess in guesses:
        with pytest.raises(WrongOtp):
            confirm_link_otp(uow, NEW, guess, via="sms", now=NOW + dt.timedelta(minutes=2))

    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, NEW, first, via="sms", now=NOW + dt.timedelta(minutes=3))
    assert _linked(session_factory, NEW) == []


def test_no_code_asked_for_is_no_pending_otp(account: str, uow: UnitOfWork) -> None:
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(uow, NEW, "123456", via="sms", now=NOW)


def test_the_same_request_delivered_twice_starts_one_challenge_and_sends_one_sms(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    first = _request(uow, request_id="SMdup")
    again = _request(uow, request_id="SMdup", now=NOW + dt.timedelta(seconds=30))

    assert again == first
    assert len(_otp_sms(session_factory)) == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OtpChallenge)) == 1


def test_a_mobile_may_ask_three_times_an_hour(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    for n in range(3):
        _request(uow, request_id=f"SM{n}", now=NOW + dt.timedelta(minutes=n))
    with pytest.raises(TooManyOtpRequests):
        _request(uow, request_id="SM3", now=NOW + dt.timedelta(minutes=30))
    assert len(_otp_sms(session_factory)) == 3
    # The retry of a request already answered is answered again, limit or not.
    assert _request(uow, request_id="SM0", now=NOW + dt.timedelta(minutes=30)).account_no == ACCOUNT
    # An hour after the first, one more may be asked for.
    _request(uow, request_id="SM4", now=NOW + dt.timedelta(minutes=60, seconds=1))
    assert len(_otp_sms(session_factory)) == 4


def test_an_account_gets_three_codes_an_hour_whoever_asks(
    account: str, uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    for n, mobile in enumerate(("+919811100001", "+919811100002", "+919811100003")):
        _request(uow, mobile, request_id=f"SM{n}")
    with pytest.raises(TooManyOtpRequests):
        _request(uow, "+919811100004", request_id="SM9")
    assert [sms.recipient for sms in _otp_sms(session_factory)] == [ON_RECORD] * 3


def test_an_account_with_no_mobile_on_record_cannot_get_a_code(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no=ACCOUNT)
    session.commit()
    with pytest.raises(NoMobileForAccount):
        _request(uow)
    assert _otp_sms(session_factory) == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OtpChallenge)) == 0


def test_a_closed_account_cannot_get_a_code(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no=ACCOUNT, mobiles=(ON_RECORD,), status="perm_disconnected")
    session.commit()
    with pytest.raises(AccountClosed):
        _request(uow)
    assert _otp_sms(session_factory) == []


def test_an_unknown_account_cannot_get_a_code(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownAccount):
        _request(uow, account_no="4939999999")


def test_an_account_holding_five_mobiles_refuses_before_sending_a_code(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    full = tuple(f"+91981110000{n}" for n in range(5))
    factories.account(session, account_no=ACCOUNT, mobiles=full)
    session.commit()
    with pytest.raises(TooManyMobiles):
        _request(uow)
    assert _otp_sms(session_factory) == []
