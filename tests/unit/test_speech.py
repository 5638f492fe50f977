"""Hindi and English speech of numbers, money, dates, times and digit strings, and their written forms."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.speech import (
    amount_keys,
    clock_keys,
    date_keys,
    digits_keys,
    indian_grouping,
    number_keys,
    spoken_keys,
    spoken_text,
    written_text,
)
from ivr.turns import Amount, Clock, Date, Digits, Item, Lang, Number, Say
from prompts.catalog import Catalog, catalog

SCALES = {"num.hundred": 100, "num.thousand": 1_000, "num.lakh": 100_000, "num.crore": 10_000_000}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return catalog()


def say(item: Item, lang: Lang = "hi") -> str:
    return spoken_text([item], lang, catalog())


def value_of(keys: list[str]) -> int:
    """Read number keys back into the number, as a listener would: the inverse of `number_keys`."""
    total = current = 0
    for key in keys:
        if key == "num.hundred":
            current *= 100
        elif key == "num.crore":
            total, current = (total + current) * SCALES[key], 0
        elif key in SCALES:
            total, current = total + current * SCALES[key], 0
        else:
            current += int(key.removeprefix("num."))
    return total + current


@pytest.mark.parametrize(
    ("n", "hindi"),
    [
        (0, "शून्य"),
        (7, "सात"),
        (15, "पंद्रह"),
        (99, "निन्यानवे"),
        (100, "एक सौ"),
        (101, "एक सौ एक"),
        (1_000, "एक हज़ार"),
        (1_05_000, "एक लाख पाँच हज़ार"),
        (10_00_00_000, "दस करोड़"),
        (12_34_567, "बारह लाख चौंतीस हज़ार पाँच सौ सड़सठ"),
        (2_00_10_005, "दो करोड़ दस हज़ार पाँच"),
        (100_00_00_000, "एक सौ करोड़"),
        (1_23_45_67_89_012, "बारह हज़ार तीन सौ पैंतालीस करोड़ सड़सठ लाख नवासी हज़ार बारह"),
    ],
)
def test_number_is_spoken_in_hindi_in_the_indian_system(n: int, hindi: str) -> None:
    assert say(Number(n)) == hindi


@pytest.mark.parametrize(
    ("n", "english"),
    [
        (0, "zero"),
        (57, "fifty-seven"),
        (1_05_000, "one lakh five thousand"),
        (12_34_567, "twelve lakh thirty-four thousand five hundred sixty-seven"),
        (10_00_00_000, "ten crore"),
    ],
)
def test_number_is_spoken_in_english_in_the_indian_system(n: int, english: str) -> None:
    assert say(Number(n), "en") == english


@pytest.mark.parametrize(
    ("n", "hindi"),
    [
        (35, "पैंतीस"),
        (45, "पैंतालीस"),
        (48, "अड़तालीस"),
        (59, "उनसठ"),
        (67, "सड़सठ"),
        (69, "उनहत्तर"),
        (78, "अठहत्तर"),
        (79, "उन्यासी"),
        (89, "नवासी"),
        (98, "अट्ठानवे"),
    ],
)
def test_irregular_hindi_numbers_have_their_own_words(n: int, hindi: str) -> None:
    assert say(Number(n)) == hindi


def test_every_number_below_a_hundred_has_its_own_distinct_word(cat: Catalog) -> None:
    for lang in ("hi", "en"):
        words = [cat.text(f"num.{n}", lang) for n in range(100)]
        assert len(set(words)) == 100
        assert all(" " not in word for word in words)


def test_number_texts_are_nfc_so_they_compare_equal_to_typed_hindi(cat: Catalog) -> None:
    for key in cat:
        if key.split(".")[0] in ("num", "money", "month", "time"):
            assert unicodedata.is_normalized("NFC", cat.text(key, "hi")), key


@pytest.mark.parametrize(
    ("paise", "hindi", "english"),
    [
        (
            123456789,
            "बारह लाख चौंतीस हज़ार पाँच सौ सड़सठ रुपये और नवासी पैसे",
            "twelve lakh thirty-four thousand five hundred sixty-seven rupees and eighty-nine paise",
        ),
        (0, "शून्य रुपये", "zero rupees"),
        (100, "एक रुपया", "one rupee"),
        (1, "एक पैसा", "one paisa"),
        (101, "एक रुपया और एक पैसा", "one rupee and one paisa"),
        (50, "पचास पैसे", "fifty paise"),
        (200, "दो रुपये", "two rupees"),
        (1_00_000_00, "एक लाख रुपये", "one lakh rupees"),
    ],
)
def test_amount_is_spoken_as_rupees_and_paise(paise: int, hindi: str, english: str) -> None:
    assert say(Amount(paise)) == hindi
    assert say(Amount(paise), "en") == english


@pytest.mark.parametrize(
    ("day", "hindi", "english"),
    [
        (dt.date(2026, 11, 22), "बाईस नवंबर दो हज़ार छब्बीस", "twenty-two November two thousand twenty-six"),
        (dt.date(2025, 1, 1), "एक जनवरी दो हज़ार पच्चीस", "one January two thousand twenty-five"),
        (dt.date(2024, 2, 29), "उनतीस फ़रवरी दो हज़ार चौबीस", "twenty-nine February two thousand twenty-four"),
        (dt.date(1999, 12, 31), "इकतीस दिसंबर उन्नीस सौ निन्यानवे", "thirty-one December nineteen ninety-nine"),
        (dt.date(1905, 8, 15), "पंद्रह अगस्त उन्नीस सौ पाँच", "fifteen August nineteen hundred five"),
        (dt.date(2000, 3, 10), "दस मार्च दो हज़ार", "ten March two thousand"),
    ],
)
def test_date_is_spoken_as_day_month_name_and_year(day: dt.date, hindi: str, english: str) -> None:
    assert say(Date(day)) == hindi
    assert say(Date(day), "en") == english


@pytest.mark.parametrize(
    ("hour", "minute", "hindi", "english"),
    [
        (14, 30, "दोपहर दो बजकर तीस मिनट", "two thirty in the afternoon"),
        (10, 0, "सुबह दस बजे", "ten o'clock in the morning"),
        (9, 5, "सुबह नौ बजकर पाँच मिनट", "nine oh five in the morning"),
        (18, 45, "शाम छह बजकर पैंतालीस मिनट", "six forty-five in the evening"),
        (21, 0, "रात नौ बजे", "nine o'clock at night"),
        (2, 15, "रात दो बजकर पंद्रह मिनट", "two fifteen at night"),
        (12, 0, "दोपहर बारह बजे", "twelve noon"),
        (0, 0, "रात बारह बजे", "twelve midnight"),
        (0, 1, "रात बारह बजकर एक मिनट", "twelve oh one at night"),
        (23, 59, "रात ग्यारह बजकर उनसठ मिनट", "eleven fifty-nine at night"),
    ],
)
def test_time_is_spoken_on_a_twelve_hour_clock_with_the_part_of_the_day(
    hour: int, minute: int, hindi: str, english: str
) -> None:
    assert say(Clock(hour, minute)) == hindi
    assert say(Clock(hour, minute), "en") == english


def test_digits_are_read_one_by_one_keeping_zeros() -> None:
    assert say(Digits("0905")) == "शून्य नौ शून्य पाँच"
    assert say(Digits("0905"), "en") == "zero nine zero five"


@pytest.mark.parametrize("raw", ["", "12a4", "12 34", "-1", "١٢", "१२"])
def test_digits_other_than_ascii_digits_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a string of digits"):
        digits_keys(raw)


def test_spoken_text_joins_prompts_and_values_with_single_spaces(cat: Catalog) -> None:
    items: list[Item] = [Say("money.rupees"), Number(5), Say("num.hundred")]
    assert spoken_text(items, "hi", cat) == "रुपये पाँच सौ"
    assert spoken_text([], "hi", cat) == ""


def test_say_item_speaks_its_own_key() -> None:
    assert spoken_keys(Say("menu.main"), "hi") == ["menu.main"]


@pytest.mark.parametrize(
    ("items", "english", "hindi"),
    [
        ([Number(1234567)], "12,34,567", "12,34,567"),
        ([Number(999)], "999", "999"),
        ([Number(0)], "0", "0"),
        ([Number(10_00_00_000)], "10,00,00,000", "10,00,00,000"),
        ([Amount(123456789)], "Rs 12,34,567.89", "रु 12,34,567.89"),
        ([Amount(5)], "Rs 0.05", "रु 0.05"),
        ([Amount(150000)], "Rs 1,500.00", "रु 1,500.00"),
        ([Date(dt.date(2026, 11, 22))], "22 Nov 2026", "22 नवंबर 2026"),
        ([Digits("0012345678")], "0012345678", "0012345678"),
        ([Clock(14, 30)], "14:30", "14:30"),
        ([Clock(9, 5)], "09:05", "09:05"),
        ([Say("money.rupees"), Number(5)], "rupees 5", "रुपये 5"),
    ],
)
def test_written_text_shows_numerals_for_screens(items: list[Item], english: str, hindi: str, cat: Catalog) -> None:
    assert written_text(items, "en", cat) == english
    assert written_text(items, "hi", cat) == hindi


@pytest.mark.parametrize("item", [Number(-1), Amount(-1), Amount(-100)])
def test_negative_values_are_refused_when_spoken_and_written(item: Item, cat: Catalog) -> None:
    with pytest.raises(ValueError, match="negative"):
        spoken_text([item], "hi", cat)
    with pytest.raises(ValueError, match="negative"):
        written_text([item], "en", cat)


@pytest.mark.parametrize(("hour", "minute"), [(24, 0), (-1, 0), (12, 60), (12, -1)])
def test_impossible_times_are_refused(hour: int, minute: int, cat: Catalog) -> None:
    with pytest.raises(ValueError, match="not a time of day"):
        clock_keys(hour, minute, "hi")
    with pytest.raises(ValueError, match="not a time of day"):
        written_text([Clock(hour, minute)], "en", cat)


@given(st.integers(min_value=0, max_value=10**10))
def test_every_number_speaks_only_keys_in_the_catalog(n: int) -> None:
    cat = catalog()
    assert all(key in cat for key in number_keys(n))


@given(st.integers(min_value=1, max_value=10**18))
def test_zero_is_never_a_word_inside_a_bigger_number(n: int) -> None:
    assert "num.0" not in number_keys(n)


@given(st.integers(min_value=0, max_value=10**18))
def test_reading_the_keys_back_gives_the_number(n: int) -> None:
    assert value_of(number_keys(n)) == n


@given(st.integers(min_value=0, max_value=10**12))
def test_amount_keys_are_in_the_catalog_and_read_back_as_rupees_and_paise(paise: int) -> None:
    cat = catalog()
    keys = amount_keys(paise, "hi")
    assert all(key in cat for key in keys)
    rupees, rest = divmod(paise, 100)
    units = {"money.rupee", "money.rupees"}
    if rupees or not rest:
        cut = next(i for i, key in enumerate(keys) if key in units)
        assert value_of(keys[:cut]) == rupees
        keys = keys[cut + 1 :]
    if rest:
        assert keys[-1] == ("money.paisa" if rest == 1 else "money.paise")
        assert value_of([key for key in keys[:-1] if key != "money.and"]) == rest


@given(st.dates(), st.sampled_from(["hi", "en"]))
def test_every_date_speaks_only_keys_in_the_catalog(day: dt.date, lang: Lang) -> None:
    cat = catalog()
    assert all(key in cat for key in date_keys(day, lang))


@given(st.integers(0, 23), st.integers(0, 59), st.sampled_from(["hi", "en"]))
def test_every_time_speaks_only_keys_in_the_catalog(hour: int, minute: int, lang: Lang) -> None:
    cat = catalog()
    assert all(key in cat for key in clock_keys(hour, minute, lang))


@given(st.integers(min_value=0, max_value=10**18))
def test_indian_grouping_puts_commas_after_thousands_then_every_two_digits(n: int) -> None:
    text = indian_grouping(n)
    assert int(text.replace(",", "")) == n
    groups = text.split(",")
    assert len(groups[-1]) == min(3, len(str(n)))
    assert all(len(g) == 2 for g in groups[1:-1])
    assert 1 <= len(groups[0]) <= (3 if len(groups) == 1 else 2)
