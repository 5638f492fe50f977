"""One-time passwords: linking a new mobile to an account by a code sent to the mobile already on record (SMS REG),
and the portal's codes (registration, a forgotten password, sign-in by mobile), answered by the browser that asked.

Every code has 6 digits, lives 10 minutes and survives 5 wrong tries; sends are capped per hour. Only a salted
SHA-256 of a code is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import accounts, login_throttle, notify
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
from cis.passwords import token_digest
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
    raced = False
    with uow:
        session = uow.session
        # Concurrent requests for one account, or from one mobile, take turns, so neither rate limit can be
        # raced past: the account's row locked (on SQLite the database's write lock), then the mobile's lock.
        account = session.execute(
            select(Account.id, Account.status).where(Account.account_no == number).with_for_update()
        ).first()
        if account is None:
            raise UnknownAccount(number)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"otp:{mobile}", 0))))
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
        expires_at = _issue(
            session,
            purpose=PURPOSE,
            account_id=account.id,
            requested_by=mobile,
            sent_to=recipient,
            template=TEMPLATE,
            dedupe_key=key,
            variables={"account": number},
            now=now,
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
    """Check `code` against the newest challenge `requested_by` started; link that mobile when it matches.

    Each try is counted (one conditional UPDATE, committed) before the code is compared, so however many
    arrive at once no more than 5 codes are ever compared per challenge, on PostgreSQL as on SQLite.
    Right code: the challenge is used and the mobile registered (verified, audited) in one transaction;
    returns the account number. Wrong code: WrongOtp says how many tries are left (none after the fifth:
    the challenge is dead). NoPendingOtp when the newest challenge from this mobile is used, expired or
    dead (an older one does not come back to life). AccountClosed or TooManyMobiles from the registration
    leave the challenge unused. A code arriving again under the same `request_id` (a provider's retry of
    one SMS) is compared again but not counted twice.
    """
    mobile = normalise_mobile(requested_by)
    given = code.strip()
    which = (OtpChallenge.requested_by == mobile, OtpChallenge.purpose == PURPOSE)
    counted = _count_try(uow, which, request_id[:100] if request_id else None, now)
    if not hmac.compare_digest(_digest(counted.salt, given), counted.code_hash):
        raise WrongOtp(MAX_ATTEMPTS - counted.attempts)
    with uow:
        session = uow.session
        _use(session, counted.id, now)  # the same code, sent twice at once, links once
        account_no = session.scalar(select(Account.account_no).where(Account.id == counted.account_id))
        if account_no is None:  # the foreign key makes this impossible; say so rather than link nothing
            raise RuntimeError(f"OTP challenge {counted.id} names no account")
        accounts.register_mobile(
            _Enclosed(session), account_no, mobile, via=via, actor=f"channel:{via}", verified=True, now=now
        )
        uow.commit()
    return account_no


@dataclass(frozen=True)
class _Counted:
    """A challenge after a try was counted against it: what comparing the code needs."""

    id: int
    account_id: int | None
    salt: str
    code_hash: str
    attempts: int
    sent_to: str


def _count_try(uow: UnitOfWork, which: tuple[ColumnElement[bool], ...], ref: str | None, now: dt.datetime) -> _Counted:
    """Count one try against the newest live challenge `which` selects (a mobile's REG, a portal ticket's) and
    commit it; NoPendingOtp when none.

    The count is one UPDATE whose condition (unused, unexpired, under 5 tries, not this `ref` already) the
    database checks against the row as it is when the update runs, so concurrent tries cannot both take the
    last place. An update that finds the row changed under it looks again: the challenge has died, or the
    same ref was counted meanwhile (then it is that provider retry, compared without counting).
    """
    table = OtpChallenge.__table__
    for _ in range(3):
        with uow:
            session = uow.session
            newest = session.execute(
                select(
                    OtpChallenge.id,
                    OtpChallenge.account_id,
                    OtpChallenge.salt,
                    OtpChallenge.code_hash,
                    OtpChallenge.attempts,
                    OtpChallenge.last_attempt_ref,
                    OtpChallenge.used_at,
                    OtpChallenge.sent_to,
                )
                .where(*which, OtpChallenge.expires_at > now)
                .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
                .limit(1)
            ).first()
            if newest is None or newest.used_at is not None or newest.attempts >= MAX_ATTEMPTS:
                raise NoPendingOtp()
            if ref is not None and newest.last_attempt_ref == ref:
                return _Counted(
                    newest.id, newest.account_id, newest.salt, newest.code_hash, newest.attempts, newest.sent_to
                )
            not_yet = or_(table.c.last_attempt_ref.is_(None), table.c.last_attempt_ref != ref) if ref else true()
            attempts = session.execute(
                update(table)
                .where(
                    table.c.id == newest.id,
                    table.c.used_at.is_(None),
                    table.c.expires_at > now,
                    table.c.attempts < MAX_ATTEMPTS,
                    not_yet,
                )
                .values(attempts=table.c.attempts + 1, last_attempt_ref=ref)
                .returning(table.c.attempts)
            ).scalar()
            uow.commit()
            if attempts is not None:
                return _Counted(
                    newest.id, newest.account_id, newest.salt, newest.code_hash, int(attempts), newest.sent_to
                )
    raise NoPendingOtp()


# --- a mobile proving itself: a new-connection applicant is not a consumer yet, so no mobile is on record ---


APPLY_PURPOSE = "apply"
APPLY_TEMPLATE = "otp.apply"


@dataclass(frozen=True)
class MobileOtpSent:
    """Where the code went (the mobile itself, last four digits only) and until when it is good."""

    sent_to_ending: str
    expires_at: dt.datetime


def request_mobile_otp(
    uow: UnitOfWork, raw_mobile: str, *, via: str, now: dt.datetime, request_id: str
) -> MobileOtpSent:
    """Send a 6-digit code to `raw_mobile` itself, so whoever types it back has shown the mobile is theirs.

    For people who are not consumers yet (a new-connection applicant): the code goes to the mobile given, which
    is why an application is only told by SMS to a mobile proven this way. The challenge (purpose "apply", no
    account) and its SMS ('otp.apply', priority 0, dropped after 10 minutes) commit together; the same request
    (`via`, `request_id`) twice sends one code. At most 3 codes an hour go to one mobile however they are asked
    for (TooManyOtpRequests): the web edge limits each address as well. Raises MalformedMobile.
    """
    mobile = normalise_mobile(raw_mobile)
    ref = (request_id or "").strip()
    if not ref or len(ref) > MAX_REQUEST_ID:
        raise ValueError(f"a request id has 1 to {MAX_REQUEST_ID} characters")
    key = f"{APPLY_TEMPLATE}:{via}:{ref}"
    first = _already_sent_to_mobile(uow, key)
    if first is not None:
        return first
    with uow:
        session = uow.session
        # Requests for one mobile take turns (PostgreSQL: an advisory lock; SQLite: the write lock a locking
        # read takes), so the hourly limit cannot be raced past.
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"otp:{mobile}", 0))))
        else:
            session.execute(select(OtpChallenge.id).where(OtpChallenge.requested_by == mobile).with_for_update())
        since = now - RATE_WINDOW
        sent = _count(
            session,
            OtpChallenge.requested_by == mobile,
            OtpChallenge.purpose == APPLY_PURPOSE,
            OtpChallenge.created_at > since,
        )
        if sent >= MAX_PER_MOBILE:
            raise TooManyOtpRequests(MAX_PER_MOBILE, RATE_WINDOW)
        expires_at = _issue(
            session,
            purpose=APPLY_PURPOSE,
            account_id=None,
            requested_by=mobile,
            sent_to=mobile,
            template=APPLY_TEMPLATE,
            dedupe_key=key,
            variables={},
            now=now,
        )
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            first = _already_sent_to_mobile(uow, key)
            if first is None:
                raise
            return first
    return MobileOtpSent(mobile[-4:], expires_at)


def check_mobile_otp(uow: UnitOfWork, raw_mobile: str, code: str, *, now: dt.datetime) -> int:
    """Count a try of `code` against the newest live "apply" challenge of the mobile; its id when the code is right.

    The try is counted and committed before the code is compared (5 a challenge, as for linking a mobile).
    The challenge stays unused: the caller spends it (`spend_mobile_otp`) in the transaction that acts on the
    proof, so a proof is used once. Raises WrongOtp (with the tries left) and NoPendingOtp.
    """
    mobile = normalise_mobile(raw_mobile)
    counted = _count_try(uow, (OtpChallenge.requested_by == mobile, OtpChallenge.purpose == APPLY_PURPOSE), None, now)
    if not hmac.compare_digest(_digest(counted.salt, code.strip()), counted.code_hash):
        raise WrongOtp(MAX_ATTEMPTS - counted.attempts)
    return counted.id


def spend_mobile_otp(session: Session, challenge_id: int, now: dt.datetime) -> None:
    """Mark a checked challenge used inside the caller's transaction; NoPendingOtp when it was used meanwhile."""
    _use(session, challenge_id, now)


