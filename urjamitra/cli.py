"""The `urjamitra` command line: up, db upgrade, seed, serve, the IVR (fastagi, phone, prompts) and billing."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Engine, func, select

from cis import seed as seeding
from cis.db import make_engine
from cis.errors import CisError
from cis.migrate import current_revision, upgrade
from cis.models import Account, AccountMobile
from urjamitra.settings import DEFAULT_ENV_FILE, Settings, SettingsError, environment

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


def _demo_portal_consumer(engine: Engine, settings: Settings, *, seeded: bool) -> tuple[str, str] | str | None:
    """(account number, verified mobile) of the demo consumer who signs in to the portal with URJA_DEMO_PASSWORD:
    the first active account with a verified mobile, its password set when `up` has just seeded the demo (and
    again when the setting changed). Never on a database `up` did not seed: a real consumer's account gets no
    known password. A sentence saying why not when the password is refused; None when no account fits."""
    from sqlalchemy.orm import aliased

    from cis import consumer_auth
    from cis.db import UnitOfWork, make_session_factory
    from cis.errors import WeakPassword
    from cis.models import AuditLog, Bill, ConsumerLogin
    from cis.passwords import HASHER

    newest = aliased(Bill)
    latest = select(func.max(newest.cycle)).where(newest.account_id == Account.id).scalar_subquery()
    unpaid = (
        select(Bill.id)
        .where(Bill.account_id == Account.id, Bill.cycle == latest, Bill.status.in_(("issued", "part_paid")))
        .exists()
    )
    with engine.connect() as conn:
        row = conn.execute(
            select(Account.account_no, AccountMobile.e164, ConsumerLogin.password_hash)
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .outerjoin(ConsumerLogin, ConsumerLogin.account_id == Account.id)
            .where(Account.status == "active", AccountMobile.verified)
            # One with a bill to pay, so the demo can pay it through the sandbox gateway.
            .order_by(unpaid.desc(), Account.account_no, AccountMobile.id)
            .limit(1)
        ).first()
    if row is None:
        return None
    account_no, mobile, stored = str(row[0]), str(row[1]), row[2]
    if not seeded:
        with engine.connect() as conn:
            ours = conn.scalar(
                select(AuditLog.id).where(
                    AuditLog.action == "portal.password_set",
                    AuditLog.actor == "system:up",
                    AuditLog.entity_id == account_no,
                )
            )
        if ours is None:
            return None
    if stored is None or not HASHER.verify(stored, settings.demo_password):
        try:
            consumer_auth.set_password(
                UnitOfWork(make_session_factory(engine)),
                account_no,
                settings.demo_password,
                actor="system:up",
                now=dt.datetime.now(dt.UTC),
            )
        except WeakPassword as exc:
            return f"URJA_DEMO_PASSWORD cannot be a consumer's password: {exc}"
    return account_no, mobile


def _bind(settings: Settings) -> BaseWSGIServer:
    """Bind the web port first, so that nothing is announced before it answers."""
    from werkzeug.serving import make_server

    from urjamitra.security import QuietRequestHandler
    from urjamitra.web import create_app

    app = create_app(settings)
    try:
        return make_server(
            settings.web_host, settings.web_port, app, threaded=True, request_handler=QuietRequestHandler
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.web_bind} ({exc.strerror}): set URJA_WEB_BIND") from exc
    except SystemExit as exc:  # Werkzeug exits on a port in use, after printing its own advice
        raise CliError(f"cannot listen on {settings.web_bind} (in use): set URJA_WEB_BIND") from exc


def _stop_on_signals() -> None:
    """Ctrl+C (SIGINT) and SIGTERM end the server cleanly, also when it was started in the background: a shell
    starts a background job with SIGINT ignored, and Python keeps an ignored SIGINT ignored (no KeyboardInterrupt)."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _serve(server: BaseWSGIServer) -> None:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _ussd_demo(settings: Settings) -> tuple[Settings, str]:
    """The settings `up` serves with, and the USSD secret to show: without URJA_USSD_SECRET the gateway webhook
    refuses everything, so `up` makes a random one for this run (it is printed, with a curl line to try it)."""
    import secrets

    if settings.ussd_secret:
        return settings, "$URJA_USSD_SECRET"
    demo = secrets.token_urlsafe(12)
    return replace(settings, ussd_secret=demo), demo


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
        consumer = _demo_portal_consumer(engine, settings, seeded=empty)
    finally:
        engine.dispose()
    _build_prompts_if_possible(settings)
    settings, ussd_secret = _ussd_demo(settings)
    server = None if args.no_serve else _bind(settings)
    fastagi = None if args.no_serve else _fastagi_server(settings)
    url = f"http://{settings.web_host}:{server.server_port if server else settings.web_port}"
    print()
    print(
        "Urja Mitra is up (embedded defaults: "
        f"{'SQLite' if settings.database_url.startswith('sqlite') else 'server database'}, "
        f"{'Celery on Redis' if settings.redis_url else 'in-process tasks'}, {settings.sms_provider} SMS)"
    )
    if isinstance(consumer, tuple):
        print(f"  Portal: {url}/portal/login — account {consumer[0]}, password {settings.demo_password}")
        print(f"                   or sign in by OTP to its mobile {consumer[1]} (the SMS shows on /sms/console)")
    elif consumer:
        print(f"  Portal: {url}/portal/login — no demo consumer: {consumer}")
    print(f"  home page        {url}/   (public: outages, calculator, complaint status, how to pay)")
    print(f"  system page      {url}/admin/system   (sign in as admin)")
    print(f"  health           {url}/healthz")
    if demo:
        print(f"  an account       {url}/api/accounts/{demo[0][0]}")
        print("  demo accounts    " + "; ".join(f"{a} (mobile {m})" for a, m in demo))
    print(
        f"  demo logins      admin, agent1, je.sd01, sdo.sd01, ee.d01, desk.d01, cashier.sd01 "
        f"(password {settings.demo_password!r})"
    )
    gateway = "the sandbox gateway: no money moves" if settings.pay_gateway == "sandbox" else "Razorpay"
    print(f"  pay a bill       {url}/portal/bills > Pay now ({gateway}); or SMS PAY; or the IVR: 2, then 1")
    print(f"  1912 console     {url}/console/   (sign in as agent1: find a consumer, the 360, log a complaint)")
    print(f"  officers' to-do  {url}/todo/   (je.sd01, sdo.sd01, ee.d01: complaints, bill revisions, applications)")
    print(f"  cash counter     {url}/counter/   (cashier.sd01: cash, cheque or DD, the printed receipt, the cash book)")
    print(f"  MIS              {url}/mis/   (an officer's area, or the whole discom for admin; charts and CSV)")
    print(f"  outage desk      {url}/desk/   (sign in as desk.d01; the division's desk)")
    print(f"  live outages     {url}/outages   and reliability indices {url}/reliability")
    print(f"  database         {settings.masked()['database_url']}")
    if fastagi is not None:
        print(f"  IVR (FastAGI)    agi://{fastagi.host}:{fastagi.port}/ivr for Asterisk")
    caller = demo[0][1] if demo else "+919876543210"
    import shutil

    # The command as this shell can run it: `urjamitra` when the venv is on PATH, else its full path.
    command = (
        "urjamitra"
        if shutil.which("urjamitra")
        else (sys.argv[0] if sys.argv[0].endswith("urjamitra") else "urjamitra")
    )
    print(f"  call the IVR     {command} phone --caller {caller}   (in another terminal)")
    print(f'  send an SMS      {command} sms --from {caller} "BILL"   (HELP lists the commands)')
    if server is not None:
        print(
            f'  try USSD         curl -s {url}/ussd -H "X-USSD-Secret: {ussd_secret}" -d sessionId=demo-1 '
            f"-d 'serviceCode=*1912#' -d phoneNumber={caller} -d text="
        )
        whose = "your URJA_USSD_SECRET"
        if not ussd_secret.startswith("$"):
            whose = "this run's demo secret (URJA_USSD_SECRET sets one)"
        print(f"                   {whose}; then text=1, text=1*2, ...: the session's inputs so far, joined by *")
    if server is not None:
        drained = "by Celery workers and beat" if settings.redis_url else "every 3 s by this process"
        if settings.sms_provider == "console":
            print(f"  SMS sent         {url}/sms/console   (admin; console provider; outbox drained {drained})")
        else:
            print(f"  SMS              {settings.sms_provider} provider; outbox drained {drained}")
    if server is None:
        sys.stdout.flush()
        return 0
    from urjamitra.pump import OutboxPump

    # Ctrl+C works from the moment it is offered, also in a background job (where SIGINT starts ignored).
    _stop_on_signals()
    pump = None
    try:
        print("Press Ctrl+C to stop.", flush=True)
        pump = None if settings.redis_url else OutboxPump(settings)
        _serve(server)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if pump is not None:
            pump.stop()
        if fastagi is not None:
            fastagi.stop()
    return 0


