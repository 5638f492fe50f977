"""Reliability indices without a database: the IST month window and the CLI's plain-text table."""

from __future__ import annotations

import datetime as dt

import pytest

from outage.errors import InvalidMonth
from outage.reliability import DivisionIndices, FeederIndices, Report, current_month, format_report, month_window


def test_a_month_runs_from_ist_midnight_to_ist_midnight() -> None:
    start, end = month_window("2026-10")

    assert start == dt.datetime(2026, 9, 30, 18, 30, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 10, 31, 18, 30, tzinfo=dt.UTC)


def test_december_ends_at_the_new_year_in_ist() -> None:
    assert month_window("2026-12")[1] == dt.datetime(2026, 12, 31, 18, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("given", ["bad", "2026-13", "2026-00", "2026-1", "26-10", "2026/10", "", "2026-10-01"])
def test_a_month_not_given_as_year_dash_month_is_refused(given: str) -> None:
    with pytest.raises(InvalidMonth, match="give it as YYYY-MM"):
        month_window(given)


def test_the_current_month_is_the_ist_one() -> None:
    # 31 Oct 20:00 UTC is already 1 Nov 01:30 in India.
    assert current_month(dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)) == "2026-11"


def _figures(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "served": 400,
        "interruptions": 2,
        "planned_interruptions": 0,
        "customers_interrupted": 500,
        "planned_customers_interrupted": 0,
        "customer_minutes": 33_000.0,
        "planned_customer_minutes": 0.0,
        "roster_hours": 0.0,
        "saifi": 1.25,
        "saidi": 82.5,
        "caidi": 66.0,
    }
    base.update(overrides)
    return base


def test_the_table_shows_each_division_and_feeder_with_its_indices() -> None:
    feeder = FeederIndices(
        feeder_id=1, feeder_code="KF01", feeder_name="Kidwai Nagar", division_id=7, division_code="EDD1", **_figures()
    )
    quiet = FeederIndices(
        feeder_id=2,
        feeder_code="KF02",
        feeder_name="Govind Nagar",
        division_id=7,
        division_code="EDD1",
        **_figures(
            served=100,
            interruptions=0,
            customers_interrupted=0,
            customer_minutes=0.0,
            roster_hours=3.0,
            saifi=0.0,
            saidi=0.0,
            caidi=None,
        ),
    )
    division = DivisionIndices(
        division_id=7,
        division_code="EDD1",
        division_name="Kanpur East",
        feeders=2,
        **_figures(served=500, saifi=1.0, saidi=66.0, caidi=66.0, roster_hours=3.0),
    )

    text = format_report(Report(month="2026-10", divisions=[division], feeders=[feeder, quiet]))

    lines = text.splitlines()
    assert lines[0] == "Reliability indices for 2026-10 (IST calendar month), IEEE 1366-2012"
    division_line = next(line for line in lines if "all 2 feeders" in line)
    assert division_line.split() == [
        "EDD1", "all", "2", "feeders", "500", "2", "0", "500", "33,000", "1.000", "66.0", "66.0", "3.0"
    ]  # fmt: skip
    assert next(line for line in lines if "KF01" in line).split()[-5:] == ["33,000", "1.250", "82.5", "66.0", "0.0"]
    # CAIDI is undefined without interruptions: a dash, not a zero.
    assert next(line for line in lines if "KF02" in line).split()[-5:] == ["0", "0.000", "0.0", "-", "3.0"]


def test_an_empty_network_says_so() -> None:
    assert "No feeders on record." in format_report(Report(month="2026-10", divisions=[], feeders=[]))
