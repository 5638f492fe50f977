"""Server-rendered, accessible SVG bar charts (12 months of use) and the same figures as table rows.

No JavaScript and no style attributes (the CSP forbids inline styles): colours are presentation attributes,
classes let a stylesheet restyle them. A chart reads without colour: each bar carries its value as text, the
basis of a month (actual, estimated, assessed) is a fill pattern named in a legend, and the whole figure is
one image (role="img") whose <title> and <desc> say what it shows; the table beside it gives every figure.
The viewBox is 360 units wide, so the chart fits a 360 px phone at 1:1 and scales with its container.
Every text comes from the caller, already translated; this module holds no copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from cis.my_account import ConsumptionRow

WIDTH = 360
TOP = 34  # room above the tallest bar for its value
PLOT = 150  # height of the tallest bar
LABELS = 30  # two lines of month labels under the baseline
LEGEND = 22  # a line of the legend
LEFT = RIGHT = 6
INK = "#1b1b1b"  # text: 17:1 on white
BAR = "#0b5394"  # bars and patterns: 7.9:1 on white, well above the 3:1 graphics need (WCAG 1.4.11)
RULE = "#595959"
BASES = ("actual", "estimated", "assessed")


@dataclass(frozen=True)
class Bar:
    """One bar: `value` None draws none (a month without a bill) and writes `value_text` on the baseline."""

    label: str  # first line under the bar, e.g. "Oct"
    sublabel: str  # second line, e.g. "2026"
    value: int | None
    value_text: str  # written above the bar, e.g. "240"
    kind: str  # a key of the legend: the fill pattern
    tooltip: str  # the bar's <title>, e.g. "October 2026: 240 units, estimated"


@dataclass(frozen=True)
class TableRow:
    """One month as the table beside the chart shows it, every cell already text."""

    cycle: str  # YYYY-MM, for a sortable attribute
    month: str
    units: str
    basis: str
    days: str
    per_day: str


def _fill(kind: str, chart_id: str) -> str:
    return BAR if kind == "actual" else f"url(#{chart_id}-{kind})"


def _patterns(chart_id: str) -> str:
    """Estimated: diagonal stripes; assessed: a cross-hatch; actual is solid. Distinct in greyscale too."""
    striped = (
        f'<pattern id="{chart_id}-estimated" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<rect width="3" height="6" fill="{BAR}"/></pattern>'
    )
    hatched = (
        f'<pattern id="{chart_id}-assessed" patternUnits="userSpaceOnUse" width="6" height="6">'
        f'<rect width="6" height="6" fill="#ffffff"/>'
        f'<path d="M0 0L6 6M6 0L0 6" stroke="{BAR}" stroke-width="1.6"/></pattern>'
    )
    return f"<defs>{striped}{hatched}</defs>"


def bar_chart_svg(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    legend: Sequence[tuple[str, str]],
    chart_id: str = "chart",
) -> Markup:
    """An SVG bar chart of `bars`, left to right, with its legend of (kind, text) swatches below.

    `chart_id` prefixes the ids inside (title, desc, patterns): give each chart of a page its own.
    """
    if not chart_id.replace("-", "").isalnum():
        raise ValueError("a chart id is letters, digits and hyphens")
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(bars))
    bar_width = max(4.0, slot * 0.72)
    top = max((b.value for b in bars if b.value is not None), default=0)
    baseline = TOP + PLOT
    longest = max((len(b.value_text) for b in bars), default=0)
    # Values wider than their slot are written upright along the bar instead of across it.
    upright = longest * 6.2 > slot
    # The legend's swatches flow left to right and wrap onto further lines when they do not fit.
    x, legend_y = LEFT, baseline + LABELS + 4
    items = []
    for kind, text in legend:
        width = 26 + round(len(text) * 6.4)
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, legend_y = LEFT, legend_y + LEGEND
        items.append(
            f'<rect x="{x}" y="{legend_y}" width="14" height="14" fill="{_fill(kind, chart_id)}" '
            f'stroke="{BAR}" stroke-width="1"/>'
            f'<text x="{x + 18}" y="{legend_y + 11}" font-size="11" fill="{INK}">{escape(text)}</text>'
        )
        x += width
    height = legend_y + LEGEND - 4 if items else baseline + LABELS
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" font-family="Noto Sans, Noto Sans Devanagari, sans-serif" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        _patterns(chart_id),
        f'<line x1="{LEFT}" y1="{baseline}" x2="{WIDTH - RIGHT}" y2="{baseline}" stroke="{RULE}" stroke-width="1"/>',
    ]
    for i, bar in enumerate(bars):
        centre = LEFT + slot * i + slot / 2
        x = centre - bar_width / 2
        height = 0.0 if bar.value is None or top == 0 else max(1.0, PLOT * bar.value / top)
        y = baseline - height
        group = [f"<title>{escape(bar.tooltip)}</title>"]
        if bar.value is not None:
            group.append(
                f'<rect class="bar bar-{escape(bar.kind)}" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{height:.1f}" fill="{_fill(bar.kind, chart_id)}" stroke="{BAR}" stroke-width="1"/>'
            )
        if upright:
            group.append(
                f'<text class="value" x="{centre:.1f}" y="{y - 4:.1f}" font-size="11" fill="{INK}" '
                f'text-anchor="start" transform="rotate(-90 {centre:.1f} {y - 4:.1f})" '
                f'dominant-baseline="central">{escape(bar.value_text)}</text>'
            )
        else:
            group.append(
                f'<text class="value" x="{centre:.1f}" y="{y - 4:.1f}" font-size="11" fill="{INK}" '
                f'text-anchor="middle">{escape(bar.value_text)}</text>'
            )
        group.append(
            f'<text class="label" x="{centre:.1f}" y="{baseline + 13}" font-size="11" fill="{INK}" '
            f'text-anchor="middle">{escape(bar.label)}</text>'
        )
        group.append(
            f'<text class="label" x="{centre:.1f}" y="{baseline + 26}" font-size="10" fill="{INK}" '
            f'text-anchor="middle">{escape(bar.sublabel)}</text>'
        )
        parts.append(f'<g class="month">{"".join(group)}</g>')
    parts.append(f'<g class="legend">{"".join(items)}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _month(cycle: str, month_names: Sequence[str]) -> tuple[str, str]:
    return month_names[int(cycle[5:7]) - 1], cycle[:4]


def consumption_bars(
    rows: Sequence[ConsumptionRow],
    *,
    month_names: Sequence[str],
    basis_names: Mapping[str, str],
    unit: str,
    no_bill: str,
) -> list[Bar]:
    """A bar per billing cycle: its units, patterned by basis; a cycle without a bill draws `no_bill`'s dash.

    `month_names`: the twelve short month names in the page's language; `basis_names`: actual/estimated/
    assessed in it; `unit`: the word after a number in a bar's title ("units", "यूनिट").
    """
    if len(month_names) != 12:
        raise ValueError("give twelve month names")
    bars = []
    for row in rows:
        month, year = _month(row.cycle, month_names)
        if row.units is None:
            bars.append(Bar(month, year, None, "–", "none", f"{month} {year}: {no_bill}"))
            continue
        basis = row.basis or "actual"
        kind = basis if basis in BASES else "actual"
        bars.append(
            Bar(
                month,
                year,
                row.units,
                f"{row.units:,}" if row.units < 100_000 else f"{row.units // 1000:,}k",
                kind,
                f"{month} {year}: {row.units:,} {unit}, {basis_names.get(basis, basis)}",
            )
        )
    return bars


def consumption_table(
    rows: Sequence[ConsumptionRow],
    *,
    month_names: Sequence[str],
    basis_names: Mapping[str, str],
    no_bill: str,
) -> list[TableRow]:
    """The chart's figures as table rows, oldest first, every cell text (a dash where there was no bill)."""
    table = []
    for row in rows:
        month, year = _month(row.cycle, month_names)
        if row.units is None:
            table.append(TableRow(row.cycle, f"{month} {year}", "–", no_bill, "–", "–"))
            continue
        basis = row.basis or "actual"
        table.append(
            TableRow(
                row.cycle,
                f"{month} {year}",
                f"{row.units:,}",
                basis_names.get(basis, basis),
                str(row.days or "–"),
                str(row.per_day) if row.per_day is not None else "–",
            )
        )
    return table


