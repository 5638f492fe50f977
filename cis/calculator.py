"""The bill calculator KESCO offered consumers: one function behind the CLI, the JSON endpoint and the web form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from cis import inputs, tariffs
from cis.errors import CisError

MAX_LOAD_KW = Decimal(100_000)  # 100 MW: beyond any connection a discom bills on a tariff category
MAX_UNITS = 100_000_000  # kWh in one period: 100 MW for 41 days
MAX_READING = 999_999  # a 6-digit register
MAX_DAYS = 366


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
    if isinstance(raw, Decimal):
        load: Decimal | None = raw
    else:
        load = inputs.decimal_number(
            str(raw),
            field="load",
            label="sanctioned load",
            minimum=Decimal(0),
            maximum=MAX_LOAD_KW,
            places=3,
            unit="kW",
            exclusive_minimum=True,
        )
    if load is None or not load.is_finite() or load <= 0:
        raise CalculatorInputError("The sanctioned load must be more than 0 kW.")
    if load > MAX_LOAD_KW:
        raise CalculatorInputError(f"The sanctioned load can be at most {MAX_LOAD_KW:,} kW.")
    return load


def quote_from_text(values: Mapping[str, str | None], *, on: dt.date | None = None) -> Quote:
    """The quote for what a form, a query string or a script gives as text: `category`, `load`, `units` (or
    `previous_reading` and `current_reading`), `days` (or `from` and `to`; the dates win over the days).

    Every value is checked at once (cis.inputs): numbers in range, dates in a sane window. Raises
    InvalidInput or CalculatorInputError with a message a consumer can act on.
    """

    def number(name: str, label: str, maximum: int, minimum: int = 0) -> int | None:
        return inputs.whole_number(values.get(name), field=name, label=label, minimum=minimum, maximum=maximum)

    units = number("units", "units", MAX_UNITS)
    previous = number("previous_reading", "previous reading", MAX_READING)
    current = number("current_reading", "current reading", MAX_READING)
    readings = None
    if previous is not None or current is not None:
        if previous is None or current is None:
            raise CalculatorInputError("Give both the previous and the current reading.")
        readings = (previous, current)
    start = inputs.date(values.get("from"), field="from", label="'from' date")
    end = inputs.date(values.get("to"), field="to", label="'to' date")
    period = None
    if start is not None or end is not None:
        if start is None or end is None:
            raise CalculatorInputError("Give both the 'from' and the 'to' date.")
        period = (start, end)
    days = None if period else number("days", "number of days", MAX_DAYS, minimum=1)
    category = inputs.text(values.get("category"), field="category", max_length=20) or ""
    load = values.get("load")
    if load is None or not load.strip():
        raise CalculatorInputError("Give the sanctioned load in kW, e.g. 2 or 1.5.")
    return quote(
        category,
        load,
        units=units,
        readings=readings,
        days=days,
        period=period,
        on=on,
    )


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
    if days <= 0 or days > MAX_DAYS:
        raise CalculatorInputError(f"The billing period is between 1 and {MAX_DAYS} days.")
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
    if units > MAX_UNITS:
        raise CalculatorInputError(f"Units consumed can be at most {MAX_UNITS:,}.")
    load = _load(load_kw)
    charges = tariffs.calculate(tariff, load_kw=load, units=units, days=days)
    return Quote(code, tariff.description, load, units, days, schedule.code, charges)


def categories(on: dt.date | None = None) -> list[tuple[str, str]]:
    """(code, description) of every category in the schedule in force."""
    schedule = tariffs.schedule_on(tariffs.load_schedules(), on or dt.date.today())
    return tariffs.category_list(schedule)
