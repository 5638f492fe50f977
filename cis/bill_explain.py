"""Why the bill is what it is: units against last month and last year, the basis, the slab reached, the charges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cis import tariffs
from cis.billing import stored_schedule
from cis.db import UnitOfWork
from cis.errors import NoScheduleInForce, UnknownAccount, UnknownTariffCategory
from cis.models import Account, Bill
from cis.numbers import parse_account_no


@dataclass(frozen=True)
class SlabReached:
    """The highest energy slab the bill's units reached, with its bounds scaled to the bill's period."""

    index: int  # 1 for the first slab
    lower_units: int  # the slab's first unit, as bills print it (0-100, 101-150, ...)
    upper_units: int | None  # its last unit; None for the last slab, which has no bound
    paise_per_unit: int


@dataclass(frozen=True)
class BillExplanation:
    """The latest bill, itemised and compared, in the figures a caller asks about."""

    cycle: str  # YYYY-MM
    units: int
    amount_paise: int
    due_date: dt.date
    basis: str  # actual | estimated | assessed: whether the meter was read
    units_same_month_last_year: int | None
    units_last_bill: int | None  # the previous cycle's bill
    arrears_paise: int
    lps_paise: int
    slab: SlabReached | None  # None when the bill's tariff cannot be found
    energy_paise: int
    fixed_paise: int
    duty_paise: int


def _shift(cycle: str, months: int) -> str:
    year, month = int(cycle[:4]), int(cycle[5:7]) - months
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


def _units(session: Session, account_id: int, cycle: str) -> int | None:
    return session.scalar(
        select(Bill.units)
        .where(Bill.account_id == account_id, Bill.cycle == cycle, Bill.status != "superseded")
        .order_by(Bill.version.desc())
        .limit(1)
    )


def slab_reached(tariff: tariffs.CategoryTariff, units: int, days: int, month_days: int = 30) -> SlabReached:
    """The slab `units` end in, with the slab bounds of a `days`-day period, as the bill was charged."""
    bands = tariff.bands(days, month_days)
    lower = 0
    for index, (bound, rate) in enumerate(zip(bands.bounds, bands.rates, strict=True), start=1):
        if bound is None or units <= bound:
            return SlabReached(index, lower + 1 if lower else 0, bound, rate)
        lower = bound
    raise AssertionError("the last slab has no bound")  # pragma: no cover  (CategoryTariff checks it)


def _slab(schedule: tariffs.Schedule | None, bill: Bill) -> SlabReached | None:
    if schedule is None:
        return None
    try:
        tariff = tariffs.category(schedule, bill.category)
    except UnknownTariffCategory:
        return None
    # The same period the billing run charged: days between the readings, slabs pro-rated on 30 days.
    days = max(1, (bill.period_end - bill.period_start).days)
    return slab_reached(tariff, bill.units, days)


def bill_schedule(session: Session, bill: Bill) -> tariffs.Schedule | None:
    """The schedule the bill was issued under (stored with it), else the one in force at its period's end."""
    try:
        return stored_schedule(session, bill.tariff_schedule_id) or tariffs.schedule_on(
            tariffs.load_schedules(), bill.period_end
        )
    except NoScheduleInForce:
        return None


def explanation(
    bill: Bill,
    *,
    units_last_bill: int | None,
    units_same_month_last_year: int | None,
    schedule: tariffs.Schedule | None,
) -> BillExplanation:
    """The explanation of `bill` from figures already read: the previous cycle's and last year's units (None
    where there was no bill) and the schedule it was issued under. `explain_bill` reads them itself; the portal's
    "my account" page has them from the bills it shows, so both say the same."""
    return BillExplanation(
        cycle=bill.cycle,
        units=bill.units,
        amount_paise=bill.amount_paise,
        due_date=bill.due_date,
        basis=bill.basis,
        units_same_month_last_year=units_same_month_last_year,
        units_last_bill=units_last_bill,
        arrears_paise=bill.arrears_paise,
        lps_paise=bill.lps_paise,
        slab=_slab(schedule, bill),
        energy_paise=bill.energy_paise,
        fixed_paise=bill.fixed_paise,
        duty_paise=bill.duty_paise,
    )


def previous_cycle(cycle: str) -> str:
    return _shift(cycle, 1)


def same_month_last_year(cycle: str) -> str:
    return _shift(cycle, 12)


def explain_bill(uow: UnitOfWork, account_no: str) -> BillExplanation | None:
    """The account's latest bill (the newest version of its latest cycle) explained; None before a first bill.

    Compares its units with the previous cycle's bill and the same month's a year earlier (None where
    there was no bill), says whether the meter was read, and names the slab reached under the tariff
    the bill was issued with. Raises MalformedAccountNumber or UnknownAccount.
    """
    number = parse_account_no(account_no)
    with uow:
        session = uow.session
        account_id = session.scalar(select(Account.id).where(Account.account_no == number))
        if account_id is None:
            raise UnknownAccount(number)
        bill = session.scalars(
            select(Bill)
            .where(Bill.account_id == account_id, Bill.status != "superseded")
            .order_by(Bill.cycle.desc(), Bill.version.desc())
            .limit(1)
        ).first()
        if bill is None:
            return None
        return explanation(
            bill,
            units_last_bill=_units(session, account_id, previous_cycle(bill.cycle)),
            units_same_month_last_year=_units(session, account_id, same_month_last_year(bill.cycle)),
            schedule=bill_schedule(session, bill),
        )
