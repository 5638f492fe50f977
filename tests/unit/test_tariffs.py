"""The rate schedule and the bill calculation: published figures, hand-worked bills and properties."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cis.errors import (
    CisError,
    InvalidBillInput,
    NoScheduleInForce,
    ReadingBeforePrevious,
    TariffDataError,
    UnknownTariffCategory,
)
from cis.tariffs import (
    CategoryTariff,
    Schedule,
    Slab,
    calculate,
    category,
    category_list,
    load_schedules,
    parse_schedules,
    schedule_on,
    units_between,
)

CODES = ("LMV-1L", "LMV-1R", "LMV-1U", "LMV-2", "LMV-5", "HV-2")
TODAY = dt.date(2025, 6, 1)


def current() -> Schedule:
    return schedule_on(load_schedules(), TODAY)


def tariff(code: str) -> CategoryTariff:
    return category(current(), code)


def synthetic(slabs: tuple[Slab, ...], *, fixed: int = 2000, minimum: int = 0, duty: int = 500) -> CategoryTariff:
    return CategoryTariff("TEST", "a tariff made for the test", fixed, slabs, duty, minimum, None, "")


def valid_data() -> dict[str, Any]:
    return {
        "schedules": [
            {
                "code": "OLD",
                "effective_from": "2019-09-12",
                "source": "test",
                "lps_basis_points_per_month": 125,
                "categories": {
                    "LMV-1U": {
                        "description": "Domestic urban",
                        "fixed_paise_per_kw": 11000,
                        "slabs": [[150, 550], [300, 600], [None, 650]],
                        "duty_basis_points": 500,
                        "min_paise_per_kw": 0,
                        "max_load_kw": None,
                        "notes": "",
                    }
                },
            },
            {
                "code": "NEW",
                "effective_from": "2022-08-01",
                "source": "test",
                "lps_basis_points_per_month": 125,
                "categories": {
                    "LMV-1L": {
                        "description": "Lifeline",
                        "fixed_paise_per_kw": 5000,
                        "slabs": [[100, 300], [None, 550]],
                        "duty_basis_points": 500,
                        "min_paise_per_kw": 0,
                        "max_load_kw": "1",
                        "notes": "",
                    }
                },
            },
        ]
    }


# ------------------------------------------------------------------------------------------------
# The packaged schedule


def test_packaged_schedules_are_oldest_first_and_each_defines_the_six_categories() -> None:
    schedules = load_schedules()
    assert [s.effective_from for s in schedules] == sorted(s.effective_from for s in schedules)
    for schedule in schedules:
        assert tuple(schedule.categories) == CODES
        assert [code for code, _ in category_list(schedule)] == list(CODES)


def test_every_schedule_names_a_source_that_fits_the_database_column() -> None:
    # tariff_schedule.source is String(300) in cis/models/billing.py.
    for schedule in load_schedules():
        assert schedule.source.strip()
        assert len(schedule.source) <= 300


def test_the_schedule_in_force_is_the_latest_one_taking_effect_on_or_before_the_day() -> None:
    schedules = load_schedules()
    assert schedule_on(schedules, dt.date(2019, 9, 12)).code == "UPERC-2019-20"
    assert schedule_on(schedules, dt.date(2022, 7, 31)).code == "UPERC-2019-20"
    assert schedule_on(schedules, dt.date(2022, 8, 1)).code == "UPERC-2022-23"
    assert schedule_on(schedules, TODAY).code == "UPERC-2022-23"


def test_a_day_before_the_first_schedule_has_no_schedule_in_force() -> None:
    with pytest.raises(NoScheduleInForce, match="2019-09-11"):
        schedule_on(load_schedules(), dt.date(2019, 9, 11))


def test_an_unknown_category_code_is_refused_by_name() -> None:
    with pytest.raises(UnknownTariffCategory, match="'LMV-99' is not a tariff category"):
        category(current(), "LMV-99")


# ------------------------------------------------------------------------------------------------
# Published figures


def test_published_rural_fixed_charge_example_two_kw_at_rs_90_is_rs_180() -> None:
    """electricalsells.com, "Electricity bill calculator online" (UPPCL rural domestic), says:
    "Fixed charge = 2KW * 90(Per KW) = Rs.180"."""
    bill = calculate(tariff("LMV-1R"), load_kw=Decimal("2"), units=0, days=30)
    assert bill.fixed_paise == 180_00


def test_published_abolition_of_the_rs_7_slab_charges_the_501st_urban_unit_at_rs_6_50() -> None:
    """zeenews.india.com, 2022-07-24, "Slight relief for UP consumers, govt does away with Rs 7 tariff slab":
    "even after consuming more than 500 units, consumers will have to pay ... Rs 6.50 per unit, instead of Rs 7".
    The same 600 units therefore cost Rs 50 less in energy (100 units x 50 paise) under the FY 2022-23 order."""
    schedules = load_schedules()
    old = category(schedule_on(schedules, dt.date(2021, 1, 1)), "LMV-1U")
    new = category(schedule_on(schedules, TODAY), "LMV-1U")
    load = Decimal("3")
    old_500, old_501 = (calculate(old, load_kw=load, units=u, days=30).energy_paise for u in (500, 501))
    new_500, new_501 = (calculate(new, load_kw=load, units=u, days=30).energy_paise for u in (500, 501))
    assert (old_501 - old_500, new_501 - new_500) == (700, 650)
    old_600 = calculate(old, load_kw=load, units=600, days=30).energy_paise
    new_600 = calculate(new, load_kw=load, units=600, days=30).energy_paise
    assert old_600 - new_600 == 50_00


def test_published_urban_slabs_are_rs_5_50_6_00_and_6_50() -> None:
    """dailypioneer.com, 2023, "No hike in power tariff by UPERC": urban "0-150 units ... Rs 5.50 per unit",
    "151-300 units will be Rs 6 per unit and Rs 6.50 for consumption of 300 units and above"."""
    lines = calculate(tariff("LMV-1U"), load_kw=Decimal("3"), units=420, days=30).slab_lines
    assert lines == (("0-150", 150, 550, 82500), ("151-300", 150, 600, 90000), ("above 300", 120, 650, 78000))


def test_published_rural_slabs_are_rs_3_35_3_85_5_00_and_5_50() -> None:
    """zeenews.india.com, 2022-07-24: rural "Rs 3.35 per unit from 0 to 100, Rs 3.85 per unit from 101 to 150,
    Rs 5.00 per unit from 151 to 300, and Rs 5.50 per unit for units over 300"."""
    lines = calculate(tariff("LMV-1R"), load_kw=Decimal("2"), units=301, days=30).slab_lines
    assert [(units, rate) for _, units, rate, _ in lines] == [(100, 335), (50, 385), (150, 500), (1, 550)]


