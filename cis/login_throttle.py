"""Sign-in tries counted atomically per name and per address, so that guessing stops at a limit however fast it comes.

The staff login and the consumer portal share this: a try `claim`s its place (one conditional UPDATE per key,
committed) before any password is checked, and is `settle`d once checked. Keys are strings of up to 60 characters
with a prefix per use (`user:<username>`, `addr:<address>` for staff; `account:<no>`, `portal:<address>` for
consumers), so the counts of one never touch the other's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, or_, update

from cis.db import UnitOfWork, insert_ignore
from cis.models import LoginAttempt, LoginThrottle

# Tries counted in this window lock the name (or the address) until it ends: at most the limit of passwords is
# checked per window, however many tries arrive at once.
WINDOW = dt.timedelta(minutes=15)
KEY_LENGTH = 60
ADDRESS_LENGTH = 45


@dataclass(frozen=True)
class Throttle:
    """The counts one sign-in try goes against: its name's (a success starts it afresh) and its address's (a
    success gives back only its own try, so an office behind one address is not locked out by its sign-ins).

    `log_as` is what `login_attempt.username` records for the try.
    """

    name_key: str
    name_limit: int
    address_key: str
    address_limit: int
    log_as: str
    address: str
    window: dt.timedelta = WINDOW

    @property
    def limits(self) -> tuple[tuple[str, int], ...]:
        return ((self.name_key, self.name_limit), (self.address_key, self.address_limit))


def address_of(remote_addr: str | None) -> str:
    """The client address as it is counted and logged (bounded; "unknown" when the server gave none)."""
    return (remote_addr or "unknown")[:ADDRESS_LENGTH]


def claim(
    uow: UnitOfWork, limits: Sequence[tuple[str, int]], now: dt.datetime, *, window: dt.timedelta = WINDOW
) -> bool:
    """Count one try against every (key, limit) and commit it, or count nothing and answer False when any key
    has reached its limit in its current window (a window starts with a key's first try and lasts `window`).

    Each count is one conditional UPDATE (the row locked on PostgreSQL, the database on SQLite), so two tries
    cannot both take the last place.
    """
    since = now - window
    table = LoginThrottle.__table__
    col = table.c
    expired = col.window_start <= since
    for key, _ in limits:
        if len(key) > KEY_LENGTH:
            raise ValueError(f"a throttle key has at most {KEY_LENGTH} characters: {key!r}")
    with uow:
        session = uow.session
        dialect = session.get_bind().dialect.name
        session.execute(
            insert_ignore(dialect, table, ["key"]), [{"key": k, "tries": 0, "window_start": now} for k, _ in limits]
        )
        for key, limit in limits:
            claimed = session.execute(
                update(table)
                .where(col.key == key, or_(col.tries < limit, expired))
                .values(
                    tries=case((expired, 1), else_=col.tries + 1),
                    window_start=case((expired, now), else_=col.window_start),
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False  # leaving the unit of work rolls back the other counts
        uow.commit()
    return True


def claim_try(uow: UnitOfWork, throttle: Throttle, now: dt.datetime) -> bool:
    """`claim` one sign-in try against the throttle's name and address."""
    return claim(uow, throttle.limits, now, window=throttle.window)


def settle(uow: UnitOfWork, throttle: Throttle, ok: bool, now: dt.datetime) -> None:
    """Record a checked try in `login_attempt`; a success gives back its count: the name starts afresh, the
    address keeps only its failures."""
    table = LoginThrottle.__table__
    with uow:
        session = uow.session
        session.add(LoginAttempt(username=throttle.log_as[:40], remote_addr=throttle.address, ok=ok, at=now))
        if ok:
            session.execute(update(table).where(table.c.key == throttle.name_key).values(tries=0, window_start=now))
            session.execute(
                update(table)
                .where(table.c.key == throttle.address_key, table.c.tries > 0)
                .values(tries=table.c.tries - 1)
            )
        uow.commit()
