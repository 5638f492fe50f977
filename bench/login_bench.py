"""Benchmark: how long a staff sign-in takes to answer on each path, with the real (scrypt) password hash.

Usage: .venv/bin/python -m bench.login_bench [--tries 20] [--url postgresql+psycopg://...]

On a scratch SQLite file (or a scratch database on the PostgreSQL server of --url) it makes four staff rows
(active, inactive, without a password, and one locked by five failures) hashed by werkzeug's default, then
times `cis.staff_auth.authenticate` --tries times per path: right password, wrong password, empty password,
unknown username (with and without a password), inactive, no password set, locked. It prints the median and
the spread per path; every path but the right password must look alike to someone timing the answers.
Figures and what they showed: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from werkzeug.security import generate_password_hash

from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.errors import CisError
from cis.migrate import upgrade
from cis.models import Staff
from cis.staff_auth import authenticate

PASSWORD = "demo1912"
PATHS = (
    ("right password", "desk.ok", PASSWORD),
    ("wrong password", "desk.ok", "demo1913"),
    ("empty password", "desk.ok", ""),
    ("unknown username", "nobody", PASSWORD),
    ("unknown, empty password", "nobody", ""),
    ("inactive", "desk.gone", PASSWORD),
    ("no password set", "desk.nopass", PASSWORD),
    ("locked", "desk.locked", PASSWORD),
)


@contextmanager
def _database(url: str | None) -> Iterator[Engine]:
    if url:
        from bench._database import scratch_database

        with scratch_database(url, "urja_login_bench") as (engine, _settings):
            yield engine
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'login.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--url", help="a PostgreSQL server URL; default: a SQLite file")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    hashed = generate_password_hash(PASSWORD)
    with _database(args.url) as engine:
        factory = make_session_factory(engine)
        with factory() as session:
            for username, hash_, active in (
                ("desk.ok", hashed, True),
                ("desk.gone", hashed, False),
                ("desk.nopass", "!", True),
                ("desk.locked", hashed, True),
            ):
                session.add(
                    Staff(
                        username=username,
                        name=username,
                        role="outage_desk",
                        password_hash=hash_,
                        active=active,
                        created_at=now,
                    )
                )
            session.commit()
        uow = UnitOfWork(factory)
        print(f"{engine.dialect.name}, werkzeug default hash ({hashed.split('$', 1)[0]}), {args.tries} tries per path")
        print(f"{'path':<26} {'median ms':>10} {'min ms':>8} {'max ms':>8}  answer")
        at = now
        for number, (label, username, password) in enumerate(PATHS):
            address = f"203.0.113.{number}"
            if label == "locked":
                for _ in range(5):
                    with contextlib.suppress(CisError):  # a wrong password is what these tries are for
                        authenticate(uow, username, "guess", "198.51.100.1", now=at)
            took: list[float] = []
            answer = ""
            for _ in range(args.tries):
                if label != "locked":  # past the window: no try is refused by an earlier one's count
                    at += dt.timedelta(minutes=16)
                started = time.perf_counter()
                try:
                    authenticate(uow, username, password, address, now=at)
                    answer = "signed in"
                except CisError as exc:
                    answer = type(exc).__name__
                took.append((time.perf_counter() - started) * 1000)
            print(f"{label:<26} {statistics.median(took):>10.1f} {min(took):>8.1f} {max(took):>8.1f}  {answer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
