"""Numbers, money, dates, times and digit strings as catalog keys to speak, and as text to show.

Speech is a list of catalog keys (`num.57`, `money.rupees`) so that the same list can be spoken by a
text-to-speech engine (the keys' texts joined by spaces) or played as recorded audio (one file per
key). Numbers use the Indian system: crore, lakh, thousand, hundred, and a word for each of 0-99.
Pure: no I/O; the catalog is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ivr.turns import Amount, Date, Digits, Item, Lang, Number, Say
from prompts.catalog import Catalog

CRORE = 10_000_000
LAKH = 100_000
THOUSAND = 1_000
HUNDRED = 100

# Where the day's periods begin, by 24-hour hour; a time belongs to the last period begun.
_PERIODS = ((0, "time.night"), (4, "time.morning"), (12, "time.afternoon"), (16, "time.evening"), (20, "time.night"))


def _non_negative(value: int, what: str) -> None:
    if value < 0:
        raise ValueError(f"cannot speak a negative {what}: {value}")


def number_keys(n: int) -> list[str]:
    """The keys that speak `n` in the Indian system: 1,05,000 > एक लाख पाँच हज़ार.

    Crores above 99 are themselves spoken as a number (100 crore > एक सौ करोड़); zero is `num.0` and
    is never part of a bigger number.
    """
    _non_negative(n, "number")
    if n == 0:
        return ["num.0"]
    return _positive_keys(n)


def _positive_keys(n: int) -> list[str]:
    keys: list[str] = []
    crores, n = divmod(n, CRORE)
    if crores:
        keys += [*_positive_keys(crores), "num.crore"]
    for size, word in ((LAKH, "num.lakh"), (THOUSAND, "num.thousand"), (HUNDRED, "num.hundred")):
        count, n = divmod(n, size)
        if count:
            keys += [f"num.{count}", word]
    if n:
        keys.append(f"num.{n}")
    return keys


def amount_keys(paise: int, lang: Lang) -> list[str]:
    """Money in paise as rupees, then "और N पैसे" when there are paise; one rupee and one paisa are singular.

    Zero rupees with paise is just the paise; nothing at all is "शून्य रुपये". Both languages use the same
    order, so `lang` does not change the keys today.
    """
    _non_negative(paise, "amount")
    rupees, rest = divmod(paise, 100)
    keys: list[str] = []
    if rupees or not rest:
        keys += [*number_keys(rupees), "money.rupee" if rupees == 1 else "money.rupees"]
    if rest:
        if rupees:
            keys.append("money.and")
        keys += [*number_keys(rest), "money.paisa" if rest == 1 else "money.paise"]
    return keys


def digits_keys(digits: str) -> list[str]:
    """One key per digit, as account and complaint numbers are read out: "905" > नौ शून्य पाँच."""
    if not digits or not all(c in "0123456789" for c in digits):
        raise ValueError(f"not a string of digits: {digits!r}")
    return [f"num.{c}" for c in digits]


def year_keys(year: int, lang: Lang) -> list[str]:
    """A year as people say it: 2026 > दो हज़ार छब्बीस; 1999 > उन्नीस सौ निन्यानवे, "nineteen ninety-nine"."""
    _non_negative(year, "year")
    centuries, rest = divmod(year, 100)
    if not 11 <= centuries <= 19:
        return number_keys(year)
    keys = [f"num.{centuries}"]
    if lang == "en" and rest >= 10:
        return [*keys, f"num.{rest}"]
    keys.append("num.hundred")
    return [*keys, f"num.{rest}"] if rest else keys


def date_keys(d: dt.date, lang: Lang) -> list[str]:
    """Day, month's name, year: बाईस नवंबर दो हज़ार छब्बीस, "twenty-two November two thousand twenty-six"."""
    return [f"num.{d.day}", f"month.{d.month}", *year_keys(d.year, lang)]


def _period_key(hour: int) -> str:
    return [key for start, key in _PERIODS if start <= hour][-1]


