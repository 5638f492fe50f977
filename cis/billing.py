"""The monthly billing run and bill revisions: readings in, versioned bills and "bill on SMS" rows out.

Set-based: accounts are read in batches by id range, each batch's readings, previous bills and
payments come from a handful of queries with window functions, the charges are computed in Python
by `cis.tariffs.calculate`, and the bills go in with one bulk statement per batch. The unique key
(account, cycle, version) makes a re-run skip what is already billed, however often it is started.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit, compensation, notify, tariffs
from cis.db import UnitOfWork
from cis.errors import CisError, UnknownAccount
from cis.models import (
    Account,
    AccountMobile,
    AuditLog,
    Bill,
    Feeder,
    Meter,
    Outbox,
    Payment,
    Reading,
    SubDivision,
    Substation,
    TariffSchedule,
)
from cis.models import DistributionTransformer as DT
from cis.numbers import parse_account_no

BATCH = 5_000
DUE_AFTER_DAYS = 15
# Load factors of the assessment formula L x D x H x F (UPERC Supply Code): a defective meter with no
# usable history is billed on sanctioned load, days, 24 hours and the category's typical load factor.
ASSESSMENT_LOAD_FACTOR = {"LMV-1L": 0.10, "LMV-1R": 0.12, "LMV-1U": 0.15, "LMV-2": 0.25, "LMV-5": 0.30, "HV-2": 0.45}
BILLABLE_STATUSES = ("active", "temp_disconnected")
Progress = Callable[[int, int], None]


class BillingError(CisError):
    """A billing request that cannot be carried out."""


class MalformedCycle(BillingError):
    def __init__(self, given: str) -> None:
        super().__init__("A billing cycle is written YYYY-MM, e.g. 2026-10.")
        self.given = given


class UnknownBill(BillingError):
    def __init__(self, account_no: str, cycle: str) -> None:
        super().__init__(f"Account {account_no} has no bill for {cycle}.")


class UnknownSubDivision(BillingError):
    def __init__(self, code: str) -> None:
        super().__init__(f"No sub-division {code!r}: give its code (e.g. SD01) or its name.")


def parse_cycle(raw: str) -> tuple[str, dt.date, dt.date]:
    """'YYYY-MM' -> (cycle, first day, last day of the month)."""
    text_ = (raw or "").strip()
    try:
        first = dt.datetime.strptime(text_ + "-01", "%Y-%m-%d").date()
    except ValueError as exc:
        raise MalformedCycle(raw) from exc
    if len(text_) != 7:
        raise MalformedCycle(raw)
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return text_, first, nxt - dt.timedelta(days=1)


@dataclass
class BatchCounts:
    """What a batch did, and summed over batches what a run did."""

    accounts: int = 0
    billed: int = 0
    already_billed: int = 0
    actual: int = 0
    estimated: int = 0
    assessed: int = 0
    sms_queued: int = 0
    held: int = 0  # accounts not billed because their data needs a look first (e.g. a reading going backwards)
    held_reasons: list[str] = field(default_factory=list)  # the first few, "account: reason"
    step_seconds: dict[str, float] = field(default_factory=dict)  # where the time went, summed over batches

    def add(self, other: BatchCounts) -> None:
        for name in ("accounts", "billed", "already_billed", "actual", "estimated", "assessed", "sms_queued", "held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.held_reasons.extend(other.held_reasons[: max(0, 100 - len(self.held_reasons))])
        for step, seconds in other.step_seconds.items():
            self.step_seconds[step] = self.step_seconds.get(step, 0.0) + seconds


@dataclass
class BillRunReport(BatchCounts):
    cycle: str = ""
    seconds: float = 0.0


def stored_schedule(session: Session, schedule_id: int | None) -> tariffs.Schedule | None:
    """The schedule a bill was issued under, as stored with it (later data files cannot change it)."""
    if schedule_id is None:
        return None
    data = session.scalar(select(TariffSchedule.data).where(TariffSchedule.id == schedule_id))
    if not data or "categories" not in data or "code" not in data:
        return None
    return tariffs.parse_schedules({"schedules": [data]})[0]


def sync_schedules(session: Session, schedules: Sequence[tariffs.Schedule], at: dt.datetime) -> dict[str, int]:
    """Store schedules not yet in the database (never touching stored ones); code -> row id.

    ON CONFLICT DO NOTHING: two runs starting together both find the schedule stored once.
    """
    raw = {data["code"]: data for data in tariffs.schedule_file_data()["schedules"]}
    present = set(session.scalars(select(TariffSchedule.code)))
    missing = [
        {"code": s.code, "effective_from": s.effective_from, "source": s.source, "data": raw[s.code], "loaded_at": at}
        for s in schedules
        if s.code not in present
    ]
    if missing:
        session.execute(_insert_ignore(session.connection(), TariffSchedule.__table__), missing)
    return {code: id_ for code, id_ in session.execute(select(TariffSchedule.code, TariffSchedule.id))}


def _scope_ids(conn: Connection, sub_division: str | None) -> list[int] | None:
    if sub_division is None:
        return None
    row = conn.execute(
        select(SubDivision.id).where(
            (func.lower(SubDivision.code) == sub_division.lower())
            | (func.lower(SubDivision.name) == sub_division.lower())
        )
    ).first()
    if row is None:
        raise UnknownSubDivision(sub_division)
    return [int(row[0])]


def _assessed_units(category: str, load_kw: Decimal, days: int) -> int:
    return round(float(load_kw) * 24 * days * ASSESSMENT_LOAD_FACTOR.get(category, 0.15))


def bill_run(
    engine: Engine,
    raw_cycle: str,
    *,
    sub_division: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    batch: int = BATCH,
    workers: int | None = None,
) -> BillRunReport:
    """Bill every billable account (in a sub-division, if given) once for `cycle`; safe to run again.

    An actual (or consumer-reported) reading in the cycle month gives an actual bill; none gives an
    estimate from the average daily use of the last three actual bills; a defective or burnt meter
    gives an assessed bill (history, else L x D x H x F). Unpaid amounts of the previous bill are
    carried as arrears, with the late payment surcharge once its due date has passed. Each new bill
    with a registered mobile (not opted out) puts one "bill on SMS" row in the outbox.
    """
    cycle, month_start, month_end = parse_cycle(raw_cycle)
    started = time.perf_counter()
    at = now or audit.utcnow()
    schedules = tariffs.load_schedules()
    schedule = tariffs.schedule_on(schedules, month_end)
    report = BillRunReport(cycle=cycle)
    with Session(engine) as session:
        schedule_ids = sync_schedules(session, schedules, at)
        session.commit()
        schedule_id = schedule_ids[schedule.code]
        # The stored copy is the record: a schedule is never edited in place, a new one is added.
        schedule = stored_schedule(session, schedule_id) or schedule
    issue_day = at.date()
    due = issue_day + dt.timedelta(days=DUE_AFTER_DAYS)

    with engine.connect() as conn:
        scope = _scope_ids(conn, sub_division)
        id_query = select(func.min(Account.id), func.max(Account.id), func.count())
        if scope is not None:
            id_query = (
                id_query.join(DT, DT.id == Account.dt_id)
                .join(Feeder, Feeder.id == DT.feeder_id)
                .join(Substation, Substation.id == Feeder.substation_id)
                .where(Substation.sub_division_id.in_(scope))
            )
        lo, hi, total = conn.execute(id_query.where(Account.status.in_(BILLABLE_STATUSES))).one()
    if not total:
        report.seconds = round(time.perf_counter() - started, 2)
        return report
    done = 0
    lock = threading.Lock()
    if progress:
        progress(0, total)

    def one(start: int) -> None:
        nonlocal done
        with engine.begin() as conn:
            result = _bill_batch(
                conn,
                start,
                start + batch - 1,
                scope,
                cycle,
                month_start,
                month_end,
                schedule,
                schedule_id,
                issue_day,
                due,
                at,
            )
        with lock:
            report.add(result)
            done += result.accounts
            if progress:
                progress(min(done, total), total)

    # Two connections: while one batch is computed in Python the other is read or written by the server.
    pool_size = workers or (2 if engine.dialect.name == "postgresql" else 1)
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        list(pool.map(one, range(int(lo), int(hi) + 1, batch)))
    with engine.begin() as conn:
        conn.execute(
            insert(AuditLog).values(
                at=at,
                actor="system:bill-run",
                action="billing.run",
                entity="cycle",
                entity_id=cycle,
                detail={
                    "billed": report.billed,
                    "actual": report.actual,
                    "estimated": report.estimated,
                    "assessed": report.assessed,
                    "already_billed": report.already_billed,
                    "held": report.held,
                    "sub_division": sub_division,
                    "schedule": schedule.code,
                },
            )
        )
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _bill_batch(
    conn: Connection,
    start: int,
    end: int,
    scope: list[int] | None,
    cycle: str,
    month_start: dt.date,
    month_end: dt.date,
    schedule: tariffs.Schedule,
    schedule_id: int,
    issue_day: dt.date,
    due: dt.date,
    at: dt.datetime,
) -> BatchCounts:
    out = BatchCounts()
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        out.step_seconds[step] = out.step_seconds.get(step, 0.0) + now_ - clock
        clock = now_

    accounts_q = (
        select(
            Account.id,
            Account.account_no,
            Account.category,
            Account.sanctioned_load_kw,
            Account.connected_on,
            # No bill SMS: all SMS stopped at the office, or bill SMS switched off on the portal.
            or_(Account.sms_opt_out.is_(True), Account.alert_bill.is_(False)).label("no_bill_sms"),
            Meter.status,
        )
        .outerjoin(Meter, and_(Meter.account_id == Account.id, Meter.removed_on.is_(None)))
        .where(Account.id >= start, Account.id <= end, Account.status.in_(BILLABLE_STATUSES))
    )
    if scope is not None:
        accounts_q = (
            accounts_q.join(DT, DT.id == Account.dt_id)
            .join(Feeder, Feeder.id == DT.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .where(Substation.sub_division_id.in_(scope))
        )
    accounts = conn.execute(accounts_q).all()
    out.accounts = len(accounts)
    billed = set(conn.scalars(select(Bill.account_id).where(Bill.account_id.between(start, end), Bill.cycle == cycle)))
    todo = [a for a in accounts if a.id not in billed]
    out.already_billed = len(accounts) - len(todo)
    lap("accounts")
    if not todo:
        return out

    readings: dict[int, Any] = {}
    for row in conn.execute(
        select(Reading.account_id, Reading.kwh, Reading.read_on)
        .where(
            Reading.account_id.between(start, end),
            Reading.read_on.between(month_start, month_end),
            Reading.kind.in_(("actual", "consumer")),
        )
        .order_by(Reading.account_id, Reading.read_on, Reading.id)
    ):
        readings[row.account_id] = row  # the last one of the month wins
    mobiles: dict[int, str] = {}
    for account_id, e164 in conn.execute(
        select(AccountMobile.account_id, AccountMobile.e164)
        .where(AccountMobile.account_id.between(start, end))
        .order_by(AccountMobile.account_id, AccountMobile.id.desc())
    ):
        mobiles[account_id] = e164  # the first registered one wins
    lap("readings")

    # The previous bill: almost always last month's, one index lookup per account. Only accounts that
    # need an estimate or assessment, or have no bill last month, read their last six months.
    bill_columns = (
        Bill.account_id,
        Bill.current_kwh,
        Bill.period_start,
        Bill.period_end,
        Bill.amount_paise,
        Bill.issued_at,
        Bill.due_date,
        Bill.units,
        Bill.basis,
    )
    latest: dict[int, Any] = {}
    for row in conn.execute(
        select(*bill_columns)
        .where(
            Bill.account_id.between(start, end),
            Bill.cycle == _months_before(month_start, 1),
            Bill.status != "superseded",
        )
        .order_by(Bill.account_id, Bill.version)
    ):
        latest[row.account_id] = row
    need_history = [
        a.id for a in todo if a.id not in latest or a.id not in readings or a.status in ("defective", "burnt")
    ]
    history: dict[int, list[Any]] = {}
    if need_history:
        for row in conn.execute(
            select(*bill_columns)
            .where(
                Bill.account_id.in_(need_history),
                Bill.cycle < cycle,
                Bill.cycle >= _months_before(month_start, 6),
                Bill.status != "superseded",
            )
            .order_by(Bill.account_id, Bill.cycle, Bill.version)
        ):
            history.setdefault(row.account_id, []).append(row)
        for account_id, rows in history.items():
            rows.reverse()  # newest first
            latest.setdefault(account_id, rows[0])
    lap("previous bills")
    earliest = min((row.issued_at for row in latest.values()), default=None)
    paid: dict[int, int] = {}
    if earliest is not None:
        for account_id, paid_at, amount in conn.execute(
            select(Payment.account_id, Payment.paid_at, Payment.amount_paise).where(
                Payment.account_id.between(start, end), Payment.status == "success", Payment.paid_at >= earliest
            )
        ):
            last = latest.get(account_id)
            if last is not None and paid_at >= last.issued_at:
                paid[account_id] = paid.get(account_id, 0) + int(amount)
    lap("payments")
    # Approved compensation (Standards of Performance) becomes a credit line on this bill.
    credits = compensation.credits_for_range(conn, start, end)
    credited: dict[int, list[int]] = {}

    lps_rate = schedule.lps_basis_points_per_month
    bills: list[tuple[Any, ...]] = []
    sms: list[tuple[Any, ...]] = []
    for account_id, account_no, category, load_kw, connected_on, no_sms, meter_status in todo:
        tariff = schedule.categories.get(category)
        if tariff is None:
            continue
        past = history.get(account_id, ())
        previous = latest.get(account_id)
        period_start = previous.period_end if previous else max(connected_on, month_start)
        reading = readings.get(account_id)
        period_end = reading.read_on if reading is not None else month_end
        days = max(1, (period_end - period_start).days)
        previous_kwh = previous.current_kwh if previous else None
        if meter_status in ("defective", "burnt") or reading is None:
            actual = [(r.units, (r.period_end - r.period_start).days) for r in past[:3] if r.basis == "actual"]
            history_days = sum(d for _, d in actual)
            if actual and history_days:
                units = round(sum(u for u, _ in actual) * days / history_days)
            else:
                units = _assessed_units(category, load_kw, days)
            if meter_status in ("defective", "burnt"):
                basis, current_kwh = "assessed", previous_kwh
            else:
                basis, current_kwh = "estimated", None if previous_kwh is None else previous_kwh + units
        elif previous_kwh is not None:
            try:
                units = tariffs.units_between(previous_kwh, reading.kwh)
            except CisError as exc:
                # One implausible reading must not stop a million bills: hold this one for the office.
                out.held += 1
                if len(out.held_reasons) < 100:
                    out.held_reasons.append(f"account {account_no}: {exc}")
                continue
            basis, current_kwh = "actual", reading.kwh
        else:
            basis, units, current_kwh = "actual", 0, reading.kwh  # the first reading of a new connection
        charges = tariffs.calculate(tariff, load_kw=load_kw, units=units, days=days)
        arrears = lps = 0
        if previous is not None:
            arrears = max(0, int(previous.amount_paise) - paid.get(account_id, 0))
            if arrears and previous.due_date < issue_day:
                lps = (arrears * lps_rate + 5_000) // 10_000
        credit = 0
        if account_id in credits:
            credit, credited[account_id] = compensation.take_credit(
                credits[account_id], charges.total_paise + arrears + lps
            )
        amount = charges.total_paise + arrears + lps - credit
        bills.append(
            (
                account_id,
                cycle,
                1,
                period_start,
                period_end,
                previous_kwh,
                current_kwh,
                units,
                basis,
                category,
                load_kw,
                charges.energy_paise,
                charges.fixed_paise,
                charges.duty_paise,
                charges.minimum_topup_paise + charges.rounding_paise,
                arrears,
                lps,
                amount,
                due,
                "issued",
                at,
                schedule_id,
                credit,
            )
        )
        if basis == "actual":
            out.actual += 1
        elif basis == "estimated":
            out.estimated += 1
        else:
            out.assessed += 1
        mobile = mobiles.get(account_id)
        if mobile is not None and not no_sms:
            payload = {
                "account_no": account_no,
                "cycle": cycle,
                "amount_paise": amount,
                "due": due.isoformat(),
                "units": units,
            }
            sms.append(
                (
                    "sms",
                    "bill.issued",
                    mobile,
                    account_id,
                    payload,
                    f"bill.issued:{account_id}:{cycle}:1:{mobile}",
                    "pending",
                    5,
                    0,
                    at,
                    at,
                )
            )
    lap("calculation")
    if bills:
        _write(conn, bills, sms)
        compensation.mark_credited(conn, credited, cycle)
        out.billed = len(bills)
        out.sms_queued = len(sms)
    lap("writing bills and SMS rows")
    return out


BILL_COLUMNS = (
    "account_id",
    "cycle",
    "version",
    "period_start",
    "period_end",
    "previous_kwh",
    "current_kwh",
    "units",
    "basis",
    "category",
    "load_kw",
    "energy_paise",
    "fixed_paise",
    "duty_paise",
    "other_paise",
    "arrears_paise",
    "lps_paise",
    "amount_paise",
    "due_date",
    "status",
    "issued_at",
    "tariff_schedule_id",
    "compensation_paise",
)
OUTBOX_COLUMNS = (
    "channel",
    "template",
    "recipient",
    "account_id",
    "payload",
    "dedupe_key",
    "status",
    "priority",
    "attempts",
    "created_at",
    "updated_at",
)


def _months_before(first: dt.date, months: int) -> str:
    year, month = first.year, first.month - months
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _insert_ignore(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _write(conn: Connection, bills: list[tuple[Any, ...]], sms: list[tuple[Any, ...]]) -> None:
    """Write a batch's bills and their SMS rows; the unique keys decide, so nothing is written twice.

    PostgreSQL: COPY straight into the tables (ten times faster than INSERTs) inside a savepoint; if a
    concurrent run got there first, the savepoint is rolled back and the batch goes in row by row with
    ON CONFLICT DO NOTHING. SQLite: that second way always.
    """
    if conn.dialect.name == "postgresql":
        from psycopg.errors import UniqueViolation

        raw = conn.connection.driver_connection
        savepoint = conn.begin_nested()
        try:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY bill ({', '.join(BILL_COLUMNS)}) FROM STDIN") as copy:
                    for row in bills:
                        copy.write_row(row)
                with cursor.copy(f"COPY outbox ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN") as copy:
                    for row in sms:
                        copy.write_row((*row[:4], json.dumps(row[4]), *row[5:]))
            savepoint.commit()
            return
        except (IntegrityError, UniqueViolation):
            savepoint.rollback()
    conn.execute(_insert_ignore(conn, Bill.__table__), [dict(zip(BILL_COLUMNS, row, strict=True)) for row in bills])
    if sms:
        conn.execute(
            _insert_ignore(conn, Outbox.__table__), [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for row in sms]
        )


@dataclass(frozen=True)
class RevisedBill:
    account_no: str
    cycle: str
    version: int
    units: int
    old_amount_paise: int
    amount_paise: int
    sms_to: str | None = None  # the mobile told the revised amount ("bill.revised"); None: nobody could be


REVISED_TEMPLATE = "bill.revised"
ON_REQUEST_TEMPLATE = "bill.revised_on_request"


def revise_bill(
    uow: UnitOfWork,
    raw_account_no: str,
    raw_cycle: str,
    *,
    reason: str,
    actor: str,
    current_kwh: int | None = None,
    units: int | None = None,
    now: dt.datetime | None = None,
    on_request: bool = False,
) -> RevisedBill:
    """Issue a new version of an account's bill for a cycle, keeping the old one as superseded.

    With `current_kwh` the units come from the corrected reading (an actual bill); with `units` they
    are set directly (an assessment corrected by an officer); with neither, the charges are only
    recomputed. The tariff is the one the original bill was issued under. Arrears and surcharge carry
    over unchanged; payments made since the cycle's first bill still count against it (see
    `cis.accounts.account_summary`). An audit row records who revised it, why, and both amounts. The consumer
    is told the new amount, the old one and the due date by SMS ("bill.revised", through the outbox, in the
    same transaction) on the account's first mobile, unless the account opted out of SMS. A revision the
    consumer asked for (`on_request`, a bill-revision request approved) is their answer: it goes at once, day or
    night, and even to an account that opted out of alerts ("bill.revised_on_request", the same words).
    """
    account_no = parse_account_no(raw_account_no)
    cycle = parse_cycle(raw_cycle)[0]
    if not reason or not reason.strip():
        raise BillingError("Please give the reason for the revision.")
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        account = session.scalar(select(Account).where(Account.account_no == account_no))
        if account is None:
            raise UnknownAccount(account_no)
        old = session.scalars(
            select(Bill)
            .where(Bill.account_id == account.id, Bill.cycle == cycle, Bill.status != "superseded")
            .order_by(Bill.version.desc())
            .limit(1)
        ).first()
        if old is None:
            raise UnknownBill(account_no, cycle)
        schedule = stored_schedule(session, old.tariff_schedule_id) or tariffs.schedule_on(
            tariffs.load_schedules(), old.period_end
        )
        tariff = schedule.categories[old.category]
        basis = old.basis
        new_kwh = old.current_kwh
        if current_kwh is not None:
            if old.previous_kwh is None:
                raise BillingError("This bill has no previous reading to measure a corrected one against.")
            new_units = tariffs.units_between(old.previous_kwh, current_kwh)
            new_kwh, basis = current_kwh, "actual"
        elif units is not None:
            if units < 0:
                raise BillingError("Units cannot be negative.")
            new_units = units
        else:
            new_units = old.units
        days = max(1, (old.period_end - old.period_start).days)
        charges = tariffs.calculate(tariff, load_kw=Decimal(old.load_kw), units=new_units, days=days)
        amount = charges.total_paise + old.arrears_paise + old.lps_paise
        old.status = "superseded"
        new = Bill(
            account_id=old.account_id,
            cycle=cycle,
            version=old.version + 1,
            period_start=old.period_start,
            period_end=old.period_end,
            previous_kwh=old.previous_kwh,
            current_kwh=new_kwh,
            units=new_units,
            basis=basis,
            category=old.category,
            load_kw=old.load_kw,
            energy_paise=charges.energy_paise,
            fixed_paise=charges.fixed_paise,
            duty_paise=charges.duty_paise,
            other_paise=charges.minimum_topup_paise + charges.rounding_paise,
            arrears_paise=old.arrears_paise,
            lps_paise=old.lps_paise,
            amount_paise=amount,
            due_date=max(old.due_date, at.date() + dt.timedelta(days=DUE_AFTER_DAYS)),
            status="issued",
            issued_at=at,
            tariff_schedule_id=old.tariff_schedule_id,
            supersedes_id=old.id,
            revision_reason=reason.strip()[:300],
        )
        session.add(new)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="bill.revised",
            entity="bill",
            entity_id=new.id,
            at=at,
            account_no=account_no,
            cycle=cycle,
            old_bill=old.id,
            old_amount_paise=old.amount_paise,
            amount_paise=amount,
            old_units=old.units,
            units=new_units,
            reason=reason.strip(),
        )
        quiet = not on_request and (account.sms_opt_out or not account.alert_bill)  # no SMS, or no bill SMS
        sms_to = None if quiet else next(iter(notify.account_mobiles(session, account.id)), None)
        if sms_to is not None:
            notify.enqueue(
                session,
                channel="sms",
                template=ON_REQUEST_TEMPLATE if on_request else REVISED_TEMPLATE,
                recipient=sms_to,
                dedupe_key=f"{REVISED_TEMPLATE}:{account.id}:{cycle}:{new.version}:{sms_to}",
                payload={
                    "account_no": account_no,
                    "cycle": cycle,
                    "amount_paise": amount,
                    "old_amount_paise": old.amount_paise,
                    "due": new.due_date.isoformat(),
                },
                at=at,
                account_id=account.id,
            )
        uow.commit()
        return RevisedBill(account_no, cycle, new.version, new_units, old.amount_paise, amount, sms_to)