def consumption_svg(
    rows: Sequence[ConsumptionRow],
    *,
    title: str,
    description: str,
    month_names: Sequence[str],
    basis_names: Mapping[str, str],
    unit: str,
    no_bill: str,
    chart_id: str = "use",
) -> Markup:
    """The units billed per cycle as an accessible SVG bar chart, with a legend of the bases that occur."""
    bars = consumption_bars(rows, month_names=month_names, basis_names=basis_names, unit=unit, no_bill=no_bill)
    present = {bar.kind for bar in bars}
    legend = [(kind, basis_names.get(kind, kind)) for kind in BASES if kind in present or kind == "actual"]
    return bar_chart_svg(bars, title=title, description=description, legend=legend, chart_id=chart_id)


def summary(rows: Sequence[ConsumptionRow]) -> dict[str, object]:
    """The figures a chart's <desc> speaks: first and last cycle, highest and lowest month, the latest units.

    Keys: first, last, high_cycle, high_units, low_cycle, low_units, latest_units (None where no bill).
    """
    billed = [r for r in rows if r.units is not None]
    if not billed:
        return {
            "first": None,
            "last": None,
            "high_cycle": None,
            "high_units": None,
            "low_cycle": None,
            "low_units": None,
            "latest_units": None,
        }
    high = max(billed, key=lambda r: (r.units or 0, r.cycle))
    low = min(billed, key=lambda r: (r.units or 0, r.cycle))
    return {
        "first": rows[0].cycle,
        "last": rows[-1].cycle,
        "high_cycle": high.cycle,
        "high_units": high.units,
        "low_cycle": low.cycle,
        "low_units": low.units,
        "latest_units": rows[-1].units,
    }


