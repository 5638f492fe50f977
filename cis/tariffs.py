"""The UPERC rate schedule as data and the bill calculation on it: pure functions on integer paise."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cis.errors import (
    InvalidBillInput,
    NoScheduleInForce,
    ReadingBeforePrevious,
    TariffDataError,
    UnknownTariffCategory,
)

SCHEDULE_FILE = Path(__file__).with_name("data") / "tariff_schedules.json"

_SCHEDULE_KEYS = ("code", "effective_from", "source", "lps_basis_points_per_month", "categories")
_CATEGORY_KEYS = (
    "description",
    "fixed_paise_per_kw",
    "slabs",
    "duty_basis_points",
    "min_paise_per_kw",
    "max_load_kw",
    "notes",
)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for a non-negative numerator and a positive denominator."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class Slab:
    """One band of a telescoping energy tariff: units up to `upto_units` a month (None: no bound)."""

    upto_units: int | None
    paise_per_unit: int


@dataclass(frozen=True, slots=True)
class _Bands:
    """A tariff's slab bounds for one billing period, worked out once and reused for every bill."""

    bounds: tuple[int | None, ...]
    rates: tuple[int, ...]
    labels: tuple[str, ...]


def _bands(slabs: tuple[Slab, ...], days: int, month_days: int) -> _Bands:
    bounds: list[int | None] = []
    labels: list[str] = []
    lower = 0
    for slab in slabs:
        if slab.upto_units is None:
            bounds.append(None)
            labels.append(f"above {lower}" if lower else "all units")
            break
        upper = _half_up(slab.upto_units * days, month_days)
        bounds.append(upper)
        labels.append(f"0-{upper}" if lower == 0 else f"{lower + 1}-{upper}")
        lower = upper
    return _Bands(tuple(bounds), tuple(s.paise_per_unit for s in slabs), tuple(labels))


@dataclass(frozen=True)
class CategoryTariff:
    """The rates of one consumer category: fixed charge per kW, telescoping energy slabs, duty, minimum."""

    code: str
    description: str
    fixed_paise_per_kw: int
    slabs: tuple[Slab, ...]
    duty_basis_points: int
    min_paise_per_kw: int
    max_load_kw: Decimal | None
    notes: str
    # Slab bounds per (days, month_days): a billing run meets only a handful of period lengths.
    _bands: dict[tuple[int, int], _Bands] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"category {self.code}"
        if not self.slabs:
            raise TariffDataError(f"{where} has no energy slabs")
        previous = 0
        for i, slab in enumerate(self.slabs):
            last = i == len(self.slabs) - 1
            if slab.paise_per_unit < 0:
                raise TariffDataError(f"{where} has a negative energy rate")
            if slab.upto_units is None:
                if not last:
                    raise TariffDataError(f"{where} has an unbounded slab before its last slab")
                continue
            if last:
                raise TariffDataError(f"{where}: the last slab must have no upper bound (null)")
            if slab.upto_units <= previous:
                raise TariffDataError(f"{where}: slab bounds must increase ({slab.upto_units} after {previous})")
            previous = slab.upto_units
        for name in ("fixed_paise_per_kw", "duty_basis_points", "min_paise_per_kw"):
            if getattr(self, name) < 0:
                raise TariffDataError(f"{where}: {name} is negative")
        if self.max_load_kw is not None and self.max_load_kw <= 0:
            raise TariffDataError(f"{where}: max_load_kw must be positive")

    def bands(self, days: int, month_days: int) -> _Bands:
        """The slab bounds scaled to a period of `days` out of a `month_days` month (cached)."""
        key = (days, month_days)
        found = self._bands.get(key)
        if found is None:
            found = self._bands[key] = _bands(self.slabs, days, month_days)
        return found


@dataclass(frozen=True)
class Schedule:
    """One published rate schedule, in force from `effective_from` until the next one."""

    code: str
    effective_from: dt.date
    source: str
    lps_basis_points_per_month: int
    categories: Mapping[str, CategoryTariff] = field(hash=False)


