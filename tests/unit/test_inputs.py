"""cis.inputs: what any entry point is handed becomes a value the database can take, or one clear InvalidInput."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cis import inputs
from cis.inputs import InvalidInput

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


# --- text -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "The cause contains characters that are not allowed."),
        ("a\ud800b", "The cause contains characters that are not allowed."),
        ("line one\nline two", "The cause contains characters that are not allowed."),
        ("\x1b[31mred", "The cause contains characters that are not allowed."),
        ("x" * 201, "The cause can be at most 200 characters long."),
        (42, "The cause must be text."),
    ],
)
def test_text_refuses_what_no_column_should_hold(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        inputs.text(value, field="cause", max_length=200)
    assert caught.value.field == "cause"


def test_text_strips_allows_newlines_where_asked_and_says_when_required() -> None:
    assert inputs.text("  Tree fell on line  ", field="cause", max_length=200) == "Tree fell on line"
    assert inputs.text("first\n\tsecond", field="text", max_length=200, multiline=True) == "first\n\tsecond"
    assert inputs.text("   ", field="cause", max_length=200) is None
    with pytest.raises(InvalidInput, match=r"Please give the cause of the outage\."):
        inputs.text("", field="cause", label="cause of the outage", max_length=200, required=True)


@given(st.text())
def test_whatever_text_comes_in_what_passes_is_storable(value: str) -> None:
    try:
        kept = inputs.text(value, field="f", max_length=50, multiline=True)
    except InvalidInput:
        return
    assert kept is None or (not inputs.unstorable(kept) and len(kept) <= 50)


@given(st.text(), st.booleans())
def test_cleaned_text_is_always_storable_and_short_enough(value: str, multiline: bool) -> None:
    kept = inputs.cleaned(value, max_length=30, multiline=multiline)

    assert not inputs.unstorable(kept)
    assert len(kept) <= 30
    assert multiline or "\n" not in kept


# --- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-5", "The units cannot be negative."),
        ("9" * 5000, "The units can be at most 10,000,000."),
        ("-" + "9" * 5000, "The units cannot be negative."),
        ("12.5", "The units must be a whole number."),
        ("1e5", "The units must be a whole number."),
        ("١٢", "The units must be a whole number."),
    ],
)
def test_a_whole_number_out_of_range_says_the_range_not_that_it_is_not_a_number(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{message}$"):
        inputs.whole_number(raw, field="units", minimum=0, maximum=10_000_000)


def test_a_whole_number_takes_thousands_commas_and_a_sign() -> None:
    assert inputs.whole_number(" 1,23,456 ", field="units", minimum=0, maximum=10**7) == 123_456
    assert inputs.whole_number("+7", field="days", minimum=1, maximum=366) == 7
    assert inputs.whole_number("", field="days", minimum=1, maximum=366) is None
    with pytest.raises(InvalidInput, match=r"The days must be at least 1\."):
        inputs.whole_number("0", field="days", minimum=1, maximum=366)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1e999999", "The load must be a number of kW, e.g. 2 or 1.5."),
        ("NaN", "The load must be a number of kW, e.g. 2 or 1.5."),
        ("Infinity", "The load must be a number of kW, e.g. 2 or 1.5."),
        ("9" * 5000, "The load can be at most 100,000 kW."),
        ("0", "The load must be more than 0 kW."),
        ("1.2345", "The load can have at most 3 digits after the point."),
    ],
)
def test_a_decimal_is_plain_digits_in_range(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{message}$"):
        inputs.decimal_number(
            raw, field="load", minimum=Decimal(0), maximum=Decimal(100_000), places=3, unit="kW", exclusive_minimum=True
        )


@given(st.text(max_size=60))
def test_any_text_is_a_number_in_range_or_one_clear_error(raw: str) -> None:
    try:
        value = inputs.whole_number(raw, field="n", minimum=-5, maximum=5000)
    except InvalidInput:
        return
    assert value is None or -5 <= value <= 5000


# --- dates and ids ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0001-01-01T00:00", "9999-12-31T23:59", "1999-12-31T23:59"])
def test_a_moment_outside_the_window_is_refused_before_any_time_zone_arithmetic(raw: str) -> None:
    with pytest.raises(InvalidInput, match="must be between 01 Jan 2000 and 31 Dec 2099"):
        inputs.local_datetime(raw, IST, field="since")


def test_a_local_moment_is_read_in_its_zone_and_returned_in_utc() -> None:
    moment = inputs.local_datetime("2026-11-20T15:30", IST, field="since")

    assert moment == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(InvalidInput, match=r"e.g. 2026-11-20 15:30 \(IST\)"):
        inputs.local_datetime("yesterday", IST, field="since", zone_label="IST")


def test_a_date_is_iso_and_in_the_window() -> None:
    assert inputs.date("2026-11-20", field="from") == dt.date(2026, 11, 20)
    with pytest.raises(InvalidInput, match="between 01 Jan 2000 and 31 Dec 2099"):
        inputs.date("0001-01-01", field="from")


@pytest.mark.parametrize(("raw", "expected"), [("12", 12), ("0", None), ("9" * 30, None), ("-1", None), ("١", None)])
def test_a_record_id_is_what_a_bigint_can_hold_else_none(raw: str, expected: int | None) -> None:
    assert inputs.record_id(raw) == expected
    assert inputs.record_id(str(inputs.MAX_ID)) == inputs.MAX_ID


# --- JSON and idempotency keys ----------------------------------------------------------------------------------


def test_json_nested_50000_deep_is_refused_without_a_recursion_error() -> None:
    with pytest.raises(InvalidInput, match="nests deeper than 32 levels"):
        inputs.json_document("[" * 50_000 + "]" * 50_000)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = json.dumps({"text": "[" * 100, "list": [[1], {"a": "}}}"}]})

    assert inputs.json_document(body)["text"] == "[" * 100


def test_json_with_a_nul_or_a_lone_surrogate_is_refused_or_cleaned() -> None:
    body = '{"id": "mo-\\u000077", "text\\ud800": "HELP\\ud800"}'

    with pytest.raises(InvalidInput, match="not allowed"):
        inputs.json_document(body)
    assert inputs.json_document(body, clean=True) == {"id": "mo-77", "text": "HELP"}


@given(st.binary(max_size=200))
def test_any_body_is_a_document_or_one_clear_error(body: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        inputs.json_document(body)


def test_an_idempotency_key_is_bounded_and_scoped_to_its_client() -> None:
    mine = inputs.idempotency_key("form-7f3a", client="203.0.113.7")

    assert mine == inputs.idempotency_key("form-7f3a", client="203.0.113.7")
    assert mine != inputs.idempotency_key("form-7f3a", client="198.51.100.9")
    assert mine is not None
    assert len(mine) <= 80
    assert inputs.idempotency_key(None, client="x") is None
    for bad in ("k" * 129, "has space", "नमस्ते", "a\x00"):
        with pytest.raises(InvalidInput, match="1 to 128 printable ASCII"):
            inputs.idempotency_key(bad, client="x")