def test_published_lifeline_rate_is_rs_3_for_up_to_100_units() -> None:
    """dailypioneer.com, 2023: "The tariff for the urban BPL ... consumers will be Rs 3 per unit for consumption
    up to 100 units per month"; zeenews.india.com, 2022-07-24: rural BPL the same."""
    bill = calculate(tariff("LMV-1L"), load_kw=Decimal("1"), units=100, days=30)
    assert bill.energy_paise == 100 * 300


def test_published_tube_well_rate_rs_70_per_bhp_and_rs_2_per_unit() -> None:
    """Hindustan Times (Lucknow), 2021-05-27 (pressreader.com): metered tube wells "pay Rs 2 per unit, in addition
    to Rs 70 per BHP as fixed monthly charges"; business-standard.com, 2022-01-07, the same before the rebate.
    A 5 BHP pump is 3.73 kW (1 BHP = 0.746 kW); the stored 9383 paise/kW gives Rs 349.99 for the published Rs 350."""
    bill = calculate(tariff("LMV-5"), load_kw=Decimal("3.73"), units=1000, days=30)
    assert bill.energy_paise == 1000 * 200
    assert abs(bill.fixed_paise - 5 * 70_00) <= 1


def test_published_late_payment_surcharge_is_1_25_percent_a_month() -> None:
    """htsyndication.com (Hindustan Times Lucknow), Nov 2025: "a late payment surcharge of 1.25% per month is
    levied on unpaid dues for the first three months, which rises to 2% per month thereafter" (UPERC order 2024-25).
    Only the first rate is in the contract; the 2% step is for the billing run to apply."""
    assert all(s.lps_basis_points_per_month == 125 for s in load_schedules())


