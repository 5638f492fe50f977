"""The consumption chart: one accessible image that reads without colour, fits 360 px and has no inline style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cis.my_account import ConsumptionRow
from cis.web.charts import Bar, bar_chart_svg, consumption_svg, consumption_table, summary

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
BASES = {"actual": "Meter read", "estimated": "Estimated", "assessed": "Assessed"}
ROWS = [
    ConsumptionRow("2025-11", 180, "actual", 30),
    ConsumptionRow("2025-12", None, None, None),
    ConsumptionRow("2026-01", 140, "estimated", 31),
    ConsumptionRow("2026-02", 455, "assessed", 28),
    ConsumptionRow("2026-03", 240, "actual", 30),
]


def _chart(rows: list[ConsumptionRow] = ROWS, **kwargs: str) -> ET.Element:
    svg = consumption_svg(
        rows,
        title=kwargs.get("title", "Units billed, last 12 months"),
        description=kwargs.get("description", "From Nov 2025 to Mar 2026; highest 455 units in Feb 2026."),
        month_names=MONTHS,
        basis_names=BASES,
        unit="units",
        no_bill="no bill",
    )
    return ET.fromstring(str(svg))


def _texts(element: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text") if t.get("class") == cls]


def test_the_chart_is_one_image_named_by_its_title_and_description() -> None:
    root = _chart()
    title, desc = root[0], root[1]
    assert root.get("role") == "img"
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Units billed, last 12 months"
    assert desc.text is not None
    assert "highest 455" in desc.text


def test_it_fits_a_360_px_phone_and_scales_with_its_container() -> None:
    root = _chart()
    assert root.get("viewBox", "").startswith("0 0 360 ")
    assert root.get("width") == "100%"
    assert root.get("height") is None


def test_every_bar_is_written_with_its_value_and_month() -> None:
    root = _chart()
    assert _texts(root, "value") == ["180", "–", "140", "455", "240"]
    assert _texts(root, "label") == ["Nov", "2025", "Dec", "2025", "Jan", "2026", "Feb", "2026", "Mar", "2026"]
    tooltips = [g.find(f"{SVG}title") for g in root.iter(f"{SVG}g") if g.get("class") == "month"]
    assert [t.text for t in tooltips if t is not None] == [
        "Nov 2025: 180 units, Meter read",
        "Dec 2025: no bill",
        "Jan 2026: 140 units, Estimated",
        "Feb 2026: 455 units, Assessed",
        "Mar 2026: 240 units, Meter read",
    ]


def test_bar_heights_follow_the_units_and_a_month_without_a_bill_has_no_bar() -> None:
    root = _chart()
    bars = [r for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("bar ")]
    heights = [float(r.get("height", 0)) for r in bars]
    assert len(bars) == 4  # December has none
    assert heights[2] == max(heights)
    assert heights[0] == pytest.approx(heights[2] * 180 / 455, abs=0.1)


def test_the_basis_is_a_pattern_named_in_the_legend_not_a_colour_alone() -> None:
    root = _chart()
    fills = {
        r.get("class"): r.get("fill") for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("bar ")
    }
    assert fills["bar bar-estimated"] == "url(#use-estimated)"
    assert fills["bar bar-assessed"] == "url(#use-assessed)"
    assert (fills["bar bar-actual"] or "").startswith("#")
    patterns = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert {"use-estimated", "use-assessed"} <= patterns
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["Meter read", "Estimated", "Assessed"]
    assert [r.get("fill") for r in legend.iter(f"{SVG}rect")][1:] == ["url(#use-estimated)", "url(#use-assessed)"]


def test_no_inline_style_anywhere() -> None:
    root = _chart()
    assert all("style" not in element.attrib for element in root.iter())
    assert root.find(f".//{SVG}style") is None
    assert root.find(f".//{SVG}script") is None


def test_text_from_the_caller_is_escaped() -> None:
    root = _chart(title="<script>alert(1)</script> & more", description='"quoted" <b>')
    assert root[0].text == "<script>alert(1)</script> & more"
    assert root.find(f".//{SVG}script") is None
    assert root.find(f".//{SVG}b") is None


def test_values_too_wide_for_their_slot_are_written_upright() -> None:
    rows = [ConsumptionRow(f"2026-{m:02d}", 12_345 + m, "actual", 30) for m in range(1, 13)]
    root = _chart(rows)
    values = [t for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert [t.text for t in values][:2] == ["12,346", "12,347"]
    assert all((t.get("transform") or "").startswith("rotate(-90") for t in values)
    assert all(t.get("transform") is None for t in _chart().iter(f"{SVG}text"))


def test_an_empty_chart_is_still_a_valid_image() -> None:
    root = ET.fromstring(str(bar_chart_svg([], title="t", description="d", legend=[])))
    assert root.get("role") == "img"
    svg = bar_chart_svg(
        [Bar("Jan", "2026", 0, "0", "actual", "Jan 2026: 0 units")], title="t", description="d", legend=[]
    )
    assert "NaN" not in svg


def test_a_chart_id_becomes_part_of_ids_so_it_must_be_plain() -> None:
    with pytest.raises(ValueError, match="chart id"):
        bar_chart_svg([], title="t", description="d", legend=[], chart_id='x" onload="alert(1)')


def test_the_table_gives_the_same_figures_as_text() -> None:
    rows = consumption_table(ROWS, month_names=MONTHS, basis_names=BASES, no_bill="no bill")
    assert [(r.month, r.units, r.basis, r.days, r.per_day) for r in rows] == [
        ("Nov 2025", "180", "Meter read", "30", "6.0"),
        ("Dec 2025", "–", "no bill", "–", "–"),
        ("Jan 2026", "140", "Estimated", "31", "4.5"),
        ("Feb 2026", "455", "Assessed", "28", "16.3"),
        ("Mar 2026", "240", "Meter read", "30", "8.0"),
    ]


def test_the_summary_names_the_highest_and_lowest_months() -> None:
    assert summary(ROWS) == {
        "first": "2025-11",
        "last": "2026-03",
        "high_cycle": "2026-02",
        "high_units": 455,
        "low_cycle": "2026-01",
        "low_units": 140,
        "latest_units": 240,
    }
    assert summary([])["high_units"] is None
