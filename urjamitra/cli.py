"""The `urjamitra` command line: up, db upgrade, seed, serve."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Engine, func, select

from cis import seed as seeding
from cis.db import make_engine
from cis.migrate import current_revision, upgrade
from cis.models import Account, AccountMobile
from urjamitra.settings import Settings, SettingsError

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer


class CliError(Exception):
    """Something the user can fix; printed without a traceback."""


class ProgressBar:
    """A one-line progress bar on a terminal; whole lines at each tenth elsewhere (CI logs)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 32) -> None:
        self.label, self.stream, self.width = label, stream, width
        self.started = time.perf_counter()
        self.tty = stream.isatty()
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        elapsed = time.perf_counter() - self.started
        filled = int(share * self.width)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {share:6.1%} "
            f"{done:,}/{total:,} {elapsed:6.1f} s"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
            self.stream.flush()
        elif int(share * 10) > self.last_tenth:
            self.last_tenth = int(share * 10)
            self.stream.write(line + "\n")
            self.stream.flush()


def _demo_password_hash(settings: Settings) -> str:
    from werkzeug.security import generate_password_hash

    # One hash for every demo login; a deployment creates real staff with their own passwords.
    return generate_password_hash(settings.demo_password)


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def cmd_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        before = current_revision(engine)
        upgrade(engine)
        print(
            f"database {engine.url.render_as_string(hide_password=True)}: "
            f"schema {before or 'empty'} -> {current_revision(engine)}"
        )
    finally:
        engine.dispose()
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        upgrade(engine)
        if args.reset:
            seeding.reset(engine)
        report = seeding.seed(
            engine,
            args.consumers,
            seed=args.seed,
            as_of=args.as_of,
            progress=ProgressBar("seeding"),
            demo_password_hash=_demo_password_hash(settings),
        )
    except seeding.SeedError as exc:
        print(f"urjamitra seed: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"seeded {report.consumers:,} consumers on {report.feeders} feeders and {report.dts:,} DTs: "
        f"{report.readings:,} readings, {report.bills:,} bills, {report.payments:,} payments, "
        f"{report.complaints:,} complaints, {report.staff} staff logins"
    )
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in report.seconds.items()))
    return 0


def _demo_accounts(engine: Engine, limit: int = 3) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Account.account_no, func.min(AccountMobile.e164))
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .where(Account.status == "active")
            .group_by(Account.account_no)
            .order_by(Account.account_no)
            .limit(limit)
        ).all()
    return [(str(a), str(m)) for a, m in rows]


def _bind(settings: Settings) -> BaseWSGIServer:
    """Bind the web port first, so that nothing is announced before it answers."""
    from werkzeug.serving import make_server

    from urjamitra.web import create_app

    try:
        return make_server(settings.web_host, settings.web_port, create_app(settings), threaded=True)
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.web_bind} ({exc.strerror}): set URJA_WEB_BIND") from exc
    except SystemExit as exc:  # Werkzeug exits on a port in use, after printing its own advice
        raise CliError(f"cannot listen on {settings.web_bind} (in use): set URJA_WEB_BIND") from exc


def _serve(server: BaseWSGIServer) -> None:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Create or upgrade the database, seed a small demo if it is empty, serve the web app."""
    engine = _engine(settings)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            empty = not conn.scalar(select(func.count()).select_from(Account))
        if empty:
            print(f"empty database: seeding a demo of {settings.demo_consumers:,} consumers ...")
            seeding.seed(
                engine,
                settings.demo_consumers,
                seed=1,
                progress=ProgressBar("seeding"),
                demo_password_hash=_demo_password_hash(settings),
            )
        demo = _demo_accounts(engine)
    finally:
        engine.dispose()
    server = None if args.no_serve else _bind(settings)
    url = f"http://{settings.web_host}:{settings.web_port}"
    print()
    print(
        "Urja Mitra is up (embedded defaults: "
        f"{'SQLite' if settings.database_url.startswith('sqlite') else 'server database'}, "
        f"{'Celery on Redis' if settings.redis_url else 'in-process tasks'}, {settings.sms_provider} SMS)"
    )
    print(f"  home page        {url}/")
    print(f"  health           {url}/healthz")
    if demo:
        print(f"  an account       {url}/api/accounts/{demo[0][0]}")
        print("  demo accounts    " + "; ".join(f"{a} (mobile {m})" for a, m in demo))
    print(
        f"  demo logins      admin, agent1, je.sd01, sdo.sd01, ee.d01, desk.d01 (password {settings.demo_password!r})"
    )
    print(f"  database         {settings.masked()['database_url']}")
    if server is not None:
        print("Press Ctrl+C to stop.")
    sys.stdout.flush()
    if server is not None:
        _serve(server)
    return 0


def cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    server = _bind(settings)
    print(f"serving on http://{settings.web_host}:{settings.web_port}/")
    sys.stdout.flush()
    _serve(server)
    return 0


def _positive(value: str) -> int:
    number = int(value.replace(",", "").replace("_", ""))
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="urjamitra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="create or upgrade the database, seed a demo if empty, serve the web app")
    up.add_argument("--no-serve", action="store_true", help="prepare and print, but do not serve")
    up.set_defaults(func=cmd_up)
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the schema to the newest revision").set_defaults(
        func=cmd_db_upgrade
    )
    seed = sub.add_parser("seed", help="fill an empty database with a Kanpur-like discom")
    seed.add_argument("--consumers", type=_positive, default=2000, help="how many consumers (default 2000)")
    seed.add_argument("--seed", type=int, default=1, help="the random seed (same seed, same data)")
    seed.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="the date the data ends at, YYYY-MM-DD (default today)",
    )
    seed.add_argument("--reset", action="store_true", help="empty every CIS table first")
    seed.set_defaults(func=cmd_seed)
    sub.add_parser("serve", help="serve the web app on URJA_WEB_BIND").set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings or Settings.from_env()
    except SettingsError as exc:
        print(f"urjamitra: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(settings, args))
    except CliError as exc:
        print(f"urjamitra: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