def test_published_bill_is_fixed_plus_energy_plus_electricity_tax() -> None:
    """uppclonline.com "Know Your Bill": "current demand = Sum of fixed charges + Energy Charges + Electricity Tax"."""
    bill = calculate(tariff("LMV-1U"), load_kw=Decimal("2"), units=250, days=30)
    assert bill.energy_paise + bill.fixed_paise + bill.duty_paise + bill.rounding_paise == bill.total_paise


# ------------------------------------------------------------------------------------------------
# Hand-worked bills, one per category (30-day month)


def test_lifeline_bill_of_80_units_on_1_kw() -> None:
    # energy 80 x 300 = 24000; fixed 1 x 5000 = 5000; duty 5% of 29000 = 1450;
    # 30450 rounds half up to 30500 (+50).
    bill = calculate(tariff("LMV-1L"), load_kw=Decimal("1"), units=80, days=30)
    assert bill.components() == {
        "energy": 24000,
        "fixed": 5000,
        "minimum": 0,
        "duty": 1450,
        "rounding": 50,
        "total": 30500,
    }


def test_rural_domestic_bill_of_220_units_on_2_kw() -> None:
    # energy 100 x 335 + 50 x 385 + 70 x 500 = 33500 + 19250 + 35000 = 87750; fixed 2 x 9000 = 18000;
    # duty 5% of 105750 = 5287.5 -> 5288; 111038 rounds to 111000 (-38).
    bill = calculate(tariff("LMV-1R"), load_kw=Decimal("2"), units=220, days=30)
    assert bill.components() == {
        "energy": 87750,
        "fixed": 18000,
        "minimum": 0,
        "duty": 5288,
        "rounding": -38,
        "total": 111000,
    }


def test_urban_domestic_bill_of_420_units_on_3_kw() -> None:
    # energy 150 x 550 + 150 x 600 + 120 x 650 = 82500 + 90000 + 78000 = 250500; fixed 3 x 11000 = 33000;
    # duty 5% of 283500 = 14175; 297675 rounds to 297700 (+25).
    bill = calculate(tariff("LMV-1U"), load_kw=Decimal("3"), units=420, days=30)
    assert bill.components() == {
        "energy": 250500,
        "fixed": 33000,
        "minimum": 0,
        "duty": 14175,
        "rounding": 25,
        "total": 297700,
    }


def test_non_domestic_bill_of_450_units_on_2_kw() -> None:
    # energy 300 x 750 + 150 x 840 = 225000 + 126000 = 351000; fixed 2 x 33000 = 66000;
    # duty 7.5% of 417000 = 31275; 448275 rounds to 448300 (+25).
    bill = calculate(tariff("LMV-2"), load_kw=Decimal("2"), units=450, days=30)
    assert bill.components() == {
        "energy": 351000,
        "fixed": 66000,
        "minimum": 0,
        "duty": 31275,
        "rounding": 25,
        "total": 448300,
    }


def test_tube_well_bill_of_1000_units_on_5_bhp() -> None:
    # 5 BHP = 3.73 kW; energy 1000 x 200 = 200000; fixed 3.73 x 9383 = 34998.59 -> 34999;
    # duty 5% of 234999 = 11749.95 -> 11750; 246749 rounds to 246700 (-49).
    bill = calculate(tariff("LMV-5"), load_kw=Decimal("3.73"), units=1000, days=30)
    assert bill.components() == {
        "energy": 200000,
        "fixed": 34999,
        "minimum": 0,
        "duty": 11750,
        "rounding": -49,
        "total": 246700,
    }


def test_large_and_heavy_power_bill_of_30000_kvah_on_200_kva() -> None:
    # energy 30000 x 710 = 21300000; demand 200 x 29000 = 5800000; duty 7.5% of 27100000 = 2032500;
    # 29132500 is whole rupees already.
    bill = calculate(tariff("HV-2"), load_kw=Decimal("200"), units=30000, days=30)
    assert bill.components() == {
        "energy": 21300000,
        "fixed": 5800000,
        "minimum": 0,
        "duty": 2032500,
        "rounding": 0,
        "total": 29132500,
    }


def test_components_are_listed_in_bill_order() -> None:
    bill = calculate(tariff("LMV-1U"), load_kw=Decimal("1"), units=10, days=30)
    assert list(bill.components()) == ["energy", "fixed", "minimum", "duty", "rounding", "total"]


