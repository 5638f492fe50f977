"""Rupees and whole numbers written the Indian way without Babel: the same text Babel gives, far cheaper."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from cis.web.i18n import MINUS, indian_digits


@pytest.mark.parametrize(
    ("whole", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1,000"),
        (12345, "12,345"),
        (123456, "1,23,456"),
        (12345678, "1,23,45,678"),
    ],
)
def test_the_last_three_digits_then_pairs(whole: int, text: str) -> None:
    assert indian_digits(whole) == text


@given(st.integers(min_value=0, max_value=10**15))
def test_whole_numbers_are_written_as_babel_writes_them_in_both_page_locales(whole: int) -> None:
    for locale in ("en_IN", "hi_IN"):
        assert indian_digits(whole) == format_decimal(whole, locale=locale)


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_rupees_are_written_as_babel_writes_them_in_both_page_locales(paise: int) -> None:
    rupees, rest = divmod(abs(paise), 100)
    fast = f"{MINUS if paise < 0 else ''}₹{indian_digits(rupees)}.{rest:02d}"
    for locale in ("en_IN", "hi_IN"):
        text = format_currency(Decimal(paise) / 100, "INR", locale=locale)
        assert fast == (MINUS + text.lstrip("-") if paise < 0 else text)