@dataclass(frozen=True, slots=True)
class BillCharges:
    """An itemised bill for one period, in paise; `total_paise` is whole rupees, as bills show it."""

    units: int
    energy_paise: int
    fixed_paise: int
    duty_paise: int
    minimum_topup_paise: int
    rounding_paise: int
    total_paise: int
    slab_lines: tuple[tuple[str, int, int, int], ...]

    def components(self) -> dict[str, int]:
        """The bill's lines in the order a bill prints them, in paise."""
        return {
            "energy": self.energy_paise,
            "fixed": self.fixed_paise,
            "minimum": self.minimum_topup_paise,
            "duty": self.duty_paise,
            "rounding": self.rounding_paise,
            "total": self.total_paise,
        }


# ------------------------------------------------------------------------------------------------
# Parsing and loading


def _int(value: Any, where: str) -> int:
    # bool is an int to Python, never to a tariff.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TariffDataError(f"{where} must be a whole number, not {value!r}")
    return value


def _text(value: Any, where: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise TariffDataError(f"{where} must be a non-empty text")
    return value


def _parse_category(code: str, data: Any, where: str) -> CategoryTariff:
    if not isinstance(data, dict):
        raise TariffDataError(f"{where} must be an object")
    missing = [k for k in _CATEGORY_KEYS if k not in data]
    if missing:
        raise TariffDataError(f"{where} lacks {', '.join(missing)}")
    raw_slabs = data["slabs"]
    if not isinstance(raw_slabs, list) or not raw_slabs:
        raise TariffDataError(f"{where}: slabs must be a non-empty list of [upto_or_null, paise] pairs")
    slabs = []
    for i, pair in enumerate(raw_slabs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise TariffDataError(f"{where}: slab {i + 1} must be a pair [upto_or_null, paise]")
        upto = None if pair[0] is None else _int(pair[0], f"{where}: slab {i + 1} bound")
        slabs.append(Slab(upto, _int(pair[1], f"{where}: slab {i + 1} rate")))
    raw_max = data["max_load_kw"]
    max_load: Decimal | None = None
    if raw_max is not None:
        if not isinstance(raw_max, str):
            raise TariffDataError(f'{where}: max_load_kw must be a string such as "1" or null')
        try:
            max_load = Decimal(raw_max)
        except InvalidOperation:
            raise TariffDataError(f"{where}: max_load_kw {raw_max!r} is not a number") from None
        if not max_load.is_finite():
            raise TariffDataError(f"{where}: max_load_kw {raw_max!r} is not a number")
    description = _text(data["description"], f"{where}: description")
    fixed = _int(data["fixed_paise_per_kw"], f"{where}: fixed_paise_per_kw")
    duty = _int(data["duty_basis_points"], f"{where}: duty_basis_points")
    minimum = _int(data["min_paise_per_kw"], f"{where}: min_paise_per_kw")
    notes = _text(data["notes"], f"{where}: notes", empty_ok=True)
    try:
        return CategoryTariff(code, description, fixed, tuple(slabs), duty, minimum, max_load, notes)
    except TariffDataError as exc:
        # The tariff names its category; say which schedule too.
        raise TariffDataError(f"{where.rsplit(' category ', 1)[0]} {exc.problem}") from None


def parse_schedules(data: dict[str, Any]) -> list[Schedule]:
    """Validate the schedule file's content and return its schedules, oldest first.

    Raises TariffDataError naming the schedule, category and field at fault: missing fields, a wrong type,
    slab bounds that do not increase, a bounded last slab, duplicate codes, dates not in order.
    """
    if not isinstance(data, dict) or not isinstance(data.get("schedules"), list) or not data["schedules"]:
        raise TariffDataError('the file must hold {"schedules": [...]} with at least one schedule')
    schedules: list[Schedule] = []
    for n, raw in enumerate(data["schedules"], start=1):
        if not isinstance(raw, dict):
            raise TariffDataError(f"schedule {n} must be an object")
        missing = [k for k in _SCHEDULE_KEYS if k not in raw]
        if missing:
            raise TariffDataError(f"schedule {n} lacks {', '.join(missing)}")
        code = _text(raw["code"], f"schedule {n}: code")
        try:
            effective = dt.date.fromisoformat(_text(raw["effective_from"], f"schedule {code}: effective_from"))
        except ValueError:
            raise TariffDataError(f"schedule {code}: effective_from must be a date YYYY-MM-DD") from None
        lps = _int(raw["lps_basis_points_per_month"], f"schedule {code}: lps_basis_points_per_month")
        if lps < 0:
            raise TariffDataError(f"schedule {code}: lps_basis_points_per_month is negative")
        raw_categories = raw["categories"]
        if not isinstance(raw_categories, dict) or not raw_categories:
            raise TariffDataError(f"schedule {code}: categories must be a non-empty object")
        categories = {
            cat: _parse_category(cat, body, f"schedule {code} category {cat}") for cat, body in raw_categories.items()
        }
        if schedules:
            if code in {s.code for s in schedules}:
                raise TariffDataError(f"schedule code {code} appears twice")
            if effective <= schedules[-1].effective_from:
                raise TariffDataError(f"schedule {code} must take effect after {schedules[-1].code} (oldest first)")
        schedules.append(
            Schedule(
                code=code,
                effective_from=effective,
                source=_text(raw["source"], f"schedule {code}: source"),
                lps_basis_points_per_month=lps,
                categories=MappingProxyType(categories),
            )
        )
    return schedules


def schedule_file_data() -> dict[str, Any]:
    """The schedule file as written: what the database stores beside each schedule it bills by."""
    data: dict[str, Any] = json.loads(SCHEDULE_FILE.read_text(encoding="utf-8"))
    return data


@functools.cache
def load_schedules() -> list[Schedule]:
    """The schedules packaged beside this module, parsed once per process."""
    return parse_schedules(schedule_file_data())


def schedule_on(schedules: Sequence[Schedule], day: dt.date) -> Schedule:
    """The schedule in force on `day`: the latest one taking effect on or before it.

    A schedule loaded later never changes a bill already issued, because a bill is computed with the
    schedule in force on its own date. Raises NoScheduleInForce before the first schedule.
    """
    found: Schedule | None = None
    for schedule in schedules:
        if schedule.effective_from <= day and (found is None or schedule.effective_from > found.effective_from):
            found = schedule
    if found is None:
        raise NoScheduleInForce(day)
    return found


def category(schedule: Schedule, code: str) -> CategoryTariff:
    """The tariff of category `code` in `schedule`; UnknownTariffCategory if it defines none."""
    try:
        return schedule.categories[code]
    except KeyError:
        raise UnknownTariffCategory(code) from None


def category_list(schedule: Schedule) -> list[tuple[str, str]]:
    """(code, description) of every category of the schedule, in the schedule's order."""
    return [(code, tariff.description) for code, tariff in schedule.categories.items()]


# ------------------------------------------------------------------------------------------------
# The calculation


def units_between(previous_kwh: int, current_kwh: int, *, register_digits: int = 6) -> int:
    """Units consumed between two readings of a register with `register_digits` digits.

    A current reading below the previous one is taken as the register rolling over (999990 -> 000010 is
    20 units) only when that gives less than half the register; anything else is far more likely a
    mis-read or a meter swapped, so it raises ReadingBeforePrevious rather than bill an absurd amount.
    """
    if register_digits < 1:
        raise InvalidBillInput("a meter register has at least one digit")
    modulus: int = 10**register_digits
    for name, value in (("previous reading", previous_kwh), ("current reading", current_kwh)):
        if value < 0 or value >= modulus:
            raise InvalidBillInput(f"the {name} {value} does not fit a {register_digits}-digit register")
    if current_kwh >= previous_kwh:
        return current_kwh - previous_kwh
    rolled = current_kwh + modulus - previous_kwh
    if rolled < modulus // 2:
        return rolled
    raise ReadingBeforePrevious(previous_kwh, current_kwh)


@functools.lru_cache(maxsize=1024)
def _load_ratio(load_kw: Decimal) -> tuple[int, int]:
    # Loads are few and repeat across millions of bills: convert each to an exact fraction once.
    num, den = load_kw.as_integer_ratio()
    return int(num), int(den)


def calculate(tariff: CategoryTariff, *, load_kw: Decimal, units: int, days: int, month_days: int = 30) -> BillCharges:
    """Itemise the bill of `units` kWh on `load_kw` sanctioned load over `days` days.

    Rules, and why:
    - Bad input raises InvalidBillInput naming the problem: negative load or units, `days` or
      `month_days` not positive, a load above the category's cap (lifeline is for loads up to 1 kW).
    - Pro-rating: when the period is not one month, the slab limits and the fixed and minimum charges
      scale by days / month_days. UPPCL bills a period by the number of months between readings (its
      "Know Your Bill" page: a bill's "slab" is that number of months), so a 60-day bill carries two
      months of slabs and fixed charge. Scaled slab limits are rounded to whole units, half up.
    - Energy telescopes: each slab charges only the units inside it, so units at a slab's limit are
      charged wholly at that slab's rate and only the next unit at the next rate. Exact in paise.
    - Fixed charge = load x rate per kW x days / month_days, rounded to the paisa half up (exact
      rational arithmetic, no float).
    - Minimum charge (load x minimum per kW, pro-rated): what energy + fixed fall short of it is
      added as `minimum_topup_paise`.
    - Electricity duty = duty rate x (energy + fixed + minimum top-up), rounded to the paisa half up
      (UP levies it as a percentage of the charges billed, not per unit).
    - The total is rounded to the whole rupee half up, as bills print it; the difference is
      `rounding_paise` (from -49 to +50 paise).
    """
    if type(units) is not int:
        raise InvalidBillInput("units must be a whole number of kWh")
    if units < 0:
        raise InvalidBillInput(f"units cannot be negative ({units})")
    if days <= 0:
        raise InvalidBillInput(f"the billing period must be at least one day ({days} given)")
    if month_days <= 0:
        raise InvalidBillInput(f"a month has a positive number of days ({month_days} given)")
    if not isinstance(load_kw, Decimal):
        if type(load_kw) is not int:
            raise InvalidBillInput("the sanctioned load must be a Decimal number of kW")
        load_kw = Decimal(load_kw)
    if not load_kw.is_finite() or load_kw < 0:
        raise InvalidBillInput(f"the sanctioned load cannot be negative ({load_kw} kW)")
    cap = tariff.max_load_kw
    if cap is not None and load_kw > cap:
        raise InvalidBillInput(f"{tariff.code} is for loads up to {cap} kW, not {load_kw} kW")

    bands = tariff.bands(days, month_days)
    energy = 0
    lower = 0
    lines: list[tuple[str, int, int, int]] = []
    for bound, rate, label in zip(bands.bounds, bands.rates, bands.labels, strict=True):
        top = units if bound is None or units <= bound else bound
        inside = top - lower
        if inside > 0:
            amount = inside * rate
            energy += amount
            lines.append((label, inside, rate, amount))
        if top == units:
            break
        lower = top

    num, den = _load_ratio(load_kw)
    den *= month_days
    fixed = _half_up(num * tariff.fixed_paise_per_kw * days, den)
    topup = 0
    if tariff.min_paise_per_kw:
        minimum = _half_up(num * tariff.min_paise_per_kw * days, den)
        if minimum > energy + fixed:
            topup = minimum - energy - fixed
    duty = _half_up((energy + fixed + topup) * tariff.duty_basis_points, 10_000)
    subtotal = energy + fixed + topup + duty
    total = (subtotal + 50) // 100 * 100
    return BillCharges(
        units=units,
        energy_paise=energy,
        fixed_paise=fixed,
        duty_paise=duty,
        minimum_topup_paise=topup,
        rounding_paise=total - subtotal,
        total_paise=total,
        slab_lines=tuple(lines),
    )