def test_minimum_charge_tops_up_what_energy_and_fixed_fall_short_of() -> None:
    # minimum 1 x 10000 = 10000; energy 10 x 100 = 1000, fixed 2000: top-up 7000;
    # duty 5% of 10000 = 500; total 10500.
    bill = calculate(synthetic((Slab(None, 100),), minimum=10000), load_kw=Decimal("1"), units=10, days=30)
    assert (bill.minimum_topup_paise, bill.duty_paise, bill.total_paise) == (7000, 500, 10500)


def test_minimum_charge_adds_nothing_once_energy_and_fixed_exceed_it() -> None:
    bill = calculate(synthetic((Slab(None, 100),), minimum=10000), load_kw=Decimal("1"), units=90, days=30)
    assert bill.minimum_topup_paise == 0


def test_a_zero_unit_bill_has_no_slab_lines() -> None:
    assert calculate(tariff("LMV-1R"), load_kw=Decimal("1"), units=0, days=30).slab_lines == ()


# ------------------------------------------------------------------------------------------------
# Pro-rating


def test_a_60_day_bill_charges_what_two_30_day_bills_of_half_the_units_charge() -> None:
    # Rule: slab limits, fixed and minimum charges scale by days / month_days. 420 units in 60 days on 3 kW:
    # limits 300 and 600: 300 x 550 + 120 x 600 = 237000 = 2 x (150 x 550 + 60 x 600); fixed 2 x 33000.
    sixty = calculate(tariff("LMV-1U"), load_kw=Decimal("3"), units=420, days=60)
    thirty = calculate(tariff("LMV-1U"), load_kw=Decimal("3"), units=210, days=30)
    assert sixty.energy_paise == 2 * thirty.energy_paise == 237000
    assert sixty.fixed_paise == 2 * thirty.fixed_paise == 66000
    assert sixty.slab_lines[0][0] == "0-300"


def test_a_15_day_bill_halves_the_slab_limits_and_the_fixed_charge() -> None:
    # limits 50, 75, 150: 50 x 335 + 25 x 385 + 25 x 500 = 16750 + 9625 + 12500 = 38875; fixed 18000 / 2 = 9000.
    bill = calculate(tariff("LMV-1R"), load_kw=Decimal("2"), units=100, days=15)
    assert (bill.energy_paise, bill.fixed_paise) == (38875, 9000)
    assert [label for label, *_ in bill.slab_lines] == ["0-50", "51-75", "76-150"]


def test_a_pro_rated_slab_limit_rounds_half_up_to_a_whole_unit() -> None:
    # limit 3 units x 15 / 30 = 1.5 -> 2: the second unit is still charged at the first rate.
    bill = calculate(synthetic((Slab(3, 100), Slab(None, 1000))), load_kw=Decimal("0"), units=3, days=15)
    assert [(units, rate) for _, units, rate, _ in bill.slab_lines] == [(2, 100), (1, 1000)]


def test_a_pro_rated_fixed_charge_rounds_half_up_to_the_paisa() -> None:
    # 1 kW x 5 paise x 15 / 30 = 2.5 -> 3.
    bill = calculate(synthetic((Slab(None, 0),), fixed=5), load_kw=Decimal("1"), units=0, days=15)
    assert bill.fixed_paise == 3


