"""The statutory time limits: every kind of request has days for every kind of area, and says where they come from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cis.models.requests import AREA_CLASSES
from cis.service_requests import APPLICATION_KINDS, BILL_REVISION, time_limits


def test_new_connections_follow_the_rules_as_amended_in_2024() -> None:
    limit = time_limits().limits["new_connection"]
    assert limit.days == {"metro": 3, "municipal": 7, "rural": 15}
    assert "4(11)" in limit.source
    assert "2024" in limit.source


def test_every_kind_has_days_for_every_area_and_a_source() -> None:
    limits = time_limits().limits
    assert set(limits) == {*APPLICATION_KINDS, BILL_REVISION}
    for kind, limit in limits.items():
        assert set(limit.days) == set(AREA_CLASSES), kind
        assert limit.source.strip(), kind


def test_the_due_date_is_the_filing_time_plus_the_days_of_the_area() -> None:
    filed = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    assert time_limits().due("new_connection", "rural", filed) == dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


def test_a_limit_without_its_source_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "limits.toml"
    broken.write_text(
        'urban_feeder_area = "metro"\n'
        + "".join(
            f'[limits.{kind}]\ntitle = "x"\nmetro = 3\nmunicipal = 7\nrural = 15\nsource = ""\n'
            for kind in (*APPLICATION_KINDS, BILL_REVISION)
        )
    )
    with pytest.raises(ValueError, match="source"):
        time_limits(broken)