def clock_keys(hour: int, minute: int, lang: Lang) -> list[str]:
    """A 24-hour time said on a 12-hour clock with the part of the day.

    Hindi puts the part of the day first: 14:30 > दोपहर दो बजकर तीस मिनट, 10:00 > सुबह दस बजे.
    English puts it last: "two thirty in the afternoon", "two oh five ...", "ten o'clock in the
    morning"; 12:00 and 0:00 are "twelve noon" and "twelve midnight".
    """
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"not a time of day: {hour}:{minute:02d}")
    spoken_hour = f"num.{hour % 12 or 12}"
    period = _period_key(hour)
    if lang == "hi":
        if minute == 0:
            return [period, spoken_hour, "time.oclock"]
        return [period, spoken_hour, "time.past_hour", f"num.{minute}", "time.minutes"]
    if minute == 0:
        if hour == 12:
            return [spoken_hour, "time.noon"]
        if hour == 0:
            return [spoken_hour, "time.midnight"]
        return [spoken_hour, "time.oclock", period]
    if minute < 10:
        return [spoken_hour, "time.oh", f"num.{minute}", period]
    return [spoken_hour, f"num.{minute}", period]


def spoken_keys(item: Item, lang: Lang) -> list[str]:
    """The catalog keys that speak one turn item."""
    if isinstance(item, Say):
        return [item.key]
    if isinstance(item, Amount):
        return amount_keys(item.paise, lang)
    if isinstance(item, Number):
        return number_keys(item.value)
    if isinstance(item, Digits):
        return digits_keys(item.digits)
    if isinstance(item, Date):
        return date_keys(item.value, lang)
    return clock_keys(item.hour, item.minute, lang)


def spoken_text(items: Sequence[Item], lang: Lang, catalog: Catalog) -> str:
    """What a text-to-speech engine says for the items: their keys' texts joined by single spaces."""
    return " ".join(catalog.text(key, lang) for item in items for key in spoken_keys(item, lang))


def indian_grouping(n: int) -> str:
    """A whole number written with Indian digit grouping: 1234567 > "12,34,567"."""
    _non_negative(n, "number")
    text = str(n)
    head, tail = text[:-3], text[-3:]
    # Pad the head to an even length so it splits into pairs from the right.
    head = head.rjust(len(head) + len(head) % 2)
    pairs = [head[i : i + 2].strip() for i in range(0, len(head), 2)]
    return ",".join([*pairs, tail])


def written_item(item: Item, lang: Lang, catalog: Catalog) -> str:
    """One turn item as shown on a screen (USSD, SMS): numerals, not words."""
    if isinstance(item, Say):
        return catalog[item.key].screen_text(lang)
    if isinstance(item, Amount):
        _non_negative(item.paise, "amount")
        rupees, rest = divmod(item.paise, 100)
        return f"{catalog.text('money.symbol', lang)} {indian_grouping(rupees)}.{rest:02d}"
    if isinstance(item, Number):
        return indian_grouping(item.value)
    if isinstance(item, Digits):
        digits_keys(item.digits)
        return item.digits
    if isinstance(item, Date):
        d = item.value
        return f"{d.day} {catalog.text(f'month.abbr.{d.month}', lang)} {d.year}"
    clock_keys(item.hour, item.minute, lang)
    return f"{item.hour:02d}:{item.minute:02d}"


def is_menu_line(item: Item, text: str) -> bool:
    """Whether an item's screen text is menu lines ("1 Bill", "8 Main menu\n0 Agent"): only catalog texts
    are; a value such as "1 Oct 2026" never is."""
    return isinstance(item, Say) and ("\n" in text or (len(text) > 1 and text[0] in "0123456789*#" and text[1] == " "))


def written_text(items: Sequence[Item], lang: Lang, catalog: Catalog) -> str:
    """The items as shown on a screen: "Rs 12,34,567.89", "22 Nov 2026", "14:30".

    Items are joined by single spaces, except that menu lines ("1 Bill\n2 Pay", "9 Hindi") stand on lines
    of their own, a screen text that begins with a line break ("\nPay by") begins a new line that the
    values after it continue ("Pay by 5 Dec 2026"), and one that ends with a line break ("Urja Mitra\n")
    ends its line.
    """
    out = ""
    previous_lines = False
    for item in items:
        text = written_item(item, lang, catalog)
        if not text:
            continue  # a glue word that screens leave out
        opens_line = isinstance(item, Say) and text.startswith("\n")
        closes_line = isinstance(item, Say) and text.endswith("\n")
        text = text.strip("\n")
        lines = is_menu_line(item, text)
        if out:
            out += "\n" if lines or previous_lines or opens_line else " "
        out += text
        previous_lines = lines or closes_line
    return out
