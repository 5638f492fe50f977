"""What a signed-in consumer sees of one account: the overview, the current bill itemised, bills, payments, use.

Every use case takes the account's row id: the portal has already checked that the signed-in consumer holds
it, so a bill or payment of another account is simply not found (the page answers 404). Each reads with a
few indexed queries, each statement built once and prepared by the server (`UnitOfWork.reading`: no
transaction on PostgreSQL), as rows rather than ORM objects (a page of "my account" is one `my_account` call,
four statements):
- the account with its consumer, feeder and sub-division: primary keys;
- mobiles and meters in one statement: the unique key (account_id, e164); ix on meter.account_id;
- bills: the unique key (account_id, cycle, version), read backwards from the newest cycle;
- payments: ix_payment_account_id_paid_at, read backwards from the newest; what was paid since the current
  bill is counted from them when they reach back past it, else with one statement more.

The bill's charges are shown exactly as the billing run stored them (energy, fixed, duty, other, arrears,
surcharge, total). The run does not store the energy slabs, so they are worked out again with
`cis.tariffs` under the schedule the bill was issued with, over the period the run charged; they are shown
only when they add up to the stored energy charge, never as a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Date,
    Result,
    Select,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from cis import tariffs
from cis.bill_explain import BillExplanation, explain_bill, explanation, previous_cycle, same_month_last_year
from cis.billing import stored_schedule
from cis.db import UnitOfWork
from cis.errors import CisError, NoScheduleInForce
from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Consumer,
    DistributionTransformer,
    Feeder,
    Meter,
    Payment,
    SubDivision,
    Substation,
    TariffSchedule,
)
from cis.models.accounts import CATEGORIES
from cis.numbers import bill_no_for_id
from cis.phones import mask_mobile

BILL_MONTHS = 24  # bill history: two years, as the SOP lets a consumer dispute
CONSUMPTION_MONTHS = 12
PAYMENTS_SHOWN = 24
MONTH_DAYS = 30  # the billing run pro-rates slabs and charges on a 30-day month (cis.tariffs.calculate)


class AccountNotFound(CisError):
    """No account has this id (or it is not the signed-in consumer's)."""

    def __init__(self, account_id: int) -> None:
        super().__init__("This account is not on record.")
        self.account_id = account_id


class BillNotFound(CisError):
    """The account has no bill with this id."""

    def __init__(self, bill_id: int) -> None:
        super().__init__("This bill is not on record for your account.")
        self.bill_id = bill_id


@dataclass(frozen=True)
class MobileOnRecord:
    id: int  # the row id, for "remove this mobile"
    masked: str  # +91*******210: the page never shows a whole number
    verified: bool


@dataclass(frozen=True)
class AccountOverview:
    """The account as its holder sees it at the top of "my account" and of a bill."""

    account_id: int
    account_no: str
    name: str
    name_hi: str | None
    address: str
    address_hi: str | None
    category: str  # tariff category code, e.g. LMV-1U
    category_description: str  # in English; pages and bills translate it
    sanctioned_load_kw: Decimal
    supply_type: str
    status: str  # active | temp_disconnected | perm_disconnected
    connected_on: dt.date
    feeder_id: int
    feeder_code: str
    feeder_name: str
    sub_division: str
    sub_division_hi: str | None
    meter_no: str | None  # the meter in service (None: none on record)
    meters: tuple[tuple[str, dt.date, dt.date | None], ...]  # (number, installed, removed) of each, newest first
    mobiles: tuple[MobileOnRecord, ...]
    alert_channel: str  # sms | voice
    sms_opt_out: bool
    preferred_language: str


@dataclass(frozen=True)
class SlabLine:
    """One energy slab of a bill: units `first_unit`..`last_unit` (None: no upper bound) at a rate."""

    first_unit: int  # 0 for the first slab, as bills print 0-100, 101-150, ...
    last_unit: int | None
    units: int
    paise_per_unit: int
    amount_paise: int


@dataclass(frozen=True)
class BillDocument:
    """One bill, itemised as the billing run stored it, with what a printed bill also says."""

    bill_id: int
    account: AccountOverview
    cycle: str  # YYYY-MM
    version: int
    status: str  # issued | part_paid | paid | superseded
    issued_on: dt.date
    period_start: dt.date
    period_end: dt.date
    previous_kwh: int | None
    current_kwh: int | None
    units: int
    basis: str  # actual | estimated | assessed
    category: str  # as billed (the account's may have changed since)
    load_kw: Decimal  # as billed
    meter_no: str | None  # the meter in service at the end of the period
    slabs: tuple[SlabLine, ...] | None  # None: the breakdown cannot be worked out to the stored energy charge
    energy_paise: int
    fixed_paise: int
    minimum_paise: int  # the minimum charge's top-up, when it can be told apart from the rounding
    duty_paise: int
    rounding_paise: int  # other_paise less the minimum top-up
    arrears_paise: int
    lps_paise: int
    amount_paise: int  # payable by the due date
    due_date: dt.date
    lps_basis_points_per_month: int
    amount_after_due_paise: int  # payable after the due date: one month's surcharge on the amount
    paid_paise: int  # received since the cycle's first bill was issued
    outstanding_paise: int  # what is still payable on this bill (0 when paid or in credit)
    schedule_code: str | None
    supersedes_id: int | None
    revision_reason: str | None
    # Compensation (Standards of Performance) credited on this bill, already taken off `amount_paise`.
    compensation_paise: int = 0

    @property
    def bill_no(self) -> str:
        """The number printed on the bill (12 digits), which registering on the portal asks for."""
        return bill_no_for_id(self.bill_id)

    @property
    def supersedes_no(self) -> str | None:
        """The number of the bill this revision replaces, if it is one."""
        return bill_no_for_id(self.supersedes_id) if self.supersedes_id is not None else None

    @property
    def period_days(self) -> int:
        return max(1, (self.period_end - self.period_start).days)

    def charge_lines(self) -> list[tuple[str, int]]:
        """(line, paise) in the order a bill prints them, zero lines left out but for energy and the total.

        Their sum, less the total, is the total: the lines are the stored figures.
        """
        lines = [("energy", self.energy_paise), ("fixed", self.fixed_paise)]
        optional = (
            ("minimum", self.minimum_paise),
            ("duty", self.duty_paise),
            ("rounding", self.rounding_paise),
            ("arrears", self.arrears_paise),
            ("lps", self.lps_paise),
            ("compensation", -self.compensation_paise),
        )
        lines.extend((name, paise) for name, paise in optional if paise or name == "duty")
        lines.append(("total", self.amount_paise))
        return lines


@dataclass(frozen=True)
class BillRow:
    """A line of the bill history."""

    bill_id: int
    cycle: str
    version: int  # above 1: revised
    issued_on: dt.date
    units: int
    basis: str
    amount_paise: int
    due_date: dt.date
    status: str

    @property
    def bill_no(self) -> str:
        return bill_no_for_id(self.bill_id)


@dataclass(frozen=True)
class PaymentRow:
    payment_id: int
    paid_at: dt.datetime
    amount_paise: int
    channel: str
    status: str  # success | refunded
    receipt: str | None  # the gateway's reference, if any
    cycle: str | None  # the bill it was made against, if known


@dataclass(frozen=True)
class ConsumptionRow:
    """Units of one billing cycle; `units` None when the cycle has no bill."""

    cycle: str
    units: int | None
    basis: str | None
    days: int | None

    @property
    def per_day(self) -> Decimal | None:
        if self.units is None or not self.days:
            return None
        return (Decimal(self.units) / self.days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MyAccount:
    """Everything the "my account" page shows, read in one transaction."""

    overview: AccountOverview
    current_bill: BillDocument | None
    bills: list[BillRow]
    payments: list[PaymentRow]
    consumption: list[ConsumptionRow]
    explanation: BillExplanation | None  # "why is my bill high?": what `why_is_my_bill_high` (the IVR) says


# ------------------------------------------------------------------------------------------------
# Reading


@functools.cache
def _overview_statement() -> Select[Any]:
    """`_overview`'s first query, built once (every "my account" page runs it), the account bound."""
    return (
        select(
            Account.account_no,
            Consumer.name,
            Consumer.name_hi,
            Account.address,
            Account.address_hi,
            Account.category,
            Account.sanctioned_load_kw,
            Account.supply_type,
            Account.status,
            Account.connected_on,
            Feeder.id,
            Feeder.code,
            Feeder.name,
            SubDivision.name,
            SubDivision.name_hi,
            Account.alert_channel,
            Account.sms_opt_out,
            Consumer.preferred_language,
        )
        .join(Consumer, Consumer.id == Account.consumer_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .where(Account.id == bindparam("account_id"))
    )


def _run(session: Session, statement: Any, params: dict[str, Any]) -> Result[Any]:
    """`statement` on the session's connection: plain rows, without the ORM's per-statement work."""
    return session.connection().execute(statement, params)


@functools.cache
def _mobiles_and_meters_statement() -> CompoundSelect:
    """The account's mobiles and meters in one statement (one round trip), the account bound: rows of
    (kind 'm', id, e164, verified, None, None) and (kind 'r', id, number, None, installed_on, removed_on)."""
    return union_all(
        select(
            literal("m").label("kind"),
            AccountMobile.id.label("id"),
            AccountMobile.e164.label("text"),
            AccountMobile.verified.label("verified"),
            cast(null(), Date).label("installed_on"),
            cast(null(), Date).label("removed_on"),
        ).where(AccountMobile.account_id == bindparam("account_id")),
        select(
            literal("r"),
            Meter.id,
            Meter.number,
            cast(null(), Boolean),
            Meter.installed_on,
            Meter.removed_on,
        ).where(Meter.account_id == bindparam("account_id")),
    )


def _overview(session: Session, account_id: int) -> AccountOverview:
    params = {"account_id": account_id}
    row = _run(session, _overview_statement(), params).first()
    if row is None:
        raise AccountNotFound(account_id)
    mobile_rows, meter_rows = [], []
    for kind, id_, text, verified, installed, removed in _run(session, _mobiles_and_meters_statement(), params):
        if kind == "m":
            mobile_rows.append((id_, text, bool(verified)))
        else:
            meter_rows.append((installed, id_, text, removed))
    mobiles = tuple(MobileOnRecord(id_, mask_mobile(e164), verified) for id_, e164, verified in sorted(mobile_rows))
    # Newest first: by installation date, then by id.
    meters = [(number, installed, removed) for installed, _id, number, removed in sorted(meter_rows, reverse=True)]
    (
        account_no,
        name,
        name_hi,
        address,
        address_hi,
        category,
        load_kw,
        supply_type,
        status,
        connected_on,
        feeder_id,
        feeder_code,
        feeder_name,
        sub_division,
        sub_division_hi,
        alert_channel,
        sms_opt_out,
        language,
    ) = row
    return AccountOverview(
        account_id=account_id,
        account_no=account_no,
        name=name,
        name_hi=name_hi,
        address=address,
        address_hi=address_hi,
        category=category,
        category_description=CATEGORIES.get(category, category),
        sanctioned_load_kw=Decimal(load_kw),
        supply_type=supply_type,
        status=status,
        connected_on=connected_on,
        feeder_id=feeder_id,
        feeder_code=feeder_code,
        feeder_name=feeder_name,
        sub_division=sub_division,
        sub_division_hi=sub_division_hi,
        meter_no=_meter_on(meters, None),
        meters=tuple(meters),
        mobiles=mobiles,
        alert_channel=alert_channel,
        sms_opt_out=bool(sms_opt_out),
        preferred_language=language,
    )


def _meter_on(meters: list[tuple[str, dt.date, dt.date | None]], on: dt.date | None) -> str | None:
    """The meter in service on `on` (None: now), else the newest one installed."""
    for number, installed, removed in meters:
        if on is None and removed is None:
            return number
        if on is not None and installed <= on and (removed is None or removed >= on):
            return number
    return meters[0][0] if meters else None


def _latest_bills(session: Session, account_id: int, limit: int) -> list[tuple[Any, str | None]]:
    """The account's bills, one per cycle (the version in force), newest first, with their schedule's code.

    Each bill is a row with the columns of `Bill` as attributes (bill.cycle, bill.units, ...), not an ORM object:
    a page reads 24 of them and changes none."""
    rows = _run(session, _latest_bills_statement(limit), {"account_id": account_id})
    return [(row, row.schedule_code) for row in rows]


def _bill_columns() -> list[Any]:
    return [*Bill.__table__.columns, TariffSchedule.code.label("schedule_code")]


@functools.cache
def _latest_bills_statement(limit: int) -> Select[Any]:
    """`_latest_bills`' query, built once per `limit`, the account bound."""
    return (
        select(*_bill_columns())
        .outerjoin(TariffSchedule, TariffSchedule.id == Bill.tariff_schedule_id)
        .where(Bill.account_id == bindparam("account_id"), Bill.status != "superseded")
        .order_by(Bill.cycle.desc(), Bill.version.desc())
        .limit(limit)
    )


def slab_lines(tariff: tariffs.CategoryTariff, units: int, days: int) -> tuple[SlabLine, ...]:
    """The telescoping energy slabs `units` fill over a `days`-day period, as `cis.tariffs.calculate` charges."""
    bands = tariff.bands(days, MONTH_DAYS)
    lines: list[SlabLine] = []
    lower = 0
    for bound, rate in zip(bands.bounds, bands.rates, strict=True):
        top = units if bound is None or units <= bound else bound
        inside = top - lower
        if inside > 0:
            lines.append(SlabLine(lower + 1 if lower else 0, bound, inside, rate, inside * rate))
        if top == units:
            break
        lower = top
    return tuple(lines)


# Stored schedules parsed, by code: a schedule is never edited in place (a new code is added), so a page
# need not read and parse its JSON again. Few codes ever exist; the bound only guards against a surprise.
_SCHEDULES: dict[str, tariffs.Schedule] = {}
_SCHEDULES_KEPT = 64


def _schedule(session: Session, bill: Any, code: str | None) -> tariffs.Schedule | None:
    """The schedule the bill was issued under (stored with it), else the one in force at the period's end."""
    found = _SCHEDULES.get(code) if code is not None else None
    if found is None:
        found = stored_schedule(session, bill.tariff_schedule_id)
        if found is not None and found.code == code and len(_SCHEDULES) < _SCHEDULES_KEPT:
            _SCHEDULES[found.code] = found
    if found is not None:
        return found
    try:
        return tariffs.schedule_on(tariffs.load_schedules(), bill.period_end)
    except NoScheduleInForce:
        return None


def _itemise(schedule: tariffs.Schedule | None, bill: Any) -> tuple[tuple[SlabLine, ...] | None, int]:
    """The bill's slabs and minimum top-up, worked out again; (None, 0) when they do not match what is stored.

    The billing run charges the days between the readings (slabs and fixed charge pro-rated on a 30-day
    month); bills loaded from elsewhere (the demo seed, a legacy system) charge whole months. Both are
    tried, and a breakdown is given only when its slabs add up to the stored energy charge.
    """
    tariff = schedule.categories.get(bill.category) if schedule is not None else None
    if tariff is None:
        return None, 0
    days = max(1, (bill.period_end - bill.period_start).days)
    whole_months = MONTH_DAYS * max(1, round(days / MONTH_DAYS))
    for period in dict.fromkeys((days, whole_months)):
        lines = slab_lines(tariff, bill.units, period)
        if sum(line.amount_paise for line in lines) != bill.energy_paise:
            continue
        minimum = 0
        try:
            charges = tariffs.calculate(tariff, load_kw=Decimal(bill.load_kw), units=bill.units, days=period)
        except CisError:
            charges = None
        if (
            charges is not None
            and charges.fixed_paise == bill.fixed_paise
            and charges.duty_paise == bill.duty_paise
            and charges.minimum_topup_paise + charges.rounding_paise == bill.other_paise
        ):
            minimum = charges.minimum_topup_paise
        return lines, minimum
    return None, 0


@functools.cache
def _paid_since_cycle_statement() -> Select[Any]:
    # Payments count from the cycle's first bill, as in cis.accounts.account_summary: a revision does not
    # forget what was paid.
    cycle_issued = (
        select(func.min(Bill.issued_at))
        .where(Bill.account_id == bindparam("account_id"), Bill.cycle == bindparam("cycle"))
        .scalar_subquery()
    )
    return select(func.coalesce(func.sum(Payment.amount_paise), 0)).where(
        Payment.account_id == bindparam("account_id"),
        Payment.status == "success",
        Payment.paid_at >= cycle_issued,
    )


def _paid_since_cycle(session: Session, account_id: int, cycle: str) -> int:
    paid = _run(session, _paid_since_cycle_statement(), {"account_id": account_id, "cycle": cycle}).scalar()
    return int(paid or 0)


def _paid_among(payments: list[PaymentRow], bill: Any, shown: int) -> int | None:
    """What `_paid_since_cycle` would say, from the newest payments already read, when they are sure to hold
    every payment since the cycle's first bill: the bill is its cycle's first (so its issue is the cycle's), and
    either fewer than `shown` payments exist or the oldest of them was made before it. None when not sure."""
    if bill.version != 1:
        return None
    since = bill.issued_at
    if len(payments) >= shown and payments[-1].paid_at >= since:
        return None
    return sum(p.amount_paise for p in payments if p.status == "success" and p.paid_at >= since)


def _document(
    session: Session, bill: Any, code: str | None, overview: AccountOverview, *, paid: int | None = None
) -> BillDocument:
    schedule = _schedule(session, bill, code)
    slabs, minimum = _itemise(schedule, bill)
    rate = schedule.lps_basis_points_per_month if schedule is not None else 0
    if paid is None:
        paid = _paid_since_cycle(session, bill.account_id, bill.cycle)
    meter_no = _meter_on(list(overview.meters), bill.period_end)
    return BillDocument(
        bill_id=bill.id,
        account=overview,
        cycle=bill.cycle,
        version=bill.version,
        status=bill.status,
        issued_on=bill.issued_at.date(),
        period_start=bill.period_start,
        period_end=bill.period_end,
        previous_kwh=bill.previous_kwh,
        current_kwh=bill.current_kwh,
        units=bill.units,
        basis=bill.basis,
        category=bill.category,
        load_kw=Decimal(bill.load_kw),
        meter_no=meter_no,
        slabs=slabs,
        energy_paise=bill.energy_paise,
        fixed_paise=bill.fixed_paise,
        minimum_paise=minimum,
        duty_paise=bill.duty_paise,
        rounding_paise=bill.other_paise - minimum,
        arrears_paise=bill.arrears_paise,
        lps_paise=bill.lps_paise,
        amount_paise=bill.amount_paise,
        due_date=bill.due_date,
        lps_basis_points_per_month=rate,
        amount_after_due_paise=bill.amount_paise + (max(0, bill.amount_paise) * rate + 5_000) // 10_000,
        paid_paise=paid,
        outstanding_paise=max(0, bill.amount_paise - paid) if bill.status != "superseded" else 0,
        schedule_code=schedule.code if schedule is not None else None,
        supersedes_id=bill.supersedes_id,
        revision_reason=bill.revision_reason,
        compensation_paise=int(getattr(bill, "compensation_paise", 0) or 0),
    )


def _bill_row(bill: Any) -> BillRow:
    return BillRow(
        bill.id,
        bill.cycle,
        bill.version,
        bill.issued_at.date(),
        bill.units,
        bill.basis,
        bill.amount_paise,
        bill.due_date,
        bill.status,
    )


def _shift(cycle: str, months: int) -> str:
    year, month = int(cycle[:4]), int(cycle[5:7]) - months
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


def _consumption(bills: list[Bill], months: int) -> list[ConsumptionRow]:
    if not bills:
        return []
    newest = bills[0].cycle
    by_cycle = {b.cycle: b for b in bills}
    rows = []
    for back in range(months - 1, -1, -1):
        cycle = _shift(newest, back)
        b = by_cycle.get(cycle)
        if b is None:
            rows.append(ConsumptionRow(cycle, None, None, None))
        else:
            rows.append(ConsumptionRow(cycle, b.units, b.basis, max(1, (b.period_end - b.period_start).days)))
    return rows


def _payments(session: Session, account_id: int, limit: int) -> list[PaymentRow]:
    rows = _run(session, _payments_statement(limit), {"account_id": account_id})
    return [PaymentRow(*row) for row in rows]


@functools.cache
def _payments_statement(limit: int) -> Select[Any]:
    """`_payments`' query, built once per `limit`, the account bound."""
    return (
        select(
            Payment.id,
            Payment.paid_at,
            Payment.amount_paise,
            Payment.channel,
            Payment.status,
            Payment.gateway_ref,
            Bill.cycle,
        )
        .outerjoin(Bill, Bill.id == Payment.bill_id)
        .where(
            Payment.account_id == bindparam("account_id"),
            Payment.paid_at.is_not(None),
            Payment.status.in_(("success", "refunded")),
        )
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
        .limit(limit)
    )


# ------------------------------------------------------------------------------------------------
# Use cases


def account_overview(uow: UnitOfWork, account_id: int) -> AccountOverview:
    """Name, address, category, load, feeder, meter and the masked mobiles of the account; AccountNotFound."""
    with uow.reading():
        return _overview(uow.session, account_id)


def current_bill(uow: UnitOfWork, account_id: int) -> BillDocument | None:
    """The latest bill (the version in force of the newest cycle) itemised; None before a first bill."""
    with uow.reading():
        session = uow.session
        overview = _overview(session, account_id)
        bills = _latest_bills(session, account_id, 1)
        return _document(session, *bills[0], overview) if bills else None


def bill_document(uow: UnitOfWork, account_id: int, bill_id: int) -> BillDocument:
    """Any bill of the account itemised, a superseded version too (a revision shows both); BillNotFound."""
    with uow.reading():
        session = uow.session
        found = _run(session, _bill_statement(), {"bill_id": bill_id, "account_id": account_id}).first()
        if found is None:
            raise BillNotFound(bill_id)
        return _document(session, found, found.schedule_code, _overview(session, account_id))


@functools.cache
def _bill_statement() -> Select[Any]:
    """`bill_document`'s bill, built once: by its id and the account's (another account's bill is not found)."""
    return (
        select(*_bill_columns())
        .outerjoin(TariffSchedule, TariffSchedule.id == Bill.tariff_schedule_id)
        .where(Bill.id == bindparam("bill_id"), Bill.account_id == bindparam("account_id"))
    )


def bill_history(uow: UnitOfWork, account_id: int, *, months: int = BILL_MONTHS) -> list[BillRow]:
    """The bills of the last `months` cycles billed (the version in force of each), newest first."""
    with uow.reading():
        return [_bill_row(b) for b, _ in _latest_bills(uow.session, account_id, months)]


def bill_versions(uow: UnitOfWork, account_id: int, cycle: str) -> list[BillRow]:
    """Every version of one cycle's bill, newest first: a revised bill shows beside the one it replaced."""
    with uow.reading():
        bills = uow.session.scalars(
            select(Bill).where(Bill.account_id == account_id, Bill.cycle == cycle).order_by(Bill.version.desc())
        )
        return [_bill_row(b) for b in bills]


def payment_history(uow: UnitOfWork, account_id: int, *, limit: int = PAYMENTS_SHOWN) -> list[PaymentRow]:
    """Money received (and refunded) on the account, newest first."""
    with uow.reading():
        return _payments(uow.session, account_id, limit)


def consumption_history(uow: UnitOfWork, account_id: int, *, months: int = CONSUMPTION_MONTHS) -> list[ConsumptionRow]:
    """Units billed in each of the `months` cycles up to the latest bill, oldest first (gaps as None)."""
    with uow.reading():
        return _consumption([b for b, _ in _latest_bills(uow.session, account_id, months)], months)


def my_account(uow: UnitOfWork, account_id: int) -> MyAccount:
    """The whole "my account" page in four indexed queries (five when more payments were made since the current
    bill than the page lists, or the bill is a revision); AccountNotFound.

    Its explanation of the current bill is `cis.bill_explain`'s (what the IVR speaks), made from the bills
    already read: the previous cycle's and the same month's a year before are among the newest 24.
    """
    months = max(BILL_MONTHS, CONSUMPTION_MONTHS, 13)
    with uow.reading():
        session = uow.session
        overview = _overview(session, account_id)
        found = _latest_bills(session, account_id, months)
        bills = [b for b, _ in found]
        payments = _payments(session, account_id, PAYMENTS_SHOWN)
        current = None
        if found:
            paid = _paid_among(payments, found[0][0], PAYMENTS_SHOWN)
            current = _document(session, *found[0], overview, paid=paid)
        return MyAccount(
            overview=overview,
            current_bill=current,
            bills=[_bill_row(b) for b in bills[:BILL_MONTHS]],
            payments=payments,
            consumption=_consumption(bills, CONSUMPTION_MONTHS),
            explanation=_explanation(session, found) if found else None,
        )


def _explanation(session: Session, found: list[tuple[Bill, str | None]]) -> BillExplanation:
    """`cis.bill_explain.explanation` of the newest bill, from `found` (newest first, the version in force of
    each cycle first) and the schedule kept by code."""
    latest, code = found[0]
    units: dict[str, int] = {}
    for bill, _ in found:
        units.setdefault(bill.cycle, bill.units)
    return explanation(
        latest,
        units_last_bill=units.get(previous_cycle(latest.cycle)),
        units_same_month_last_year=units.get(same_month_last_year(latest.cycle)),
        schedule=_schedule(session, latest, code),
    )


def why_is_my_bill_high(uow: UnitOfWork, account_id: int) -> BillExplanation | None:
    """`cis.bill_explain.explain_bill` for the account (what the IVR speaks); None before a first bill."""
    with uow.reading():
        account_no = uow.session.scalar(select(Account.account_no).where(Account.id == account_id))
    if account_no is None:
        raise AccountNotFound(account_id)
    return explain_bill(uow, account_no)