def _build_prompts_if_possible(settings: Settings) -> None:
    """Render the prompts with espeak-ng when it is installed (only what changed); else say what is missing."""
    import shutil

    from prompts.build import PromptBuildError, build
    from prompts.catalog import catalog

    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        print("prompt audio: espeak-ng or sox is not installed; the phone shows text, Twilio speaks with <Say>")
        return
    try:
        report = build(catalog(), Path(settings.prompts_dir), engine="espeak", progress=ProgressBar("prompts"))
    except PromptBuildError as exc:
        print(f"prompt audio: {exc}")
        return
    print(report.summary())


def _schema_at_head(settings: Settings) -> str:
    """The database's schema revision, when it is the one this code needs; else a CliError saying what to do."""
    from sqlalchemy.exc import SQLAlchemyError

    from cis.db import Timeouts
    from cis.migrate import head_revision

    engine = make_engine(settings.database_url, timeouts=Timeouts(connect_s=settings.db_connect_timeout))
    where = settings.masked()["database_url"]
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise CliError(f"cannot read the schema of the database {where}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        raise CliError(f"the database {where} has no schema: run `urjamitra db upgrade` first")
    if revision != head:
        raise CliError(
            f"the database {where} is at schema {revision}, this code needs {head}: "
            "run `urjamitra db upgrade` first (or serve the code that matches the database)"
        )
    return revision


def _can_listen(settings: Settings) -> None:
    """A clear message for a port in use or an address not ours, before gunicorn retries it for 5 s."""
    import socket

    family = socket.AF_INET6 if ":" in settings.web_host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((settings.web_host.strip("[]"), settings.web_port))
        except OSError as exc:
            raise CliError(f"cannot listen on {settings.web_bind} ({exc.strerror}): set URJA_WEB_BIND") from exc


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """The web app under gunicorn (urjamitra.gunicorn_app): the production web server."""
    revision = _schema_at_head(settings)
    _can_listen(settings)
    from urjamitra.gunicorn_app import serve

    drained = "by Celery workers (URJA_REDIS_URL)" if settings.redis_url else "by one web worker every 3 s (no Redis)"
    access = {"-": "stdout", "off": "off"}.get(settings.web_access_log, settings.web_access_log)

    def ready(urls: list[str]) -> None:
        print(
            f"serving on {', '.join(u + '/' for u in urls)} (gunicorn, {settings.web_workers} workers x "
            f"{settings.web_threads} threads; schema {revision}; access log {access}; outbox drained {drained}; "
            f"TERM stops gracefully, HUP reloads, Ctrl+C stops at once)",
            flush=True,
        )

    from_env = getattr(args, "settings_from_env", False)
    return serve(settings, reread=Settings.from_env if from_env else None, on_ready=ready)


def cmd_calc(settings: Settings, args: argparse.Namespace) -> int:
    from cis.calculator import categories, quote

    if args.list:
        for code, description in categories():
            print(f"{code:<8} {description}")
        return 0
    missing = [name for name, value in (("--category", args.category), ("--load", args.load)) if value is None]
    if missing:
        raise CliError(f"calc needs {' and '.join(missing)} (or --list)")
    result = quote(
        args.category,
        args.load,
        units=args.units,
        readings=tuple(args.readings) if args.readings else None,
        days=args.days,
        period=(args.from_, args.to) if args.from_ or args.to else None,
    )
    if args.json:
        print(json.dumps(result.rupees()))
        return 0
    print(
        f"{result.category} ({result.description}), {result.load_kw} kW, {result.units} units, "
        f"{result.days} days; schedule {result.schedule}"
    )
    for label, units, rate, paise in result.charges.slab_lines:
        print(f"  energy {label:<12} {units:>8} x Rs {rate / 100:>6.2f} = Rs {paise / 100:>12,.2f}")
    for name, rupees in result.rupees().items():
        print(f"  {name:<34} Rs {rupees:>12,.2f}")
    return 0


def cmd_bill_run(settings: Settings, args: argparse.Namespace) -> int:
    from cis.billing import bill_run

    engine = _engine(settings)
    try:
        upgrade(engine)
        report = bill_run(engine, args.cycle, sub_division=args.sub_division, progress=ProgressBar("billing"))
    finally:
        engine.dispose()
    print(
        f"cycle {report.cycle}: {report.billed:,} bills ({report.actual:,} actual, {report.estimated:,} estimated, "
        f"{report.assessed:,} assessed); {report.already_billed:,} already billed; "
        f"{report.sms_queued:,} bill SMS queued; {report.seconds} s"
    )
    if report.held:
        print(f"held for a check: {report.held:,} accounts, e.g.")
        for reason in report.held_reasons[:10]:
            print(f"  {reason}")
    return 0


def cmd_bill_revise(settings: Settings, args: argparse.Namespace) -> int:
    from cis.billing import revise_bill
    from cis.db import UnitOfWork, make_session_factory

    engine = _engine(settings)
    try:
        revised = revise_bill(
            UnitOfWork(make_session_factory(engine)),
            args.account,
            args.cycle,
            reason=args.reason,
            actor=f"cli:{args.by}",
            current_kwh=args.reading,
            units=args.units,
        )
    finally:
        engine.dispose()
    print(
        f"account {revised.account_no} {revised.cycle}: version {revised.version}, {revised.units} units, "
        f"Rs {revised.old_amount_paise / 100:,.2f} -> Rs {revised.amount_paise / 100:,.2f}"
    )
    if revised.sms_to:
        print(f"the consumer is told by SMS (bill.revised) on the mobile ending {revised.sms_to[-4:]}")
    else:
        print("no SMS: the account has no mobile on record, or it opted out of SMS")
    return 0


DESK_REPLY_MARGIN_S = 600.0


def _fastagi_server(settings: Settings):  # type: ignore[no-untyped-def]
    """A FastAGI server for the configured dialog, running in a background thread (for `up` and `phone`).

    Its callers are mostly people at the desk phone, who take their time to type where Asterisk would have
    timed the wait out: each reply is awaited for ten minutes more than the command's own time, not ten
    seconds (`urjamitra fastagi`, which serves Asterisk, keeps the ten seconds)."""
    from ivr.fastagi import start_in_thread
    from urjamitra.telephony import make_dialog

    try:
        return start_in_thread(
            make_dialog(settings),
            settings.fastagi_host,
            settings.fastagi_port,
            sounds_prefix=settings.agi_sounds,
            agent_queue=settings.agent_queue,
            transfer_target=settings.queue_target,
            reply_margin_s=DESK_REPLY_MARGIN_S,
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.fastagi_bind} ({exc.strerror}): set URJA_FASTAGI_BIND") from exc


def cmd_fastagi(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the IVR to Asterisk: `AGI(agi://host:4573/ivr)` in the dialplan.

    With `--processes N` (N > 1) N server processes share the port (SO_REUSEPORT) and the kernel spreads
    the calls across them: one Python process holds one core at most.
    """
    import multiprocessing
    import signal

    _configure_logging()
    lengths = _check_sounds(settings, require=args.require_sounds)
    if args.processes == 1:
        _serve_fastagi(settings, reuse_port=False, prompt_seconds=lengths)
        return 0
    if settings.fastagi_port == 0:
        raise CliError("several processes need a fixed port: set URJA_FASTAGI_BIND to HOST:PORT")
    context = multiprocessing.get_context("spawn")
    options = {"reuse_port": True, "prompt_seconds": lengths}
    workers = [
        context.Process(target=_serve_fastagi, args=(settings,), kwargs=options, daemon=False)
        for _ in range(args.processes)
    ]
    for worker in workers:
        worker.start()

    def stop_workers(signum: int, _frame: object) -> None:
        # Each worker stops cleanly on SIGTERM (its calls are finished and recorded); none is left serving.
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop_workers)
    signal.signal(signal.SIGINT, stop_workers)
    for worker in workers:
        worker.join()
    return 0 if all(w.exitcode in (0, -signal.SIGTERM) for w in workers) else 1


def _check_sounds(settings: Settings, *, require: bool) -> dict[str, float]:
    """Check that every catalog prompt has a sound file Asterisk can play under its sounds directory; say which
    are missing (loudly), and refuse to start with `require`. Returns each sound's length (reply timeouts)."""
    from ivr.agi import AgiConfig
    from ivr.sounds import check_sounds
    from prompts.catalog import catalog

    report = check_sounds(settings.asterisk_sounds_dir, AgiConfig(sounds_prefix=settings.agi_sounds), catalog())
    if report.ok:
        print(f"FastAGI: {report.summary()}", file=sys.stderr, flush=True)
        return report.seconds
    advice = (
        "Callers who reach a missing prompt hear the apology and go to the agents. Build the audio with "
        f"`urjamitra prompts build` and copy {settings.prompts_dir} to "
        f"{Path(settings.asterisk_sounds_dir) / settings.agi_sounds} on the Asterisk box, or set "
        "URJA_ASTERISK_SOUNDS_DIR to the sounds directory Asterisk uses."
    )
    if require:
        raise CliError(f"{report.summary()}. {advice}")
    banner = "!" * 100
    print(f"{banner}\nFastAGI WARNING: {report.summary()}.\n{advice}\n{banner}", file=sys.stderr, flush=True)
    return report.seconds


def _configure_logging() -> None:
    """INFO and above to stderr, outside values written safely (cis.logs), whichever library logs them."""
    from cis.logs import configure_logging

    configure_logging(fmt="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")


def _serve_fastagi(settings: Settings, *, reuse_port: bool, prompt_seconds: dict[str, float] | None = None) -> None:
    from ivr.fastagi import run_fastagi
    from urjamitra.telephony import make_dialog

    _configure_logging()

    def ready(server: object) -> None:
        print(f"FastAGI serving the IVR on {settings.fastagi_host}:{server.port}", flush=True)  # type: ignore[attr-defined]

    try:
        run_fastagi(
            make_dialog(settings),
            settings.fastagi_host,
            settings.fastagi_port,
            on_ready=ready,
            sounds_prefix=settings.agi_sounds,
            agent_queue=settings.agent_queue,
            transfer_target=settings.queue_target,
            reuse_port=reuse_port,
            prompt_seconds=prompt_seconds,
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.fastagi_bind} ({exc.strerror}): set URJA_FASTAGI_BIND") from exc


def _listening(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def cmd_phone(settings: Settings, args: argparse.Namespace) -> int:
    """Call the IVR from the terminal, as Asterisk would, showing each prompt's text and taking key presses."""
    from ivr.phone import run_phone

    host, port = settings.fastagi_host, settings.fastagi_port
    own = None
    if not _listening(host, port):
        # No server running (`urjamitra up` runs one): serve this one call from a server of our own.
        print(f"no FastAGI server on {host}:{port}; starting one for this call", file=sys.stderr)
        own = _fastagi_server(replace(settings, fastagi_bind=f"{host}:0"))
        port = own.port
    print(f"calling the IVR at {host}:{port} from {args.caller}")
    print("type the keys to press and Enter (e.g. 1, or 1234567890#); Enter alone waits; q hangs up")

    def keys() -> str:
        try:
            return input("keys> ")
        except EOFError:
            return "q"

    try:
        run_phone(host, port, args.caller, keys=keys, show=print, sounds_prefix=settings.agi_sounds)
    finally:
        if own is not None:
            own.stop()
    return 0


def agi_main(default_env_file: str = DEFAULT_ENV_FILE) -> int:
    """`urjamitra-agi`: the IVR as a plain AGI script, for `AGI(urjamitra-agi)` in the dialplan.

    Asterisk starts it in its own working directory and environment, which hold none of our settings: they
    come from the settings file (`/etc/urjamitra/env`, or the file URJA_ENV_FILE names), under anything the
    environment sets. It never creates a database: without URJA_DATABASE_URL, with a SQLite file that is not
    there (or a relative path, which would mean Asterisk's directory) or a database without the schema, the
    caller hears the apology and goes to the agents, and the log says why.
    """
    from ivr.agi_script import DialogRefused
    from ivr.agi_script import main as agi_script_main
    from urjamitra.telephony import make_dialog

    problem: str | None = None
    try:
        env = environment(env_file=default_env_file)
        settings = Settings.from_env(env)
    except SettingsError as exc:
        env, settings, problem = {}, Settings(), str(exc)
    if problem is None and not env.get("URJA_DATABASE_URL"):
        source = env.get("URJA_ENV_FILE") or default_env_file
        problem = f"URJA_DATABASE_URL is not set: write it in {source} (or name another file in URJA_ENV_FILE)"

    def build() -> Any:
        if problem is not None:
            raise DialogRefused(problem)
        refusal = _agi_database_problem(settings.database_url)
        if refusal is not None:
            raise DialogRefused(refusal)
        return make_dialog(settings)

    return agi_script_main(
        sys.argv[1:],
        make_dialog=build,
        sounds_prefix=settings.agi_sounds,
        agent_queue=settings.agent_queue,
        transfer_target=settings.queue_target,
        log_to=settings.agi_log,
    )


def _agi_database_problem(url: str) -> str | None:
    """Why the AGI script must not use the database at `url` (None: it may): it never creates one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            return f"URJA_DATABASE_URL names no SQLite file ({_masked(url)})"
        if not Path(path).is_absolute():
            return f"URJA_DATABASE_URL names a relative SQLite path ({path}): Asterisk runs us in its own directory"
        if not Path(path).is_file():
            return f"the SQLite database {path} does not exist (run `urjamitra db upgrade` where the IVR's data lives)"
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        return f"cannot reach the database {_masked(url)}: {type(exc).__name__}"
    finally:
        engine.dispose()
    if revision is None:
        return f"the database {_masked(url)} has no schema: run `urjamitra db upgrade` first"
    return None


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_call(settings: Settings, args: argparse.Namespace) -> int:
    """Place one outbound alert call (the outage desk's voice channel) through the configured dialer."""
    import uuid

    from cis.phones import normalise_mobile
    from ivr.outbound import OutboundCall, OutboundError
    from prompts.catalog import catalog
    from urjamitra.telephony import make_dialer

    dialer = make_dialer(settings)
    unknown = [key for key in args.say if key not in catalog()]
    if unknown:
        raise CliError(f"no such prompt in the catalog: {', '.join(unknown)}")
    call = OutboundCall(
        to=normalise_mobile(args.to),
        call_ref=f"cli-{uuid.uuid4().hex[:12]}",
        flow="alert",
        params={"items": [{"say": key} for key in args.say]},
    )
    try:
        placed = dialer.place(call)
    except OutboundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        dialer.close()
    print(f"call {call.call_ref} to {args.to}: {placed.status} (provider id {placed.provider_id})")
    return 0


def cmd_sms(settings: Settings, args: argparse.Namespace) -> int:
    """Simulate one inbound SMS from the terminal: the command is answered as the SMS webhooks will answer it."""
    import uuid

    from cis.db import make_session_factory
    from sms.service import handle_inbound

    engine = _engine(settings)
    try:
        reply = handle_inbound(
            make_session_factory(engine),
            mobile=args.sender,
            text=args.text,
            message_id=f"cli-{uuid.uuid4().hex[:16]}",
            now=dt.datetime.now(dt.UTC),
            portal_url=settings.portal_link,
            check_reopen=settings.check_reopen,
        )
    finally:
        engine.dispose()
    print(reply.text)
    print(f"({reply.template_key}, {reply.segments} SMS segment{'s' if reply.segments != 1 else ''})", file=sys.stderr)
    return 0


def cmd_outbox_drain(settings: Settings, args: argparse.Namespace) -> int:
    """Send every SMS due now; what the `sms.drain` Celery task does, from the terminal."""
    from cis.db import make_session_factory
    from urjamitra.messaging import drain_outbox, make_bucket, make_sms_provider

    engine = _engine(settings)
    provider = make_sms_provider(settings, make_session_factory(engine))
    try:
        stats = drain_outbox(settings, engine, provider, make_bucket(settings, provider.name), budget_s=args.budget)
    finally:
        provider.close()
        engine.dispose()
    print(", ".join(f"{name} {value:,}" for name, value in stats.as_dict().items()))
    return 0


def cmd_outbox_status(settings: Settings, _args: argparse.Namespace) -> int:
    from cis.models import Outbox

    engine = _engine(settings)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Outbox.template, Outbox.status, func.count())
                .where(Outbox.channel == "sms")
                .group_by(Outbox.template, Outbox.status)
                .order_by(Outbox.template, Outbox.status)
            ).all()
    finally:
        engine.dispose()
    if not rows:
        print("the SMS outbox is empty")
    for template, status, count in rows:
        print(f"{template:<24} {status:<10} {count:>10,}")
    return 0


def cmd_outbox_reminders(settings: Settings, args: argparse.Namespace) -> int:
    from urjamitra.messaging import queue_reminders

    engine = _engine(settings)
    try:
        queued = queue_reminders(settings, engine, days_before=args.days_before, now=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    print(f"{queued:,} bill-due reminders queued")
    return 0


def cmd_reliability(settings: Settings, args: argparse.Namespace) -> int:
    """SAIFI, SAIDI and CAIDI for a month, per division and feeder (IEEE 1366), from the restored outages."""
    from sqlalchemy.orm import Session

    from outage.errors import OutageError
    from outage.reliability import current_month, division_id_of, format_report, reliability

    engine = _engine(settings)
    try:
        with Session(engine) as session:
            try:
                division = division_id_of(session, args.division) if args.division else None
                report = reliability(
                    session, args.month or current_month(dt.datetime.now(dt.UTC)), division_id=division
                )
            except OutageError as exc:
                raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    print(format_report(report))
    return 0


def cmd_outage_sweep(settings: Settings, _args: argparse.Namespace) -> int:
    """The minute's outage chores now (Celery beat runs them every minute): notices, fan-outs, fallbacks."""
    from urjamitra.outages import sweep

    engine = _engine(settings)
    try:
        report = sweep(settings, engine)
    finally:
        engine.dispose()
    print(", ".join(f"{name} {value if not isinstance(value, list) else len(value)}" for name, value in report.items()))
    return 0


def cmd_escalation_sweep(settings: Settings, args: argparse.Namespace) -> int:
    """The 1912 matrix's timers now (Celery beat runs them every 2 minutes); `--at` pretends it is then."""
    from cis.escalation import sweep

    now = dt.datetime.fromisoformat(args.at) if args.at else None
    if now is not None and now.tzinfo is None:
        raise CliError("--at needs a time zone, e.g. 2026-12-08T10:00:00+05:30")
    engine = _engine(settings)
    try:
        report = sweep(engine, now=now)
    finally:
        engine.dispose()
    levels = ", ".join(f"{count} to {level}" for level, count in sorted(report.by_level.items())) or "none"
    print(
        f"escalated {report.escalated} ({levels}); closed as not confirmed {report.closed_unconfirmed}; "
        f"SMS to consumers {report.consumers_told}, to officers {report.officers_told}"
    )
    return 0


def cmd_screen_pop(settings: Settings, _args: argparse.Namespace) -> int:
    """Follow Asterisk's AgentConnect events (URJA_AMI_URL) and pop each transferred call on the agent's console."""
    from cis.db import UnitOfWork, make_session_factory
    from cis.screen_pop import record_answer
    from ivr.agent_events import AgentConnectListener

    if not settings.ami_url:
        raise CliError("URJA_AMI_URL is not set: the screen-pop follows Asterisk's AMI (Twilio reports by webhook)")
    engine = _engine(settings)
    factory = make_session_factory(engine)

    def answered(interface: str, call_id: int) -> None:
        pop = record_answer(UnitOfWork(factory), extension=interface, call_id=call_id, source="ami")
        print(f"call {call_id} answered by {interface}: {'popped' if pop else 'no agent has that extension'}")
        sys.stdout.flush()

    listener = AgentConnectListener(settings.ami_url, answered).start()
    print("following AgentConnect events for the screen-pop; Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        listener.stop()
        engine.dispose()


def cmd_payments_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    """A day's settlement report (the gateway's API, or a file in its columns) against the payments posted."""
    from cis.db import UnitOfWork, make_session_factory
    from cis.payments.reconcile import reconcile
    from cis.web.pay.razorpay import GatewayUnavailable
    from urjamitra.payments import gateway_of, settlement_items

    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    day = args.date or (dt.datetime.now(dt.UTC).astimezone(india).date() - dt.timedelta(days=1))
    gateway = gateway_of(settings)
    try:
        items = settlement_items(gateway, day, args.file)
    except (OSError, ValueError, GatewayUnavailable) as exc:
        raise CliError(f"cannot read the settlement report: {exc}") from exc
    engine = _engine(settings)
    try:
        report = reconcile(UnitOfWork(make_session_factory(engine)), gateway.name, day, items)
    finally:
        engine.dispose()
    print(
        f"{gateway.name} {day.isoformat()}: {report.settled} payments settled, {report.matched} matched; "
        f"posted now {len(report.posted_now)}, unmatched {len(report.unmatched)}, amounts differ "
        f"{len(report.mismatched)}, not settled after T+2 {len(report.not_settled)}"
    )
    rows = (
        [("posted_now", ref, "", "") for ref in report.posted_now]
        + [("unmatched", ref, "", "") for ref in report.unmatched]
        + [("amount_mismatch", ref, str(o), str(t)) for ref, o, t in report.mismatched]
        + [("not_settled", ref, str(o), "") for ref, o, _ in report.not_settled]
    )
    for kind, ref, ours, theirs in rows:
        print(f"  {kind:16} {ref:24} ours {ours or '-':>10}  theirs {theirs or '-':>10}")
    if args.csv:
        import csv

        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["gateway", "day", "kind", "gateway_ref", "ours_paise", "theirs_paise"])
            writer.writerows([gateway.name, day.isoformat(), *row] for row in rows)
        print(f"written to {args.csv}")
    return 0


def cmd_escalation_matrix(settings: Settings, _args: argparse.Namespace) -> int:
    """The 1912 matrix in force (cis/data/escalation.toml): hours at each level, urban and rural, with sources."""
    from cis.escalation_matrix import LEVELS, matrix

    table = matrix()
    print(f"{'category':<16} {'area':<6} " + " ".join(f"{level.upper():>5}" for level in LEVELS) + "  source")
    for code, limits in table.categories.items():
        for area, hours in (("urban", limits.urban), ("rural", limits.rural)):
            cells = " ".join(f"{h:>4}h" for h in hours)
            print(f"{code:<16} {area:<6} {cells}  {limits.source if area == 'urban' else ''}")
    print(f"a resolution waits {int(table.closure_wait.total_seconds() // 3600)} h for the consumer's word")
    return 0


def cmd_outage_roster_day(settings: Settings, args: argparse.Namespace) -> int:
    """A day's roster slots on the feeders and its schedule SMS (beat: 18:00 for tomorrow, 00:05 for today)."""
    from zoneinfo import ZoneInfo

    from urjamitra.outages import roster_day

    engine = _engine(settings)
    try:
        day = args.date or dt.datetime.now(ZoneInfo("Asia/Kolkata")).date()
        slots, sms = roster_day(settings, engine, day=day)
    finally:
        engine.dispose()
    print(f"{slots:,} roster slots put on the feeders, {sms:,} schedule SMS queued for {day.isoformat()}")
    return 0


def cmd_prompts_build(settings: Settings, args: argparse.Namespace) -> int:
    from prompts.build import PromptBuildError, build
    from prompts.catalog import CatalogError, catalog

    out = Path(args.out or settings.prompts_dir)
    try:
        report = build(
            catalog(), out, engine=args.engine, jobs=args.jobs, force=args.force, progress=ProgressBar("prompts")
        )
    except (PromptBuildError, CatalogError) as exc:
        raise CliError(str(exc)) from exc
    print(report.summary())
    for name, reason in report.failures.items():
        print(f"  failed {name}: {reason}", file=sys.stderr)
    return 0 if report.ok else 1


MIN_PASSWORD = 8


def _new_password(stdin: TextIO) -> str:
    """The new password: typed twice at a terminal (not echoed), or the first line of what is piped in."""
    if stdin.isatty():
        import getpass

        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ; nothing was changed")
        return first
    return stdin.readline().rstrip("\r\n")


def cmd_staff_password(settings: Settings, args: argparse.Namespace) -> int:
    """Set a staff member's password; every session they hold ends (they sign in again with the new one)."""
    from cis.db import UnitOfWork, make_session_factory
    from cis.staff_auth import set_password

    password = _new_password(sys.stdin)
    if len(password) < MIN_PASSWORD:
        raise CliError(f"a password has at least {MIN_PASSWORD} characters; nothing was changed")
    engine = _engine(settings)
    try:
        ended = set_password(
            UnitOfWork(make_session_factory(engine)),
            args.username,
            password,
            actor="cli:staff",
            now=dt.datetime.now(dt.UTC),
        )
    finally:
        engine.dispose()
    print(f"{args.username}: password set; {ended} session(s) ended")
    return 0


def cmd_staff_active(settings: Settings, args: argparse.Namespace) -> int:
    """Deactivate a staff member (every session they hold ends, and they cannot sign in) or activate them again."""
    from cis.db import UnitOfWork, make_session_factory
    from cis.staff_auth import set_active

    active = args.staff_command == "activate"
    engine = _engine(settings)
    try:
        ended = set_active(
            UnitOfWork(make_session_factory(engine)),
            args.username,
            active,
            actor="cli:staff",
            now=dt.datetime.now(dt.UTC),
        )
    finally:
        engine.dispose()
    print(f"{args.username}: {'activated' if active else f'deactivated; {ended} session(s) ended'}")
    return 0


def cmd_calls(settings: Settings, args: argparse.Namespace) -> int:
    """The IVR's figures for one day (MIS): calls, outcomes, duration, callers known by caller ID."""
    from cis.calls import call_summary, close_stale_calls
    from cis.db import UnitOfWork, make_session_factory

    engine = _engine(settings)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        if args.close_stale_after is not None:
            closed = close_stale_calls(uow, older_than=dt.timedelta(minutes=args.close_stale_after))
            print(f"closed {closed} calls open for over {args.close_stale_after} minutes", file=sys.stderr)
        summary = call_summary(uow, args.day, direction=args.direction)
    finally:
        engine.dispose()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
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
    sub.add_parser(
        "serve", help="the production web server: gunicorn on URJA_WEB_BIND (TERM stops gracefully, HUP reloads)"
    ).set_defaults(func=cmd_serve)
    calc = sub.add_parser("calc", help="the bill calculator: an itemised bill for a category, load and units")
    calc.add_argument("--list", action="store_true", help="list the category codes")
    calc.add_argument("--category", help="tariff category code, e.g. LMV-1U (see --list)")
    calc.add_argument("--load", help="sanctioned load in kW")
    use = calc.add_mutually_exclusive_group()
    use.add_argument("--units", type=int, help="units consumed (kWh)")
    use.add_argument("--readings", type=int, nargs=2, metavar=("FROM", "TO"), help="previous and current reading")
    period = calc.add_mutually_exclusive_group()
    period.add_argument("--days", type=int, help="days in the billing period")
    period.add_argument("--from", dest="from_", type=dt.date.fromisoformat, help="period start, YYYY-MM-DD")
    calc.add_argument("--to", type=dt.date.fromisoformat, help="period end, YYYY-MM-DD (with --from)")
    calc.add_argument("--json", action="store_true", help="one JSON object: component -> rupees")
    calc.set_defaults(func=cmd_calc)
    run = sub.add_parser("bill-run", help="bill every account once for a cycle (safe to run again)")
    run.add_argument("--cycle", required=True, help="YYYY-MM")
    run.add_argument("--sub-division", help="only this sub-division (code or name)")
    run.set_defaults(func=cmd_bill_run)
    revise = sub.add_parser("bill-revise", help="issue a revised version of a bill, keeping the old one")
    revise.add_argument("--account", required=True)
    revise.add_argument("--cycle", required=True, help="YYYY-MM")
    revise.add_argument("--reason", required=True)
    revise.add_argument("--by", default="office", help="who revises it (recorded in the audit log)")
    how = revise.add_mutually_exclusive_group()
    how.add_argument("--reading", type=int, help="the corrected current reading")
    how.add_argument("--units", type=int, help="the corrected units")
    revise.set_defaults(func=cmd_bill_revise)
    fastagi = sub.add_parser("fastagi", help="serve the IVR to Asterisk over FastAGI on URJA_FASTAGI_BIND")
    fastagi.add_argument(
        "--processes", type=_positive, default=1, help="server processes sharing the port (one per core)"
    )
    fastagi.add_argument(
        "--require-sounds",
        action="store_true",
        help="refuse to start while a catalog prompt has no sound file under URJA_ASTERISK_SOUNDS_DIR",
    )
    fastagi.set_defaults(func=cmd_fastagi)
    phone = sub.add_parser("phone", help="call the IVR from this terminal, as Asterisk would")
    phone.add_argument("--caller", default="+919876543210", help="the caller ID to present (default %(default)s)")
    phone.set_defaults(func=cmd_phone)
    prompts = sub.add_parser("prompts", help="the prompt catalog's audio")
    prompts_sub = prompts.add_subparsers(dest="prompts_command", required=True)
    build = prompts_sub.add_parser("build", help="render every prompt to WAV (Asterisk) and MP3 (Twilio)")
    build.add_argument("--engine", choices=["espeak", "gtts"], default="espeak", help="gtts needs the internet")
    build.add_argument("--out", default=None, help="where the audio goes (default URJA_PROMPTS_DIR, var/prompts)")
    build.add_argument("--force", action="store_true", help="render everything again")
    build.add_argument("--jobs", type=_positive, default=2)
    build.set_defaults(func=cmd_prompts_build)
    call = sub.add_parser("call", help="place one outbound alert call (AMI or Twilio, as configured)")
    call.add_argument("--to", required=True, help="the consumer's mobile")
    call.add_argument("--say", nargs="+", default=["outage.breakdown"], help="prompt keys to play (catalog)")
    call.set_defaults(func=cmd_call)
    sms = sub.add_parser("sms", help="simulate an inbound SMS command and print the reply")
    sms.add_argument("--from", dest="sender", required=True, help="the sender's mobile")
    sms.add_argument("text", help='the message, e.g. "BILL" or "COMP NOSUPPLY"')
    sms.set_defaults(func=cmd_sms)
    outbox = sub.add_parser("outbox", help="the SMS outbox: send what is due, see where messages stand")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    drain = outbox_sub.add_parser(
        "drain", help="send the due SMS now with the configured provider (Celery beat does it)"
    )
    drain.add_argument("--budget", type=float, default=None, metavar="SECONDS", help="stop after this long")
    drain.set_defaults(func=cmd_outbox_drain)
    status = outbox_sub.add_parser("status", help="SMS rows by template and status")
    status.set_defaults(func=cmd_outbox_status)
    reminders = outbox_sub.add_parser("reminders", help="queue bill-due reminders now (Celery beat does it daily)")
    reminders.add_argument("--days-before", type=_positive, default=3)
    reminders.set_defaults(func=cmd_outbox_reminders)
    calls = sub.add_parser("calls", help="the IVR's figures for a day: calls, outcomes, duration")
    calls.add_argument("--day", type=dt.date.fromisoformat, default=dt.date.today(), help="YYYY-MM-DD (India)")
    calls.add_argument("--direction", choices=["inbound", "outbound"], default="inbound")
    calls.add_argument(
        "--close-stale-after",
        type=_positive,
        metavar="MINUTES",
        help="first close calls whose end never came (Celery beat does this every 15 minutes)",
    )
    calls.set_defaults(func=cmd_calls)
    reliability = sub.add_parser("reliability", help="SAIFI, SAIDI and CAIDI (IEEE 1366) for a month")
    reliability.add_argument("--month", help="YYYY-MM (default: this month, India time)")
    reliability.add_argument("--division", help="only this division (its code, e.g. D01)")
    reliability.set_defaults(func=cmd_reliability)
    outage = sub.add_parser("outage", help="outage chores from the terminal (Celery beat runs them)")
    outage_sub = outage.add_subparsers(dest="outage_command", required=True)
    outage_sub.add_parser(
        "sweep", help="shutdown notices due, unfinished fan-outs, failed SMS to calls, suspected breakdowns"
    ).set_defaults(func=cmd_outage_sweep)
    roster = outage_sub.add_parser("roster-day", help="a day's roster slots and schedule SMS")
    roster.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today in India)")
    roster.set_defaults(func=cmd_outage_roster_day)
    escalation = sub.add_parser("escalation", help="the 1912 escalation matrix and its sweep (Celery beat runs it)")
    escalation_sub = escalation.add_subparsers(dest="escalation_command", required=True)
    sweep_parser = escalation_sub.add_parser(
        "sweep", help="move overdue complaints up the matrix, close resolutions nobody answered"
    )
    sweep_parser.add_argument("--at", help="as if it were this moment (ISO 8601 with a zone), for a demo or a test")
    sweep_parser.set_defaults(func=cmd_escalation_sweep)
    sub.add_parser(
        "screen-pop", help="pop transferred calls on the agents' consoles (follows Asterisk AMI AgentConnect)"
    ).set_defaults(func=cmd_screen_pop)
    escalation_sub.add_parser("matrix", help="the hours each level holds a complaint, with sources").set_defaults(
        func=cmd_escalation_matrix
    )
    payments = sub.add_parser("payments", help="payments: reconcile a day's settlement report (Celery beat runs it)")
    payments_sub = payments.add_subparsers(dest="payments_command", required=True)
    reconcile_parser = payments_sub.add_parser(
        "reconcile", help="a day's settlement report against the payments posted: post what was missed, report the rest"
    )
    reconcile_parser.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: yesterday in India)")
    reconcile_parser.add_argument("--file", help="the gateway's settlement report as a CSV file (default: its API)")
    reconcile_parser.add_argument("--csv", help="also write the findings to this CSV file")
    reconcile_parser.set_defaults(func=cmd_payments_reconcile)
    staff = sub.add_parser("staff", help="staff logins: set a password, deactivate, activate")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    password = staff_sub.add_parser(
        "password", help="set a member's password (typed twice, or one line on stdin); ends their sessions"
    )
    password.add_argument("username")
    password.set_defaults(func=cmd_staff_password)
    for action, says in (("deactivate", "no more sign-ins; ends their sessions"), ("activate", "sign-ins again")):
        activity = staff_sub.add_parser(action, help=f"{action} a member: {says}")
        activity.add_argument("username")
        activity.set_defaults(func=cmd_staff_active)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.settings_from_env = settings is None  # `serve` reads them again on HUP
    try:
        settings = settings or Settings.from_env()
    except SettingsError as exc:
        print(f"urjamitra: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(settings, args))
    except (CliError, CisError) as exc:
        print(f"urjamitra: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
