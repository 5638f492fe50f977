"""The bill calculator KESCO offered consumers: one function behind the CLI, the JSON endpoint and the web form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cis import tariffs
from cis.errors import CisError


class CalculatorInputError(CisError):
    """Input to the bill calculator that cannot be used, with a message saying what to change."""


@dataclass(frozen=True)
class Quote:
    category: str
    description: str
    load_kw: Decimal
    units: int
    days: int
    schedule: str
    charges: tariffs.BillCharges

    def rupees(self) -> dict[str, float]:
        """Component name -> rupees, in bill order, ending with the total."""
        return {name: paise / 100 for name, paise in self.charges.components().items()}


def _load(raw: str | Decimal | float) -> Decimal:
    try:
        load = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise CalculatorInputError("The load is a number of kW, e.g. 2 or 1.5.") from exc
    if not load.is_finite() or load <= 0:
        raise CalculatorInputError("The sanctioned load must be more than 0 kW.")
    return load


def quote(
    category: str,
    load_kw: str | Decimal | float,
    *,
    units: int | None = None,
    readings: tuple[int, int] | None = None,
    days: int | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    on: dt.date | None = None,
) -> Quote:
    """The itemised bill for a category, load and consumption, by the schedule in force on `on`.

    Consumption is `units` or a pair of meter readings (a register roll-over is understood); the
    period is `days` or a (from, to) pair of dates. Raises CalculatorInputError, or the tariff
    module's errors, with a message a consumer can act on.
    """
    code = (category or "").strip().upper()
    schedules = tariffs.load_schedules()
    if (units is None) == (readings is None):
        raise CalculatorInputError("Give either the units consumed or the previous and current readings.")
    if (days is None) == (period is None):
        raise CalculatorInputError("Give either the number of days or the from and to dates.")
    if period is not None:
        start, end = period
        if end <= start:
            raise CalculatorInputError("The 'to' date must come after the 'from' date.")
        days = (end - start).days
        on = on or end
    assert days is not None
    if days <= 0 or days > 366:
        raise CalculatorInputError("The billing period is between 1 and 366 days.")
    schedule = tariffs.schedule_on(schedules, on or dt.date.today())
    tariff = schedule.categories.get(code)
    if tariff is None:
        known = ", ".join(sorted(schedule.categories))
        raise CalculatorInputError(f"'{category}' is not a tariff category; use one of {known}.")
    if readings is not None:
        units = tariffs.units_between(readings[0], readings[1])
    assert units is not None
    if units < 0:
        raise CalculatorInputError("Units consumed cannot be negative.")
    load = _load(load_kw)
    charges = tariffs.calculate(tariff, load_kw=load, units=units, days=days)
    return Quote(code, tariff.description, load, units, days, schedule.code, charges)


def categories(on: dt.date | None = None) -> list[tuple[str, str]]:
    """(code, description) of every category in the schedule in force."""
    schedule = tariffs.schedule_on(tariffs.load_schedules(), on or dt.date.today())
    return tariffs.category_list(schedule)