HBAR_ROW = 22  # one bar's line
HBAR_LABEL = 150  # room on the left for the labels


def hbar_chart_svg(rows: Sequence[tuple[str, float, str]], *, title: str, description: str, chart_id: str) -> Markup:
    """A horizontal bar chart of (label, value, value text) rows, top to bottom: for the MIS's figures by
    sub-division, template or menu node, whose names are too long to stand under vertical bars. Long labels are
    cut to fit (the table beside the chart has them whole)."""
    if not chart_id.replace("-", "").isalnum():
        raise ValueError("a chart id is letters, digits and hyphens")
    top = max((value for _, value, _ in rows), default=0) or 1
    plot = WIDTH - LEFT - RIGHT - HBAR_LABEL - 44
    height = max(1, len(rows)) * HBAR_ROW + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" font-family="Noto Sans, Noto Sans Devanagari, sans-serif" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for i, (label, value, text) in enumerate(rows):
        y = 4 + i * HBAR_ROW
        width = 0.0 if value <= 0 else max(1.0, plot * value / top)
        shown = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<g class="row"><title>{escape(label)}: {escape(text)}</title>'
            f'<text x="{LEFT + HBAR_LABEL - 4}" y="{y + 14}" font-size="11" fill="{INK}" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect class="bar" x="{LEFT + HBAR_LABEL}" y="{y + 3}" width="{width:.1f}" height="{HBAR_ROW - 8}" '
            f'fill="{BAR}"/>'
            f'<text class="value" x="{LEFT + HBAR_LABEL + width + 4:.1f}" y="{y + 14}" font-size="11" fill="{INK}">'
            f"{escape(text)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
