"""Consumers on the portal: register with an account and a bill number, sign in by password or by mobile OTP,
recover a forgotten password, and the revocable sessions that follow.

What these promise, whichever way they fail:
- No answer says whether an account exists: an unknown account and a wrong bill number (or password) get the same
  error after the same work; a forgotten password or a sign-in by mobile that names nothing on record goes on to a
  code page like any other (a decoy ticket no code will ever match).
- Password tries are counted before any hash is checked (5 failures lock the account for 15 minutes, 20 lock an
  address), with one conditional UPDATE, so concurrent guesses cannot pass the limit; every try checks one hash.
- Codes are those of `cis.otp`: 6 digits, 10 minutes, 5 tries, 3 sends an hour to a mobile and to an account;
  only the browser that asked holds the ticket that may answer one.
- A session token is random, given out once and stored only as its SHA-256; a session ends at sign-out, after
  30 minutes unused (a setting), 12 hours after sign-in, or when the account's password is set anew.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from cis import audit
from cis.accounts import find_account
from cis.db import UnitOfWork, reads_only
from cis.errors import (
    NoPendingOtp,
    NotYourAccount,
    NoVerifiedMobile,
    RegistrationMismatch,
    TooManySignInTries,
    WrongAccountPassword,
)
from cis.login_throttle import WINDOW, Throttle, address_of, claim_try, settle
from cis.models import Account, AccountMobile, Bill, Consumer, ConsumerLogin, ConsumerSession
from cis.numbers import bill_id_for_no, parse_account_no
from cis.otp import (
    CodeTicket,
    answer_code,
    claim_send,
    decoy_ticket,
    send_code,
    use_code,
)
from cis.passwords import HASHER, PasswordHasher, check_new_password, new_token, token_digest
from cis.phones import normalise_mobile

PURPOSE_REGISTER = "portal_register"
PURPOSE_RESET = "portal_reset"
PURPOSE_LOGIN = "portal_login"
PASSWORD_TEMPLATE = "otp.password"  # "{otp} is your OTP to set the ... portal password of A/c {account} ..."
LOGIN_TEMPLATE = "otp.login"
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
BILL_WINDOW = dt.timedelta(days=365)  # registration takes the number of any bill of the last 12 months
DEFAULT_IDLE = dt.timedelta(minutes=30)  # URJA_PORTAL_IDLE_MINUTES
SESSION_LIFETIME = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often per session
_TOKEN_MAX = 200  # a cookie's token longer than this is not ours
_LOCK_MINUTES = int(WINDOW.total_seconds() // 60)


@dataclass(frozen=True)
class OtpStep:
    """What the page asking for a code keeps and shows: the browser's ticket, the masked mobile the code went to
    (None where showing it would tell what is on record), and until when the code is valid."""

    ticket: str
    hint: str | None
    expires_at: dt.datetime


@dataclass(frozen=True)
class PasswordSet:
    """A password set by a code: the account it is for (sign the browser in on it) and the mobile that proved it."""

    account_id: int
    account_no: str
    mobile: str


@dataclass(frozen=True)
class MobileProven:
    """A sign-in by mobile OTP: the mobile, and the account to show first (its lowest account number)."""

    mobile: str
    account_id: int
    account_no: str


@dataclass(frozen=True)
class SignedIn:
    """Who is signed in on a session: the account shown now, and the mobile proven by OTP (None for a password)."""

    session_id: int
    account_id: int
    account_no: str
    name: str
    name_hi: str | None
    mobile: str | None


@dataclass(frozen=True)
class AccountChoice:
    """An account a session may switch to, as the chooser lists it (no full name, no full address)."""

    account_no: str
    masked_name: str
    category: str
    status: str


def mask_hint(e164: str) -> str:
    """A mobile as a page may show it to whoever typed an account number: "******8113"."""
    return "******" + e164[-4:]


def masked_name(name: str) -> str:
    """A name as a page shows it to the signed-in consumer (and whoever looks over a shoulder): "Ra**** Ve***"."""
    parts = [p[:2] + "*" * max(1, len(p) - 2) if len(p) > 1 else p for p in name.split()]
    return " ".join(parts)


def _throttle(kind: str, account_no: str, remote_addr: str | None) -> Throttle:
    address = address_of(remote_addr)
    return Throttle(
        name_key=f"{kind}:{account_no}",
        name_limit=MAX_FAILURES_PER_ACCOUNT,
        address_key=f"portal:{address}",
        address_limit=MAX_FAILURES_PER_ADDRESS,
        log_as=f"{kind}:{account_no}",
        address=address,
    )


# --- registration and recovery ----------------------------------------------------------------------------


def start_registration(
    uow: UnitOfWork, account_no: str, bill_no: str, *, remote_addr: str | None, now: dt.datetime
) -> OtpStep:
    """Registration's first step: the account number and the number of any of its bills of the last 12 months
    → a code by SMS (template otp.password) to the account's oldest verified mobile; returns its ticket and hint.

    Raises MalformedAccountNumber or MalformedBillNumber for text that cannot be one; RegistrationMismatch for an
    unknown account, a bill of another account, an older or unknown bill (the same error after the same one
    query, counted like a wrong password: 5 an account, 20 an address, in 15 minutes, then TooManySignInTries);
    NoVerifiedMobile when they match but no verified mobile is on record (register one at the office or by SMS
    REG); TooManyOtpRequests past the hourly caps. Registering again later sets a new password the same way.
    """
    number = parse_account_no(account_no)
    bill_id = bill_id_for_no(bill_no)
    throttle = _throttle("register", number, remote_addr)
    if not claim_try(uow, throttle, now):
        raise TooManySignInTries(_LOCK_MINUTES)
    with uow:
        row = uow.session.execute(
            select(Account.id, AccountMobile.e164)
            .join(Bill, and_(Bill.account_id == Account.id, Bill.id == bill_id, Bill.issued_at > now - BILL_WINDOW))
            .outerjoin(AccountMobile, and_(AccountMobile.account_id == Account.id, AccountMobile.verified))
            .where(Account.account_no == number)
            .order_by(AccountMobile.id)
            .limit(1)
        ).first()
    settle(uow, throttle, row is not None, now)
    if row is None:
        raise RegistrationMismatch()
    if row.e164 is None:
        raise NoVerifiedMobile(number)
    claim_send(uow, row.e164, now)
    ticket = send_code(
        uow,
        purpose=PURPOSE_REGISTER,
        account_id=row.id,
        mobile=row.e164,
        template=PASSWORD_TEMPLATE,
        variables={"account": number},
        now=now,
    )
    return OtpStep(ticket.ticket, mask_hint(row.e164), ticket.expires_at)


def finish_registration(
    uow: UnitOfWork,
    ticket: str,
    code: str,
    password: str,
    *,
    now: dt.datetime,
    hasher: PasswordHasher = HASHER,
) -> PasswordSet:
    """Registration's last step: the code sent by `start_registration` (its ticket) and the new password.

    The password must pass `cis.passwords.check_new_password` (WeakPassword; checked before the code, so a weak
    one costs no try, and again for the account number once the code names the account); then the code is
    spent, the password's hash stored, every session of the account ended and an audit row written, in one
    transaction. WrongOtp / NoPendingOtp as `cis.otp.answer_code`.
    """
    return _set_by_code(uow, ticket, code, password, PURPOSE_REGISTER, "portal.registered", now, hasher)


def start_reset(uow: UnitOfWork, account_no: str, mobile: str, *, remote_addr: str | None, now: dt.datetime) -> OtpStep:
    """A forgotten password: the account number and the registered mobile → a code by SMS to that mobile when it
    is verified on that account; otherwise nothing is sent, and the answer is the same (a decoy ticket).

    MalformedAccountNumber / MalformedMobile for text that cannot be one; TooManyOtpRequests when the mobile was
    asked for 3 codes in the hour (counted whether or not anything was sent) or the account got 3.
    An account not yet registered on the portal gets its first password this way (the mobile proves it).
    """
    number = parse_account_no(account_no)
    e164 = normalise_mobile(mobile)
    claim_send(uow, e164, now)
    with uow:
        account_id = uow.session.scalar(
            select(Account.id)
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .where(Account.account_no == number, AccountMobile.e164 == e164, AccountMobile.verified)
        )
    if account_id is None:
        decoy = decoy_ticket(now)
        return OtpStep(decoy.ticket, None, decoy.expires_at)
    ticket = send_code(
        uow,
        purpose=PURPOSE_RESET,
        account_id=account_id,
        mobile=e164,
        template=PASSWORD_TEMPLATE,
        variables={"account": number},
        now=now,
    )
    return OtpStep(ticket.ticket, None, ticket.expires_at)


def finish_reset(
    uow: UnitOfWork,
    ticket: str,
    code: str,
    password: str,
    *,
    now: dt.datetime,
    hasher: PasswordHasher = HASHER,
) -> PasswordSet:
    """A forgotten password's last step: as `finish_registration`, for the code `start_reset` sent. Every session
    of the account ends (whoever knew the old password is signed out)."""
    return _set_by_code(uow, ticket, code, password, PURPOSE_RESET, "portal.password_reset", now, hasher)


def _set_by_code(
    uow: UnitOfWork,
    ticket: str,
    code: str,
    password: str,
    purpose: str,
    action: str,
    now: dt.datetime,
    hasher: PasswordHasher,
) -> PasswordSet:
    check_new_password(password)
    answered = answer_code(uow, ticket, code, purpose=purpose, now=now)
    with uow:
        number = uow.session.scalar(select(Account.account_no).where(Account.id == answered.account_id))
    if number is None:  # the foreign key makes this impossible
        raise NoPendingOtp()
    check_new_password(password, account_no=number, mobile=answered.sent_to)
    hashed = hasher.hash(password)
    with uow:
        session = uow.session
        use_code(session, answered, now)
        _store_password(session, answered.account_id, hashed, now)
        ended = _revoke_all(session, answered.account_id, now)
        audit.record(
            session,
            actor="consumer:portal",
            action=action,
            entity="account",
            entity_id=number,
            at=now,
            mobile=answered.sent_to,
            sessions_ended=ended,
        )
        uow.commit()
    return PasswordSet(answered.account_id, number, answered.sent_to)


def _store_password(session: Session, account_id: int, hashed: str, now: dt.datetime) -> None:
    login = session.scalar(select(ConsumerLogin).where(ConsumerLogin.account_id == account_id).with_for_update())
    if login is None:
        session.add(
            ConsumerLogin(
                account_id=account_id,
                password_hash=hashed,
                created_at=now,
                updated_at=now,
                password_changed_at=now,
            )
        )
    else:
        login.password_hash = hashed
        login.updated_at = now
        login.password_changed_at = now


def set_password(
    uow: UnitOfWork,
    account_no: str,
    password: str,
    *,
    actor: str,
    now: dt.datetime,
    hasher: PasswordHasher = HASHER,
) -> int:
    """Give an account a portal password from the office or the command line (the demo consumer of `urjamitra
    up`): the same rules, every session of the account ended, audited. Returns the sessions ended.
    Raises MalformedAccountNumber, UnknownAccount, WeakPassword."""
    ref = find_account(uow, account_no)
    check_new_password(password, account_no=ref.account_no)
    hashed = hasher.hash(password)
    with uow:
        session = uow.session
        _store_password(session, ref.id, hashed, now)
        ended = _revoke_all(session, ref.id, now)
        audit.record(
            session, actor=actor, action="portal.password_set", entity="account", entity_id=ref.account_no, at=now
        )
        uow.commit()
    return ended


# --- signing in ------------------------------------------------------------------------------------------


def sign_in_password(
    uow: UnitOfWork,
    account_no: str,
    password: str,
    *,
    remote_addr: str | None,
    now: dt.datetime,
    hasher: PasswordHasher = HASHER,
) -> int:
    """The account id whose number and portal password these are; every checked try is recorded in
    `login_attempt` (as `account:<no>`).

    TooManySignInTries when 5 tries for the account, or 20 from the address, were checked in the current
    15-minute window (then even the right password is refused; a success starts the account's count afresh);
    WrongAccountPassword for an unknown account, one not registered, an empty or a wrong password. Each of these
    paths checks exactly one password hash. MalformedAccountNumber for text that is not 10 digits.
    """
    number = parse_account_no(account_no)
    throttle = _throttle("account", number, remote_addr)
    claimed = claim_try(uow, throttle, now)
    with uow:
        row = uow.session.execute(
            select(Account.id, ConsumerLogin.password_hash)
            .join(ConsumerLogin, ConsumerLogin.account_id == Account.id)
            .where(Account.account_no == number)
        ).first()
    stored = row.password_hash if row is not None else None
    matched = hasher.verify(stored or hasher.dummy_hash(), password)
    if not claimed:
        raise TooManySignInTries(_LOCK_MINUTES)
    ok = row is not None and bool(password) and matched
    settle(uow, throttle, ok, now)
    if not ok or row is None:
        raise WrongAccountPassword()
    return int(row.id)


def _first_account_of(session: Session, e164: str) -> tuple[int, str] | None:
    row = session.execute(
        select(Account.id, Account.account_no)
        .join(AccountMobile, AccountMobile.account_id == Account.id)
        .where(AccountMobile.e164 == e164, AccountMobile.verified)
        .order_by(Account.account_no)
        .limit(1)
    ).first()
    return None if row is None else (int(row.id), str(row.account_no))


def sign_in_otp(uow: UnitOfWork, mobile: str, *, now: dt.datetime) -> OtpStep:
    """Sign-in by mobile: a code by SMS (template otp.login) when the mobile is verified on some account; else
    nothing is sent and the answer is the same (a decoy ticket). MalformedMobile; TooManyOtpRequests past 3
    codes an hour to the mobile (counted either way) or to its first account."""
    e164 = normalise_mobile(mobile)
    claim_send(uow, e164, now)
    with uow:
        first = _first_account_of(uow.session, e164)
    if first is None:
        ticket: CodeTicket = decoy_ticket(now)
    else:
        ticket = send_code(
            uow, purpose=PURPOSE_LOGIN, account_id=first[0], mobile=e164, template=LOGIN_TEMPLATE, variables={}, now=now
        )
    return OtpStep(ticket.ticket, None, ticket.expires_at)


def confirm_sign_in_otp(uow: UnitOfWork, ticket: str, code: str, *, now: dt.datetime) -> MobileProven:
    """The code `sign_in_otp` sent, answered: the mobile is proven and the first of its accounts is the one to
    show. WrongOtp / NoPendingOtp as `cis.otp.answer_code` (a decoy's ticket is always NoPendingOtp), and
    NoPendingOtp too when the mobile has meanwhile lost its last account."""
    answered = answer_code(uow, ticket, code, purpose=PURPOSE_LOGIN, now=now)
    with uow:
        session = uow.session
        use_code(session, answered, now)
        first = _first_account_of(session, answered.sent_to)
        if first is None:
            raise NoPendingOtp()
        uow.commit()
    return MobileProven(answered.sent_to, first[0], first[1])


# --- sessions ----------------------------------------------------------------------------------------------


def _revoke_all(session: Session, account_id: int, now: dt.datetime) -> int:
    result = session.execute(
        update(ConsumerSession.__table__)
        .where(ConsumerSession.account_id == account_id, ConsumerSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def start_session(
    uow: UnitOfWork, account_id: int, *, mobile: str | None = None, remote_addr: str | None, now: dt.datetime
) -> str:
    """A new session on the account (and the mobile an OTP proved, if any): the random token for the cookie,
    given out this once (only its hash is stored). Call it at every sign-in, so the token changes then.

    The account's sessions past their 12 hours are deleted on the way, so the table stays small.
    """
    token = new_token()
    with uow:
        session = uow.session
        session.execute(
            delete(ConsumerSession).where(
                ConsumerSession.account_id == account_id, ConsumerSession.created_at <= now - SESSION_LIFETIME
            )
        )
        session.add(
            ConsumerSession(
                token_hash=token_digest(token),
                account_id=account_id,
                mobile=normalise_mobile(mobile) if mobile else None,
                remote_addr=address_of(remote_addr),
                created_at=now,
                last_seen_at=now,
            )
        )
        uow.commit()
    return token


@functools.cache
def _session_lookup() -> Select[Any]:
    """The statement of `session_account`, built once (every portal request runs it; building it cost as much
    as running it): the session by its token's digest, its account and consumer, whether its mobile is linked."""
    linked = exists().where(
        AccountMobile.account_id == ConsumerSession.account_id,
        AccountMobile.e164 == ConsumerSession.mobile,
        AccountMobile.verified,
    )
    return (
        select(
            ConsumerSession.id,
            ConsumerSession.account_id,
            ConsumerSession.mobile,
            ConsumerSession.created_at,
            ConsumerSession.last_seen_at,
            ConsumerSession.revoked_at,
            Account.account_no,
            Consumer.name,
            Consumer.name_hi,
            linked.label("linked"),
        )
        .join(Account, Account.id == ConsumerSession.account_id)
        .join(Consumer, Consumer.id == Account.consumer_id)
        .where(ConsumerSession.token_hash == bindparam("digest"))
    )


def session_account(
    session_factory: Callable[[], Session], token: str, *, now: dt.datetime, idle: dt.timedelta = DEFAULT_IDLE
) -> SignedIn | None:
    """Who a session token is signed in as, or None: unknown, ended (sign-out, a new password), unused for
    `idle`, older than 12 hours, or on a mobile no longer verified on the account it shows. Using it keeps it
    alive (to the minute). One indexed lookup."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    with reads_only(session_factory()) as session:  # one statement (and a rare touch, which stands by itself)
        # Columns on the session's connection, not an ORM object: every portal request runs this.
        live = session.connection().execute(_session_lookup(), {"digest": token_digest(token)}).first()
        if live is None:
            return None
        if (
            live.revoked_at is not None
            or live.created_at <= now - SESSION_LIFETIME
            or live.last_seen_at <= now - idle
            or (live.mobile is not None and not live.linked)
        ):
            return None
        if now - live.last_seen_at >= _TOUCH_EVERY:
            session.execute(
                update(ConsumerSession.__table__)
                .where(ConsumerSession.id == live.id, ConsumerSession.revoked_at.is_(None))
                .values(last_seen_at=now)
            )
            session.commit()
        return SignedIn(live.id, live.account_id, live.account_no, live.name, live.name_hi, live.mobile)


def end_session(uow: UnitOfWork, token: str, *, now: dt.datetime) -> None:
    """Sign-out: the session of this token is revoked (a copy of its cookie opens nothing any more)."""
    if not token or len(token) > _TOKEN_MAX:
        return
    with uow:
        uow.session.execute(
            update(ConsumerSession.__table__)
            .where(ConsumerSession.token_hash == token_digest(token), ConsumerSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        uow.commit()


def switchable_accounts(uow: UnitOfWork, signed_in: SignedIn) -> list[AccountChoice]:
    """The accounts this session may show, by account number: those its proven mobile is verified on, or (signed
    in by password) its own account alone."""
    query = select(Account.account_no, Consumer.name, Account.category, Account.status).join(
        Consumer, Consumer.id == Account.consumer_id
    )
    if signed_in.mobile is None:
        query = query.where(Account.id == signed_in.account_id)
    else:
        query = query.join(AccountMobile, AccountMobile.account_id == Account.id).where(
            AccountMobile.e164 == signed_in.mobile, AccountMobile.verified
        )
    with uow:
        rows = uow.session.execute(query.order_by(Account.account_no)).all()
    return [AccountChoice(r.account_no, masked_name(r.name), r.category, r.status) for r in rows]


def switch_account(uow: UnitOfWork, token: str, account_no: str, *, now: dt.datetime) -> int:
    """Show another account on this session: one its proven mobile is verified on, or its own. Returns the account
    id. NotYourAccount otherwise (also for an unknown account, or a session that has ended);
    MalformedAccountNumber for text that is not 10 digits."""
    number = parse_account_no(account_no)
    if not token or len(token) > _TOKEN_MAX:
        raise NotYourAccount()
    with uow:
        session = uow.session
        live = session.scalar(
            select(ConsumerSession).where(
                ConsumerSession.token_hash == token_digest(token), ConsumerSession.revoked_at.is_(None)
            )
        )
        target = session.scalar(select(Account.id).where(Account.account_no == number))
        if live is None or target is None:
            raise NotYourAccount()
        allowed = target == live.account_id or (
            live.mobile is not None
            and session.scalar(
                select(AccountMobile.id).where(
                    AccountMobile.account_id == target, AccountMobile.e164 == live.mobile, AccountMobile.verified
                )
            )
            is not None
        )
        if not allowed:
            raise NotYourAccount()
        live.account_id = target
        live.last_seen_at = now
        uow.commit()
    return int(target)