@given(units=st.integers(0, 5000).map(lambda n: 2 * n), code=st.sampled_from(CODES), tenths=st.integers(1, 100))
def test_any_60_day_bill_matches_two_30_day_bills_of_half_the_units(units: int, code: str, tenths: int) -> None:
    load = Decimal(tenths) / 10
    if code == "LMV-1L":
        load = min(load, Decimal("1"))
    sixty = calculate(tariff(code), load_kw=load, units=units, days=60)
    thirty = calculate(tariff(code), load_kw=load, units=units // 2, days=30)
    assert sixty.energy_paise == 2 * thirty.energy_paise
    assert abs(sixty.fixed_paise - 2 * thirty.fixed_paise) <= 1


# ------------------------------------------------------------------------------------------------
# Properties

loads = st.integers(0, 5000).map(lambda centi: Decimal(centi) / 100)


def _load_for(code: str, load: Decimal) -> Decimal:
    return min(load, Decimal("1")) if code == "LMV-1L" else load


@given(
    code=st.sampled_from(CODES),
    load=loads,
    units=st.integers(0, 20000),
    more=st.integers(1, 5000),
    days=st.integers(1, 90),
)
def test_the_total_never_falls_when_units_rise(code: str, load: Decimal, units: int, more: int, days: int) -> None:
    load = _load_for(code, load)
    less = calculate(tariff(code), load_kw=load, units=units, days=days)
    greater = calculate(tariff(code), load_kw=load, units=units + more, days=days)
    assert greater.energy_paise > less.energy_paise or tariff(code).slabs[-1].paise_per_unit == 0
    assert greater.total_paise >= less.total_paise


# Every (category, slab) that has a next slab to cross into.
SLAB_LIMITS = [(code, n) for code in CODES for n in range(len(tariff(code).slabs) - 1)]


@given(limit_of=st.sampled_from(SLAB_LIMITS), days=st.integers(1, 90))
def test_units_at_a_slab_limit_pay_that_slab_rate_and_the_next_unit_the_next_rate(
    limit_of: tuple[str, int], days: int
) -> None:
    code, slab = limit_of
    t = tariff(code)
    bands = t.bands(days, 30)
    limit = bands.bounds[slab]
    assert limit is not None
    below = bands.bounds[slab - 1] if slab else 0
    assume(below is not None and limit > below)

    def energy(u: int) -> int:
        return calculate(t, load_kw=Decimal("1"), units=u, days=days).energy_paise

    assert energy(limit) - energy(limit - 1) == t.slabs[slab].paise_per_unit
    assert energy(limit + 1) - energy(limit) == t.slabs[slab + 1].paise_per_unit


@given(code=st.sampled_from(CODES), load=loads, days=st.integers(1, 90))
def test_a_zero_unit_bill_still_carries_the_fixed_charge(code: str, load: Decimal, days: int) -> None:
    load = _load_for(code, load)
    t = tariff(code)
    bill = calculate(t, load_kw=load, units=0, days=days)
    assert bill.energy_paise == 0
    expected_fixed = (load * t.fixed_paise_per_kw * days / 30).to_integral_value(rounding="ROUND_HALF_UP")
    assert bill.fixed_paise == int(expected_fixed)
    assert bill.total_paise >= bill.fixed_paise - 50


@given(load=loads, days=st.integers(1, 90), minimum=st.integers(1, 50000))
def test_a_zero_unit_bill_carries_the_minimum_charge(load: Decimal, days: int, minimum: int) -> None:
    t = synthetic((Slab(100, 300), Slab(None, 500)), minimum=minimum)
    bill = calculate(t, load_kw=load, units=0, days=days)
    expected_minimum = int((load * minimum * days / 30).to_integral_value(rounding="ROUND_HALF_UP"))
    assert bill.fixed_paise + bill.minimum_topup_paise == max(bill.fixed_paise, expected_minimum)


@given(
    code=st.sampled_from(CODES),
    load=loads,
    units=st.integers(0, 100000),
    days=st.integers(1, 120),
    month_days=st.integers(28, 31),
)
def test_the_total_is_whole_rupees_and_the_components_add_up_to_it(
    code: str, load: Decimal, units: int, days: int, month_days: int
) -> None:
    bill = calculate(tariff(code), load_kw=_load_for(code, load), units=units, days=days, month_days=month_days)
    parts = bill.components()
    assert bill.total_paise % 100 == 0
    assert parts["energy"] + parts["fixed"] + parts["minimum"] + parts["duty"] + parts["rounding"] == parts["total"]
    assert -50 < bill.rounding_paise <= 50
    assert sum(line[1] for line in bill.slab_lines) == units
    assert sum(line[3] for line in bill.slab_lines) == bill.energy_paise


# ------------------------------------------------------------------------------------------------
# Readings


def test_units_between_two_readings_is_their_difference() -> None:
    assert units_between(12345, 12600) == 255


def test_equal_readings_mean_no_units() -> None:
    assert units_between(4321, 4321) == 0


def test_a_register_rolling_over_from_999990_to_10_gives_20_units() -> None:
    assert units_between(999990, 10) == 20


def test_a_five_digit_register_rolls_over_at_100000() -> None:
    assert units_between(99995, 5, register_digits=5) == 10


def test_a_reading_far_below_the_previous_one_is_refused_not_taken_as_a_roll_over() -> None:
    with pytest.raises(ReadingBeforePrevious, match="12000 is below the previous reading 12500") as caught:
        units_between(12500, 12000)
    assert (caught.value.previous, caught.value.current) == (12500, 12000)


def test_a_reading_too_large_for_the_register_is_refused() -> None:
    with pytest.raises(InvalidBillInput, match="does not fit a 6-digit register"):
        units_between(10, 1_000_000)


# ------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"load_kw": Decimal("-1"), "units": 10, "days": 30}, "load cannot be negative"),
        ({"load_kw": Decimal("1"), "units": -1, "days": 30}, "units cannot be negative"),
        ({"load_kw": Decimal("1"), "units": 10, "days": 0}, "at least one day"),
        ({"load_kw": Decimal("1"), "units": 10, "days": 30, "month_days": 0}, "positive number of days"),
        ({"load_kw": 1.5, "units": 10, "days": 30}, "Decimal number of kW"),
        ({"load_kw": Decimal("NaN"), "units": 10, "days": 30}, "load cannot be negative"),
    ],
)
def test_bad_bill_input_is_refused_with_the_problem_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidBillInput, match=message):
        calculate(tariff("LMV-1U"), **kwargs)


