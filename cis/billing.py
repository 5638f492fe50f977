"""The monthly billing run and bill revisions: readings in, versioned bills and "bill on SMS" rows out.

Set-based: accounts are read in batches by id range, each batch's readings, previous bills and
payments come from a handful of queries with window functions, the charges are computed in Python
by `cis.tariffs.calculate`, and the bills go in with one bulk statement per batch. The unique key
(account, cycle, version) makes a re-run skip what is already billed, however often it is started.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, and_, cast, func, insert, literal, select
from sqlalchemy.orm import Session

from cis import audit, tariffs
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
from cis.models.base import UtcDateTime
from cis.numbers import parse_account_no

TARIFF_FILE = Path(__file__).with_name("data") / "tariff_schedules.json"
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
class BillRunReport:
    cycle: str
    accounts: int = 0
    billed: int = 0
    already_billed: int = 0
    actual: int = 0
    estimated: int = 0
    assessed: int = 0
    sms_queued: int = 0
    held: int = 0  # accounts not billed because their data needs a look first (e.g. a reading going backwards)
    held_reasons: list[str] = field(default_factory=list)  # the first few, "account: reason"
    seconds: float = 0.0


def tariffs_file_data() -> dict[str, Any]:
    """The tariff data file as written: what a schedule row stores, so a revision can re-read it."""
    data: dict[str, Any] = json.loads(TARIFF_FILE.read_text(encoding="utf-8"))
    return data


def stored_schedule(session: Session, schedule_id: int | None) -> tariffs.Schedule | None:
    """The schedule a bill was issued under, as stored with it (later data files cannot change it)."""
    if schedule_id is None:
        return None
    data = session.scalar(select(TariffSchedule.data).where(TariffSchedule.id == schedule_id))
    if not data or "categories" not in data or "code" not in data:
        return None
    return tariffs.parse_schedules({"schedules": [data]})[0]


def sync_schedules(session: Session, schedules: Sequence[tariffs.Schedule], at: dt.datetime) -> dict[str, int]:
    """Store schedules not yet in the database (never touching stored ones); code -> row id."""
    stored = {code: id_ for code, id_ in session.execute(select(TariffSchedule.code, TariffSchedule.id))}
    raw = {data["code"]: data for data in tariffs_file_data()["schedules"]}
    for schedule in schedules:
        if schedule.code not in stored:
            row = TariffSchedule(
                code=schedule.code,
                effective_from=schedule.effective_from,
                source=schedule.source,
                data=raw[schedule.code],
                loaded_at=at,
            )
            session.add(row)
            session.flush()
            stored[schedule.code] = row.id
    return stored


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
    lps_rate = schedule.lps_basis_points_per_month

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
    if progress:
        progress(0, total)
    for start in range(int(lo), int(hi) + 1, batch):
        end = start + batch - 1
        with engine.begin() as conn:
            rows = _bill_batch(
                conn,
                start,
                end,
                scope,
                cycle,
                month_start,
                month_end,
                schedule,
                schedule_id,
                issue_day,
                due,
                lps_rate,
                at,
                report,
            )
            done += rows
        if progress:
            progress(min(done, total), total)
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
    lps_rate: int,
    at: dt.datetime,
    report: BillRunReport,
) -> int:
    in_range = and_(Account.id >= start, Account.id <= end, Account.status.in_(BILLABLE_STATUSES))
    accounts_q = (
        select(Account.id, Account.category, Account.sanctioned_load_kw, Account.connected_on, Meter.status)
        .outerjoin(Meter, and_(Meter.account_id == Account.id, Meter.removed_on.is_(None)))
        .where(in_range)
    )
    if scope is not None:
        accounts_q = (
            accounts_q.join(DT, DT.id == Account.dt_id)
            .join(Feeder, Feeder.id == DT.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .where(Substation.sub_division_id.in_(scope))
        )
    accounts = conn.execute(accounts_q).all()
    if not accounts:
        return 0
    report.accounts += len(accounts)
    billed = {
        r[0]
        for r in conn.execute(select(Bill.account_id).where(Bill.account_id.between(start, end), Bill.cycle == cycle))
    }

    ranked = (
        select(
            Bill.account_id,
            Bill.current_kwh,
            Bill.period_start,
            Bill.period_end,
            Bill.amount_paise,
            Bill.issued_at,
            Bill.due_date,
            Bill.units,
            Bill.basis,
            func.row_number()
            .over(partition_by=Bill.account_id, order_by=(Bill.cycle.desc(), Bill.version.desc()))
            .label("rank"),
            func.row_number()
            .over(partition_by=(Bill.account_id, Bill.cycle), order_by=Bill.version.desc())
            .label("latest"),
        )
        .where(Bill.account_id.between(start, end), Bill.cycle < cycle, Bill.status != "superseded")
        .subquery()
    )
    history: dict[int, list[Any]] = {}
    for row in conn.execute(
        select(ranked).where(ranked.c.latest == 1, ranked.c.rank <= 4).order_by(ranked.c.account_id, ranked.c.rank)
    ):
        history.setdefault(row.account_id, []).append(row)
    last_reading = (
        select(
            Reading.account_id,
            Reading.kwh,
            Reading.read_on,
            func.row_number()
            .over(partition_by=Reading.account_id, order_by=(Reading.read_on.desc(), Reading.id.desc()))
            .label("rank"),
        )
        .where(
            Reading.account_id.between(start, end),
            Reading.read_on.between(month_start, month_end),
            Reading.kind.in_(("actual", "consumer")),
        )
        .subquery()
    )
    readings = {r.account_id: r for r in conn.execute(select(last_reading).where(last_reading.c.rank == 1))}
    earliest = min((rows[0].issued_at for rows in history.values() if rows), default=None)
    paid: dict[int, int] = {}
    if earliest is not None:
        for account_id, paid_at, amount in conn.execute(
            select(Payment.account_id, Payment.paid_at, Payment.amount_paise).where(
                Payment.account_id.between(start, end), Payment.status == "success", Payment.paid_at >= earliest
            )
        ):
            last = history.get(account_id)
            if last and paid_at >= last[0].issued_at:
                paid[account_id] = paid.get(account_id, 0) + int(amount)

    new_bills: list[dict[str, Any]] = []
    for account_id, category, load_kw, connected_on, meter_status in accounts:
        if account_id in billed:
            report.already_billed += 1
            continue
        tariff = schedule.categories.get(category)
        if tariff is None:
            continue
        past = history.get(account_id, [])
        previous = past[0] if past else None
        period_start = previous.period_end if previous else max(connected_on, month_start)
        reading = readings.get(account_id)
        period_end = reading.read_on if reading is not None else month_end
        days = max(1, (period_end - period_start).days)
        previous_kwh = previous.current_kwh if previous else None
        actual_days = [(r.units, (r.period_end - r.period_start).days) for r in past[:3] if r.basis == "actual"]
        use_per_day = (sum(u for u, _ in actual_days) / max(1, sum(d for _, d in actual_days))) if actual_days else None
        if meter_status in ("defective", "burnt"):
            basis = "assessed"
            units = round(use_per_day * days) if use_per_day is not None else _assessed_units(category, load_kw, days)
            current_kwh = previous_kwh
        elif reading is not None and previous_kwh is not None:
            basis = "actual"
            try:
                units = tariffs.units_between(previous_kwh, reading.kwh)
            except CisError as exc:
                # One implausible reading must not stop a million bills: hold this one for the office.
                report.held += 1
                if len(report.held_reasons) < 100:
                    report.held_reasons.append(f"account id {account_id}: {exc}")
                continue
            current_kwh = reading.kwh
        elif reading is not None:
            basis, units, current_kwh = "actual", 0, reading.kwh  # first reading of a new connection
        else:
            basis = "estimated"
            units = round(use_per_day * days) if use_per_day is not None else _assessed_units(category, load_kw, days)
            current_kwh = None if previous_kwh is None else previous_kwh + units
        charges = tariffs.calculate(tariff, load_kw=Decimal(load_kw), units=units, days=days)
        arrears = lps = 0
        if previous is not None:
            arrears = max(0, int(previous.amount_paise) - paid.get(account_id, 0))
            if arrears and previous.due_date < issue_day:
                lps = (arrears * lps_rate + 5_000) // 10_000
        amount = charges.total_paise + arrears + lps
        new_bills.append(
            {
                "account_id": account_id,
                "cycle": cycle,
                "version": 1,
                "period_start": period_start,
                "period_end": period_end,
                "previous_kwh": previous_kwh,
                "current_kwh": current_kwh,
                "units": units,
                "basis": basis,
                "category": category,
                "load_kw": load_kw,
                "energy_paise": charges.energy_paise,
                "fixed_paise": charges.fixed_paise,
                "duty_paise": charges.duty_paise,
                "other_paise": charges.minimum_topup_paise + charges.rounding_paise,
                "arrears_paise": arrears,
                "lps_paise": lps,
                "amount_paise": amount,
                "due_date": due,
                "status": "issued",
                "issued_at": at,
                "tariff_schedule_id": schedule_id,
                "supersedes_id": None,
                "revision_reason": None,
            }
        )
        setattr(report, basis, getattr(report, basis) + 1)
    if new_bills:
        # ON CONFLICT DO NOTHING: a concurrent run of the same cycle cannot make a second bill.
        _write_bills(conn, new_bills)
        report.billed += len(new_bills)
        report.sms_queued += _queue_bill_sms(conn, start, end, cycle, at)
    return len(accounts)


def _insert_ignore(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _queue_bill_sms(conn: Connection, start: int, end: int, cycle: str, at: dt.datetime) -> int:
    """One "bill on SMS" row per new bill with a reachable mobile (the first registered), in one statement.

    The dedupe key (bill, mobile) makes a re-run, or a run racing this one, add nothing twice.
    """
    json_object = func.json_build_object if conn.dialect.name == "postgresql" else func.json_object
    first_mobile = (
        select(AccountMobile.account_id, func.min(AccountMobile.id).label("mobile_id"))
        .where(AccountMobile.account_id.between(start, end))
        .group_by(AccountMobile.account_id)
        .subquery()
    )
    rows = (
        select(
            literal("sms"),
            literal("bill.issued"),
            AccountMobile.e164,
            Bill.account_id,
            json_object(
                "account_no",
                Account.account_no,
                "cycle",
                Bill.cycle,
                "amount_paise",
                Bill.amount_paise,
                "due",
                cast(Bill.due_date, String),
                "units",
                Bill.units,
            ),
            literal("bill.issued:") + cast(Bill.id, String) + literal(":") + AccountMobile.e164,
            literal("pending"),
            literal(5),
            literal(0),
            literal(at, UtcDateTime()),
            literal(at, UtcDateTime()),
        )
        .join(Account, Account.id == Bill.account_id)
        .join(first_mobile, first_mobile.c.account_id == Bill.account_id)
        .join(AccountMobile, AccountMobile.id == first_mobile.c.mobile_id)
        .where(
            Bill.account_id.between(start, end), Bill.cycle == cycle, Bill.version == 1, Account.sms_opt_out.is_(False)
        )
    )
    columns = [
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
    ]
    statement = _insert_ignore(conn, Outbox.__table__).from_select(columns, rows)
    return len(conn.execute(statement.returning(Outbox.id)).all())


def _write_bills(conn: Connection, bills: list[dict[str, Any]]) -> None:
    """Insert a batch of new bills, skipping any (account, cycle, version) that exists already.

    PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING (COPY is ten
    times faster than multi-row INSERTs). SQLite: executemany of the same INSERT.
    """
    if conn.dialect.name != "postgresql":
        conn.execute(_insert_ignore(conn, Bill.__table__), bills)
        return
    names = [c for c in bills[0]]
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS bill_stage (LIKE bill INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    raw = conn.connection.driver_connection
    column_list = ", ".join(names)
    with raw.cursor() as cursor, cursor.copy(f"COPY bill_stage ({column_list}) FROM STDIN") as copy:
        for bill in bills:
            copy.write_row([bill[name] for name in names])
    conn.exec_driver_sql(
        f"INSERT INTO bill ({column_list}) SELECT {column_list} FROM bill_stage ON CONFLICT DO NOTHING"
    )
    conn.exec_driver_sql("TRUNCATE bill_stage")


@dataclass(frozen=True)
class RevisedBill:
    account_no: str
    cycle: str
    version: int
    units: int
    old_amount_paise: int
    amount_paise: int


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
) -> RevisedBill:
    """Issue a new version of an account's bill for a cycle, keeping the old one as superseded.

    With `current_kwh` the units come from the corrected reading (an actual bill); with `units` they
    are set directly (an assessment corrected by an officer); with neither, the charges are only
    recomputed. The tariff is the one the original bill was issued under. Arrears and surcharge carry
    over unchanged; payments made since the cycle's first bill still count against it (see
    `cis.accounts.account_summary`). An audit row records who revised it, why, and both amounts.
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
        uow.commit()
        return RevisedBill(account_no, cycle, new.version, new_units, old.amount_paise, amount)
