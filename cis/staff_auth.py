"""Staff sign-in: passwords checked against the staff table with tries counted atomically, and revocable sessions."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cis import audit
from cis.db import UnitOfWork
from cis.errors import CisError
from cis.login_throttle import WINDOW, Throttle, address_of, claim_try, settle
from cis.models import Staff, StaffSession
from cis.passwords import HASHER, PasswordHasher, token_digest
from cis.passwords import WerkzeugHasher as WerkzeugHasher  # where the staff's tests and benches find it

MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
NO_PASSWORD = "!"  # a staff row with this hash exists but cannot sign in
SESSION_LIFETIME = dt.timedelta(hours=12)  # a shift: a session ends 12 hours after sign-in whatever its use
DEFAULT_IDLE = dt.timedelta(minutes=30)  # ... and after this long unused (URJA_STAFF_IDLE_MINUTES)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often per session
_USERNAME_LEN = 40
_TOKEN_MAX = 200  # a cookie's token longer than this is not ours


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    """The hash to store in `staff.password_hash` for `password`."""
    return hasher.hash(password)


@dataclass(frozen=True)
class StaffRef:
    """Who signed in: what a view needs to decide what they may see and do."""

    id: int
    username: str
    name: str
    role: str
    scope_level: str | None
    scope_id: int | None


class WrongCredentials(CisError):
    """The username and password do not match an active staff member (which of the two is not said)."""

    def __init__(self) -> None:
        super().__init__("The username or password is not correct.")


class TooManyFailedLogins(CisError):
    """Too many failed sign-ins lately for this username or from this address: wait before trying again."""

    def __init__(self, window: dt.timedelta) -> None:
        minutes = int(window.total_seconds() // 60)
        super().__init__(
            f"Too many failed sign-ins. For your security sign-in is paused: please try again in {minutes} minutes, "
            "or ask the administrator to reset your password."
        )
        self.window = window


class UnknownStaff(CisError):
    """No staff member has this username."""

    def __init__(self, username: str) -> None:
        super().__init__(f"No staff member is called {username!r}.")


def _staff_ref(staff: Staff) -> StaffRef:
    return StaffRef(staff.id, staff.username, staff.name, staff.role, staff.scope_level, staff.scope_id)


def normalise_username(username: str) -> str:
    """Usernames are compared without regard to case or runs of spaces."""
    return " ".join(username.split()).lower()[:_USERNAME_LEN]


def _throttle(name: str, address: str) -> Throttle:
    return Throttle(
        name_key=f"user:{name}",
        name_limit=MAX_FAILURES_PER_USERNAME,
        address_key=f"addr:{address}",
        address_limit=MAX_FAILURES_PER_ADDRESS,
        log_as=name,
        address=address,
    )


def authenticate(
    uow: UnitOfWork,
    username: str,
    password: str,
    remote_addr: str,
    *,
    now: dt.datetime,
    hasher: PasswordHasher = HASHER,
) -> StaffRef:
    """The active staff member whose username and password these are; every checked try is recorded in
    `login_attempt`.

    Raises TooManyFailedLogins when 5 tries for the username, or 20 from the address, were checked in the
    current 15-minute window (then even the right password is refused, so guessing stops; a success starts
    the username's count afresh), and WrongCredentials for an unknown or inactive username, a staff member
    without a password, an empty or a wrong password. Every one of these paths checks exactly one password
    hash, so how long the answer takes does not tell which it was. Usernames are matched without regard to
    case.
    """
    name = normalise_username(username)
    address = address_of(remote_addr)
    throttle = _throttle(name, address)
    claimed = claim_try(uow, throttle, now)
    with uow:
        staff = uow.session.scalars(select(Staff).where(func.lower(Staff.username) == name)).first() if name else None
        ref = _staff_ref(staff) if staff is not None and staff.active else None
        stored = staff.password_hash if staff is not None else None
    usable = bool(stored) and stored != NO_PASSWORD
    matched = hasher.verify(stored if usable and stored else hasher.dummy_hash(), password)
    if not claimed:
        raise TooManyFailedLogins(WINDOW)
    ok = ref is not None and usable and bool(password) and matched
    settle(uow, throttle, ok, now)
    if not ok or ref is None:
        raise WrongCredentials()
    return ref


# --- sessions ----------------------------------------------------------------------------------------


def _revoke_all(session: Session, staff_id: int, now: dt.datetime) -> int:
    result = session.execute(
        update(StaffSession.__table__)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def start_session(uow: UnitOfWork, staff: StaffRef, *, remote_addr: str, now: dt.datetime) -> str:
    """A new session for `staff`: the random token for the cookie (only its hash is stored).

    The staff member's sessions past their 12 hours are deleted on the way, so the table holds no more
    than a shift's sign-ins.
    """
    token = secrets.token_urlsafe(32)
    with uow:
        session = uow.session
        session.execute(
            delete(StaffSession).where(
                StaffSession.staff_id == staff.id, StaffSession.created_at <= now - SESSION_LIFETIME
            )
        )
        session.add(
            StaffSession(
                token_hash=token_digest(token),
                staff_id=staff.id,
                remote_addr=address_of(remote_addr),
                created_at=now,
                last_seen_at=now,
            )
        )
        uow.commit()
    return token


def session_staff(
    session_factory: Callable[[], Session], token: str, *, now: dt.datetime, idle: dt.timedelta = DEFAULT_IDLE
) -> StaffRef | None:
    """The staff member a session token belongs to, or None: unknown, ended by sign-out or revoked, unused for
    `idle`, older than 12 hours, or the member deactivated. Using it keeps it alive (to the minute)."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    with session_factory() as session:
        row = session.execute(
            select(StaffSession, Staff)
            .join(Staff, Staff.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == token_digest(token))
        ).first()
        if row is None:
            return None
        live, staff = row
        if (
            live.revoked_at is not None
            or not staff.active
            or live.created_at <= now - SESSION_LIFETIME
            or live.last_seen_at <= now - idle
        ):
            return None
        if now - live.last_seen_at >= _TOUCH_EVERY:
            session.execute(
                update(StaffSession.__table__)
                .where(StaffSession.id == live.id, StaffSession.revoked_at.is_(None))
                .values(last_seen_at=now)
            )
            session.commit()
        return _staff_ref(staff)


def end_session(uow: UnitOfWork, token: str, *, now: dt.datetime) -> None:
    """Sign-out: the session of this token is revoked (a copy of its cookie opens nothing any more)."""
    if not token or len(token) > _TOKEN_MAX:
        return
    with uow:
        uow.session.execute(
            update(StaffSession.__table__)
            .where(StaffSession.token_hash == token_digest(token), StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        uow.commit()


def _staff_named(session: Session, username: str) -> Staff:
    name = normalise_username(username)
    staff = session.scalars(select(Staff).where(func.lower(Staff.username) == name)).first() if name else None
    if staff is None:
        raise UnknownStaff(username)
    return staff


def set_password(
    uow: UnitOfWork, username: str, password: str, *, actor: str, now: dt.datetime, hasher: PasswordHasher = HASHER
) -> int:
    """Give `username` a new password (empty: none, so they cannot sign in) and end every session they hold.

    Audited; returns how many sessions were ended. Raises UnknownStaff.
    """
    hashed = hasher.hash(password) if password else NO_PASSWORD
    with uow:
        session = uow.session
        staff = _staff_named(session, username)
        staff.password_hash = hashed
        ended = _revoke_all(session, staff.id, now)
        audit.record(session, actor=actor, action="staff.password", entity="staff", entity_id=staff.id, at=now)
        uow.commit()
    return ended


def set_active(uow: UnitOfWork, username: str, active: bool, *, actor: str, now: dt.datetime) -> int:
    """Activate or deactivate `username`; deactivating ends every session they hold. Audited; returns how many
    sessions were ended. Raises UnknownStaff."""
    with uow:
        session = uow.session
        staff = _staff_named(session, username)
        staff.active = active
        ended = 0 if active else _revoke_all(session, staff.id, now)
        action = "staff.activate" if active else "staff.deactivate"
        audit.record(session, actor=actor, action=action, entity="staff", entity_id=staff.id, at=now)
        uow.commit()
    return ended