def test_a_lifeline_load_above_1_kw_is_refused() -> None:
    with pytest.raises(InvalidBillInput, match=r"LMV-1L is for loads up to 1 kW, not 1\.5 kW"):
        calculate(tariff("LMV-1L"), load_kw=Decimal("1.5"), units=50, days=30)


def test_bill_errors_belong_to_the_cis_error_tree() -> None:
    for error in (InvalidBillInput, ReadingBeforePrevious, TariffDataError, NoScheduleInForce, UnknownTariffCategory):
        assert issubclass(error, CisError)


# ------------------------------------------------------------------------------------------------
# Malformed schedule data


def test_valid_data_parses_into_schedules_oldest_first() -> None:
    schedules = parse_schedules(valid_data())
    assert [s.code for s in schedules] == ["OLD", "NEW"]
    lifeline = category(schedules[1], "LMV-1L")
    assert lifeline.max_load_kw == Decimal("1")
    assert lifeline.slabs == (Slab(100, 300), Slab(None, 550))


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(valid_data())
    change(data)
    return data


def _urban(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["schedules"][0]["categories"]["LMV-1U"]
    return result


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _urban(d).update(slabs=[[300, 550], [150, 600], [None, 650]]), "slab bounds must increase"),
        (lambda d: _urban(d).update(slabs=[[150, 550], [300, 600]]), "last slab must have no upper bound"),
        (lambda d: _urban(d).update(slabs=[[None, 550], [300, 600]]), "unbounded slab before its last"),
        (lambda d: _urban(d).update(slabs=[]), "non-empty list"),
        (lambda d: _urban(d).update(slabs=[[150]]), "must be a pair"),
        (lambda d: _urban(d).pop("duty_basis_points"), "lacks duty_basis_points"),
        (lambda d: _urban(d).update(fixed_paise_per_kw=True), "whole number"),
        (lambda d: _urban(d).update(fixed_paise_per_kw=110.5), "whole number"),
        (lambda d: _urban(d).update(min_paise_per_kw=-1), "min_paise_per_kw is negative"),
        (lambda d: _urban(d).update(max_load_kw=1), "max_load_kw must be a string"),
        (lambda d: _urban(d).update(max_load_kw="one"), "not a number"),
        (lambda d: d["schedules"][0].pop("source"), "lacks source"),
        (lambda d: d["schedules"][0].update(effective_from="12/09/2019"), "YYYY-MM-DD"),
        (lambda d: d["schedules"][1].update(effective_from="2019-01-01"), "oldest first"),
        (lambda d: d["schedules"][1].update(code="OLD"), "appears twice"),
        (lambda d: d["schedules"][0].update(categories={}), "non-empty object"),
        (lambda d: d.update(schedules=[]), "at least one schedule"),
    ],
)
def test_malformed_schedule_data_is_refused_naming_the_fault(change: Any, message: str) -> None:
    with pytest.raises(TariffDataError, match=message):
        parse_schedules(_broken(change))


def test_a_slab_fault_names_its_schedule_and_category() -> None:
    data = _broken(lambda d: _urban(d).update(slabs=[[150, 550], [300, 600]]))
    with pytest.raises(TariffDataError, match="schedule OLD category LMV-1U"):
        parse_schedules(data)
