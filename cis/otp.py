"""One-time passwords: linking a new mobile to an account by a code sent to the mobile already on record."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import accounts, notify
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
from cis.models import Account, OtpChallenge, Outbox
from cis.models.accounts import MAX_MOBILES_PER_ACCOUNT
from cis.numbers import parse_account_no
from cis.phones import normalise_mobile

PURPOSE = "register"
TEMPLATE = "otp.register"
CODE_DIGITS = 6
VALID_MINUTES = 10
VALID_FOR = dt.timedelta(minutes=VALID_MINUTES)
MAX_ATTEMPTS = 5  # wrong codes a challenge survives; then it is dead and a new REG is needed
RATE_WINDOW = dt.timedelta(hours=1)
MAX_PER_MOBILE = 3  # challenges one requesting mobile may start in RATE_WINDOW
MAX_PER_ACCOUNT = 3  # challenges one account may receive in RATE_WINDOW: the mobile on record is not spammed
MAX_REQUEST_ID = 100


@dataclass(frozen=True)
class OtpSent:
    """What the requester may be told: the account, where the code went (last four digits only), until when."""

    account_no: str
    sent_to_ending: str
    expires_at: dt.datetime


def request_link_otp(
    uow: UnitOfWork,
    account_no: str,
    requested_by: str,
    *,
    via: str,
    now: dt.datetime,
    request_id: str,
) -> OtpSent:
    """Send a 6-digit code to the account's mobile on record (verified first) so `requested_by` can be linked.

    The challenge row and its outbox SMS (template 'otp.register', priority 0, dropped after 10 minutes)
    commit together; only a salted SHA-256 of the code is kept beside the challenge. The outbox dedupe
    key holds (via, request_id): the same request delivered twice starts one challenge and sends one SMS,
    and the retry gets the first answer back, even past the rate limit.
    Raises MalformedAccountNumber, MalformedMobile, UnknownAccount, AccountClosed, NoMobileForAccount
    (nobody to send the code to), TooManyMobiles (the account is full, so linking would fail anyway) and
    TooManyOtpRequests (3 challenges an hour per requesting mobile, 3 an hour per account).
    """
    number = parse_account_no(account_no)
    mobile = normalise_mobile(requested_by)
    ref = (request_id or "").strip()
    if not ref or len(ref) > MAX_REQUEST_ID:
        raise ValueError(f"a request id has 1 to {MAX_REQUEST_ID} characters")
    key = f"{TEMPLATE}:{via}:{ref}"
    first = _already_sent(uow, key)
    if first is not None:
        return first
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    expires_at = now + VALID_FOR
    raced = False
    with uow:
        session = uow.session
        # Locking the account serialises concurrent requests for it, so its rate limit cannot be raced past.
        account = session.execute(
            select(Account.id, Account.status).where(Account.account_no == number).with_for_update()
        ).first()
        if account is None:
            raise UnknownAccount(number)
        if account.status == "perm_disconnected":
            raise AccountClosed(number)
        on_record = notify.account_mobiles(session, account.id)
        if not on_record:
            raise NoMobileForAccount(number)
        if mobile not in on_record and len(on_record) >= MAX_MOBILES_PER_ACCOUNT:
            raise TooManyMobiles(number, MAX_MOBILES_PER_ACCOUNT)
        since = now - RATE_WINDOW
        by_mobile = _count(session, OtpChallenge.requested_by == mobile, OtpChallenge.created_at > since)
        by_account = _count(session, OtpChallenge.account_id == account.id, OtpChallenge.created_at > since)
        if by_mobile >= MAX_PER_MOBILE:
            raise TooManyOtpRequests(MAX_PER_MOBILE, RATE_WINDOW)
        if by_account >= MAX_PER_ACCOUNT:
            raise TooManyOtpRequests(MAX_PER_ACCOUNT, RATE_WINDOW)
        recipient = on_record[0]
        session.add(
            OtpChallenge(
                purpose=PURPOSE,
                account_id=account.id,
                requested_by=mobile,
                sent_to=recipient,
                salt=salt,
                code_hash=_digest(salt, code),
                attempts=0,
                created_at=now,
                expires_at=expires_at,
            )
        )
        notify.enqueue(
            session,
            channel="sms",
            template=TEMPLATE,
            recipient=recipient,
            dedupe_key=key,
            payload={"otp": code, "account": number, "minutes": str(VALID_MINUTES)},
            at=now,
            account_id=account.id,
            priority=0,
            expires_at=expires_at,
        )
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            raced = True
    if raced:
        # The same request's retry committed its challenge and SMS first: that one code is the code.
        first = _already_sent(uow, key)
        if first is None:
            raise RuntimeError(f"the outbox row {key} clashed but cannot be found")
        return first
    return OtpSent(number, recipient[-4:], expires_at)


def confirm_link_otp(
    uow: UnitOfWork, requested_by: str, code: str, *, via: str, now: dt.datetime, request_id: str | None = None
) -> str:
    """Check `code` against the latest live challenge `requested_by` started; link that mobile when it matches.

    Right code: the challenge is used and the mobile registered (verified, audited) in one transaction;
    returns the account number. Wrong code: the attempt is counted and committed, then WrongOtp says how
    many are left (none after the fifth: the challenge is dead). NoPendingOtp when no challenge from this
    mobile is unused, unexpired and alive. AccountClosed or TooManyMobiles from the registration leave
    the challenge unused. A wrong code arriving again under the same `request_id` (a provider's retry of
    one SMS) is not counted twice.
    """
    mobile = normalise_mobile(requested_by)
    given = code.strip()
    with uow:
        session = uow.session
        challenge = session.scalar(
            select(OtpChallenge)
            .where(
                OtpChallenge.requested_by == mobile,
                OtpChallenge.purpose == PURPOSE,
                OtpChallenge.used_at.is_(None),
                OtpChallenge.expires_at > now,
                OtpChallenge.attempts < MAX_ATTEMPTS,
            )
            .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
            .limit(1)
            .with_for_update()
        )
        if challenge is None:
            raise NoPendingOtp()
        if not hmac.compare_digest(_digest(challenge.salt, given), challenge.code_hash):
            if request_id is None or challenge.last_attempt_ref != request_id[:100]:
                challenge.attempts += 1
                challenge.last_attempt_ref = request_id[:100] if request_id else None
            left = MAX_ATTEMPTS - challenge.attempts
            uow.commit()
            raise WrongOtp(left)
        account_no = session.scalar(select(Account.account_no).where(Account.id == challenge.account_id))
        if account_no is None:  # the foreign key makes this impossible; say so rather than link nothing
            raise RuntimeError(f"OTP challenge {challenge.id} names no account")
        challenge.used_at = now
        accounts.register_mobile(
            _Enclosed(session), account_no, mobile, via=via, actor=f"channel:{via}", verified=True, now=now
        )
        uow.commit()
    return account_no


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256((salt + code).encode("utf-8")).hexdigest()


def _count(session: Session, *conditions: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(OtpChallenge).where(*conditions)) or 0)


def _already_sent(uow: UnitOfWork, key: str) -> OtpSent | None:
    """The answer given to the request that queued the OTP under `key`, if one did."""
    with uow:
        row = uow.session.scalar(select(Outbox).where(Outbox.dedupe_key == key))
        if row is None:
            return None
        expires_at = row.expires_at if row.expires_at is not None else row.created_at + VALID_FOR
        return OtpSent(str(row.payload["account"]), row.recipient[-4:], expires_at)


class _Enclosed(UnitOfWork):
    """An open transaction lent to another use case, so its changes commit or roll back with the lender's.

    Its commit only flushes, and leaving it neither rolls back nor closes: the lender decides both.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(lambda: session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._session = None

    def commit(self) -> None:
        self.session.flush()