def _use(session: Session, challenge_id: int, now: dt.datetime) -> None:
    """Mark the challenge used in the caller's transaction; NoPendingOtp when it is used, or expired, already."""
    used = session.execute(
        update(OtpChallenge.__table__)
        .where(OtpChallenge.id == challenge_id, OtpChallenge.used_at.is_(None), OtpChallenge.expires_at > now)
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise NoPendingOtp()


def _already_sent_to_mobile(uow: UnitOfWork, key: str) -> MobileOtpSent | None:
    with uow:
        row = uow.session.scalar(select(Outbox).where(Outbox.dedupe_key == key))
        if row is None:
            return None
        expires_at = row.expires_at if row.expires_at is not None else row.created_at + VALID_FOR
        return MobileOtpSent(row.recipient[-4:], expires_at)


def _issue(
    session: Session,
    *,
    purpose: str,
    account_id: int | None,
    requested_by: str,
    sent_to: str,
    template: str,
    dedupe_key: str,
    variables: dict[str, str],
    now: dt.datetime,
    ticket_hash: str | None = None,
) -> dt.datetime:
    """Add a new challenge (a fresh 6-digit code, only its salted digest kept) and queue its SMS (`template`,
    priority 0, dropped when the code expires) in the caller's transaction; when the code expires."""
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    expires_at = now + VALID_FOR
    session.add(
        OtpChallenge(
            purpose=purpose,
            account_id=account_id,
            requested_by=requested_by,
            sent_to=sent_to,
            salt=salt,
            code_hash=_digest(salt, code),
            attempts=0,
            created_at=now,
            expires_at=expires_at,
            ticket_hash=ticket_hash,
        )
    )
    notify.enqueue(
        session,
        channel="sms",
        template=template,
        recipient=sent_to,
        dedupe_key=dedupe_key,
        payload={**variables, "otp": code, "minutes": str(VALID_MINUTES)},
        at=now,
        account_id=account_id,
        priority=0,
        expires_at=expires_at,
    )
    return expires_at


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


# --- the portal's codes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeTicket:
    """What the browser that asked for a code keeps: the ticket that alone may answer it, the mobile the code went
    to (None for a decoy: nothing was sent, and no answer will ever match), and until when it is valid."""

    ticket: str
    sent_to: str | None
    expires_at: dt.datetime


@dataclass(frozen=True)
class CodeAnswered:
    """A portal code answered rightly (not yet used): the challenge, its account and the mobile it went to."""

    challenge_id: int
    account_id: int
    sent_to: str


def claim_send(uow: UnitOfWork, mobile: str, now: dt.datetime) -> None:
    """Count one portal code sent to `mobile` against its cap (3 an hour), committed; TooManyOtpRequests past it.

    Counted whether or not a code is then sent (a mobile or account that is not on record is counted the
    same), so how soon the cap is reached tells nothing about what is on record.
    """
    key = f"otp:{normalise_mobile(mobile)}"
    if not login_throttle.claim(uow, [(key, MAX_PER_MOBILE)], now, window=RATE_WINDOW):
        raise TooManyOtpRequests(MAX_PER_MOBILE, RATE_WINDOW)


def send_code(
    uow: UnitOfWork,
    *,
    purpose: str,
    account_id: int,
    mobile: str,
    template: str,
    variables: dict[str, str],
    now: dt.datetime,
) -> CodeTicket:
    """Send a fresh 6-digit code to `mobile` for `purpose` on the account: the challenge and its outbox SMS
    (`template`, priority 0, dropped after 10 minutes; its payload `variables` plus otp and minutes) commit
    together. Only the browser given the returned ticket can answer it (`answer_code`).

    The account's row is locked while its sends are counted, so concurrent requests cannot race past the cap:
    TooManyOtpRequests when the account had 3 codes (of any purpose, SMS REG included) in the last hour. Call
    `claim_send` for the mobile first.
    """
    e164 = normalise_mobile(mobile)
    ticket = secrets.token_urlsafe(32)
    ticket_hash = token_digest(ticket)
    with uow:
        session = uow.session
        locked = session.execute(select(Account.id).where(Account.id == account_id).with_for_update()).first()
        if locked is None:
            raise ValueError(f"no account has the id {account_id}")
        sent = _count(session, OtpChallenge.account_id == account_id, OtpChallenge.created_at > now - RATE_WINDOW)
        if sent >= MAX_PER_ACCOUNT:
            raise TooManyOtpRequests(MAX_PER_ACCOUNT, RATE_WINDOW)
        expires_at = _issue(
            session,
            purpose=purpose,
            account_id=account_id,
            requested_by=e164,
            sent_to=e164,
            template=template,
            dedupe_key=f"{template}:{purpose}:{ticket_hash}",
            variables=variables,
            now=now,
            ticket_hash=ticket_hash,
        )
        uow.commit()
    return CodeTicket(ticket, e164, expires_at)


def decoy_ticket(now: dt.datetime) -> CodeTicket:
    """A ticket for a request that sent nothing (details not on record), shaped like a real one: the page that
    asks for its code looks the same, and every answer to it is NoPendingOtp."""
    return CodeTicket(secrets.token_urlsafe(32), None, now + VALID_FOR)


def answer_code(uow: UnitOfWork, ticket: str, code: str, *, purpose: str, now: dt.datetime) -> CodeAnswered:
    """Check `code` against the challenge of `ticket` for `purpose`; the caller then `use_code`s it in the
    transaction that acts on it.

    Each try is counted (one conditional UPDATE, committed) before the code is compared, so however many
    arrive at once no more than 5 codes are ever compared per challenge. WrongOtp says how many tries are
    left; NoPendingOtp for an unknown ticket (a decoy), a used, expired or dead challenge.
    """
    if not ticket or len(ticket) > 100:
        raise NoPendingOtp()
    which = (OtpChallenge.ticket_hash == token_digest(ticket), OtpChallenge.purpose == purpose)
    counted = _count_try(uow, which, None, now)
    given = (code or "").strip()[: CODE_DIGITS + 4]
    if not hmac.compare_digest(_digest(counted.salt, given), counted.code_hash):
        raise WrongOtp(MAX_ATTEMPTS - counted.attempts)
    return CodeAnswered(counted.id, counted.account_id, counted.sent_to)


def use_code(session: Session, answered: CodeAnswered, now: dt.datetime) -> None:
    """Spend a rightly answered code inside the caller's transaction: a code acts once (NoPendingOtp when the same
    code was spent meanwhile, or it has expired)."""
    _use(session, answered.challenge_id, now)


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
