"""Staff sign-in: a username and password checked against the staff table, with repeated failures locked out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from cis.db import UnitOfWork
from cis.errors import CisError
from cis.models import LoginAttempt, Staff

# Failures in this window count towards a lock-out; the lock lifts as the oldest of them leave it.
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
NO_PASSWORD = "!"  # a staff row with this hash exists but cannot sign in
# Checked when the username is unknown, so that a wrong username costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")
_USERNAME_LEN = 40
_ADDRESS_LEN = 45


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


def _staff_ref(staff: Staff) -> StaffRef:
    return StaffRef(staff.id, staff.username, staff.name, staff.role, staff.scope_level, staff.scope_id)


def _locked(session: Session, username: str, remote_addr: str, now: dt.datetime) -> bool:
    since = now - WINDOW
    # A successful sign-in clears the username's earlier failures (not the address's).
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.ok.is_(True), LoginAttempt.at > since
        )
    )
    user_failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.ok.is_(False), LoginAttempt.at > (last_ok or since))
    )
    if (user_failures or 0) >= MAX_FAILURES_PER_USERNAME:
        return True
    address_failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.remote_addr == remote_addr, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
    )
    return (address_failures or 0) >= MAX_FAILURES_PER_ADDRESS


def _matches(password_hash: str | None, password: str) -> bool:
    if not password_hash or password_hash == NO_PASSWORD or not password:
        return False
    return check_password_hash(password_hash, password)


def authenticate(uow: UnitOfWork, username: str, password: str, remote_addr: str, *, now: dt.datetime) -> StaffRef:
    """The active staff member whose username and password these are; every try is recorded in `login_attempt`.

    Raises TooManyFailedLogins when the username has failed 5 times, or the address 20 times, in the last
    15 minutes (then even the right password is refused, so guessing stops), and WrongCredentials for an
    unknown or inactive username or a wrong password. Usernames are matched without regard to case.
    """
    name = " ".join(username.split()).lower()[:_USERNAME_LEN]
    address = (remote_addr or "unknown")[:_ADDRESS_LEN]
    with uow:
        session = uow.session
        if _locked(session, name, address, now):
            # Not counted as another failure: the lock lifts 15 minutes after the last real one, so tries made
            # while it holds cannot keep a desk locked out for ever.
            raise TooManyFailedLogins(WINDOW)
        staff = session.scalars(select(Staff).where(func.lower(Staff.username) == name)).first() if name else None
        if staff is None:
            check_password_hash(_DUMMY_HASH, password or "-")
        ref = (
            _staff_ref(staff)
            if staff is not None and staff.active and _matches(staff.password_hash, password)
            else None
        )
        session.add(LoginAttempt(username=name, remote_addr=address, ok=ref is not None, at=now))
        uow.commit()
    if ref is None:
        raise WrongCredentials()
    return ref


def staff_by_id(session: Session, staff_id: int) -> StaffRef | None:
    """The active staff member with this id, or None (gone or deactivated since they signed in)."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    return _staff_ref(staff)
