"""USSD screens: CON/END, Hindi screens in Hindi within UCS-2's 80 characters, GSM-7's 182, pages, real menus."""

from __future__ import annotations

import logging
import re

import pytest

from ivr.turns import Gather, Hangup, Say, Transfer, Turn
from ivr.ussd import (
    GSM7_LIMIT,
    UCS2_LIMIT,
    fits,
    gsm7_length,
    newest_input,
    paged_request,
    render_ussd,
    ussd_pages,
    ussd_screen,
)
from prompts.catalog import Catalog, Prompt, catalog
from tests.menu_explorer import ANSWERS, STARTS, explore


def small_catalog(**texts: tuple[str, str]) -> Catalog:
    base = {
        "common.transfer": ("कृपया 1912 पर कॉल करें।", "Please call 1912 to talk to our agent."),
        "common.more": ("# आगे", "# More"),
    }
    base.update({key.replace("__", "."): value for key, value in texts.items()})
    return Catalog({key: Prompt(key, hi, en) for key, (hi, en) in base.items()})


def test_gather_continues_the_session_and_a_final_turn_ends_it() -> None:
    cat = small_catalog(menu__main=("मेनू", "1 Bill\n2 Pay"))
    assert render_ussd(Turn("en", (Say("menu.main"),), Gather()), cat) == "CON 1 Bill\n2 Pay"
    assert render_ussd(Turn("en", (Say("menu.main"),), Hangup()), cat) == "END 1 Bill\n2 Pay"


def test_typed_entry_gets_the_same_kind_of_screen() -> None:
    cat = small_catalog(account__enter=("खाता संख्या डालें:", "Enter your 10-digit account number:"))
    turn = Turn("en", (Say("account.enter"),), Gather(max_digits=10, terminator="#"))
    assert render_ussd(turn, cat) == "CON Enter your 10-digit account number:"


def test_hindi_turn_shows_hindi_when_it_fits() -> None:
    cat = small_catalog(menu__main=("1 बिल\n2 भुगतान", "1 Bill\n2 Pay"))
    assert render_ussd(Turn("hi", (Say("menu.main"),), Gather()), cat) == "CON 1 बिल\n2 भुगतान"


def test_a_hindi_screen_over_80_characters_is_shown_in_hindi_pages() -> None:
    notice = "बिजली " * 12  # 71 characters: with the "# आगे" line it fits, with the menu it does not
    cat = small_catalog(notice__a=(notice.strip(), "Power"), menu__main=("1 बिल\n2 भुगतान", "1 Bill\n2 Pay"))
    turn = Turn("hi", (Say("notice.a"), Say("menu.main")), Gather())
    assert ussd_pages(turn, cat) == [f"{notice.strip()}\n# आगे", "1 बिल\n2 भुगतान"]
    assert render_ussd(turn, cat) == f"CON {notice.strip()}\n# आगे"
    assert render_ussd(turn, cat, page=1) == "CON 1 बिल\n2 भुगतान"
    assert render_ussd(turn, cat, page=5) == "CON 1 बिल\n2 भुगतान"  # past the last page: the last


def test_a_final_turn_in_pages_ends_the_session_only_on_its_last_page() -> None:
    cat = small_catalog(notice__a=("बिजली " * 14, "Power"))
    turn = Turn("hi", (Say("notice.a"),), Hangup())
    pages = ussd_pages(turn, cat)
    assert len(pages) == 2
    assert render_ussd(turn, cat).startswith("CON ")
    assert render_ussd(turn, cat, page=1).startswith("END ")


def test_english_turn_never_shows_hindi() -> None:
    cat = small_catalog(menu__main=("1 बिल", "1 Bill"))
    assert ussd_screen(Turn("en", (Say("menu.main"),), Gather()), cat) == "1 Bill"


def test_gsm7_counts_extension_characters_twice() -> None:
    assert gsm7_length("Rs 1,727.50") == 11
    assert gsm7_length("[x]") == 5
    assert gsm7_length("€") == 2
    assert gsm7_length("₹ 10") is None  # the rupee sign is not GSM-7: the screen would go as UCS-2
    assert fits("a" * GSM7_LIMIT)
    assert not fits("a" * (GSM7_LIMIT + 1))
    assert fits("[" * (GSM7_LIMIT // 2))
    assert not fits("[" * (GSM7_LIMIT // 2) + "a")


def test_ucs2_screens_hold_80_characters() -> None:
    assert fits("क" * UCS2_LIMIT)
    assert not fits("क" * (UCS2_LIMIT + 1))
    assert not fits("₹" + "a" * UCS2_LIMIT)  # one non-GSM character makes the whole screen UCS-2


def test_an_english_screen_too_long_is_paged_at_lines_keeping_its_options_together() -> None:
    lines = [f"Line {n} " + "x" * 40 for n in range(1, 5)]  # 4 lines of 47 characters
    cat = small_catalog(notice__long=("लंबा", "\n".join(lines)), menu__main=("मेनू", "1 Bill\n2 Pay\n0 Agent"))
    pages = ussd_pages(Turn("en", (Say("notice.long"), Say("menu.main")), Gather()), cat)
    assert pages == ["\n".join([*lines[:3], "# More"]), "\n".join([lines[3], "1 Bill", "2 Pay", "0 Agent"])]
    assert all(fits(page) for page in pages)


def test_a_single_overlong_line_is_paged_at_words(caplog: pytest.LogCaptureFixture) -> None:
    cat = small_catalog(notice__long=("लंबा", "word " * 50))
    with caplog.at_level(logging.WARNING, logger="ivr.ussd"):
        pages = ussd_pages(Turn("en", (Say("notice.long"),), Hangup()), cat)
    assert len(pages) == 2
    assert all(fits(page) for page in pages)
    assert " ".join(page.removesuffix("\n# More") for page in pages).split() == ["word"] * 50
    assert "longer than a screen" in caplog.text


def test_transfer_ends_the_session_and_tells_the_consumer_to_call_1912() -> None:
    cat = small_catalog(account__closed=("खाता बंद है।", "This account is closed."))
    turn = Turn("en", (Say("account.closed"),), Transfer())
    assert render_ussd(turn, cat) == "END This account is closed.\nPlease call 1912 to talk to our agent."


def test_a_hindi_transfer_tells_where_to_call_in_hindi() -> None:
    assert render_ussd(Turn("hi", (), Transfer()), small_catalog()) == "END कृपया 1912 पर कॉल करें।"
    screen = render_ussd(Turn("hi", (Say("account.closed"),), Transfer()), catalog())
    assert screen == "END यह खाता स्थायी रूप से बंद है।\nसहायता के लिए कृपया 1912 पर कॉल करें।"


@pytest.mark.parametrize(
    ("text", "newest"),
    [
        ("", None),
        ("1", "1"),
        ("1*3", "3"),
        ("2*1234567890", "1234567890"),
        ("1*2*", ""),  # an empty reply: no choice received
        ("1**", ""),  # a stray '*' is never a USSD choice
        ("1*#", "#"),
        ("1* 4 ", "4"),
    ],
)
def test_newest_input_is_what_follows_the_last_star(text: str, newest: str | None) -> None:
    assert newest_input(text) == newest


# -- the real catalog's screens: every one the menus can show, in both languages ------------------------------------

# The longest values the menus show: a crore-rupee bill, five accounts on a mobile, an outage over two days, a
# ten-digit complaint number, a six-digit reading.
LONG_OUTAGE = {"kind": "roster", "since": "2026-10-30T12:45:00", "restore_by": "2026-10-31T12:45:00"}
LONG_BILL = {
    "amount_due_paise": 99_99_999_99,
    "due_date": "2026-10-30",
    "units": 99_999,
    "overdue": True,
    "last_payment": {"amount_paise": 99_99_999_99, "paid_on": "2026-10-30"},
}
WORST: dict[str, list[dict[str, object]]] = {
    **ANSWERS,
    "identify": [{"accounts": [f"710000000{n}" for n in range(1, 6)]}, {"accounts": []}],
    "check_account": [{"account_no": "7100000001"}, {"error": "unknown"}, {"error": "closed"}],
    "outage": [
        {"outage": LONG_OUTAGE},
        {"outage": {**LONG_OUTAGE, "delayed": True}},
        {"outage": {**LONG_OUTAGE, "restore_by": None}},
        {"outage": {**LONG_OUTAGE, "today": "2026-10-30"}},  # today's times, without the date
        {"outage": None, "paid_recently_paise": 99_99_999_99, "claimable_paise": 99_99_999_99},
    ],
    "bill": [{"bill": LONG_BILL}],
    "explain": [
        {
            "explanation": {
                "units": 99_999,
                "units_same_month_last_year": 99_999,
                "units_last_bill": 99_999,
                "slab": {"index": 4, "rate_paise": 9_999},
                "arrears_paise": 99_99_999_99,
                "lps_paise": 9_99_999_99,
                "basis": "assessed",
            }
        }
    ],
    "pay_due": [{"amount_due_paise": 99_99_999_99, "due_date": "2026-10-30"}],
    "pay": [{"amount_due_paise": 99_99_999_99}, {"error": "no_mobile"}],
    "complaint": [
        {"number": "1234567897", "created": True, "due": "2026-10-30T12:45:00"},
        {"number": "1234567897", "created": True, "due": "2026-10-31T12:45:00", "outage": LONG_OUTAGE},
    ],
    "status": [
        {"status": {"number": "1234567897", "status": "open", "sla_due_at": "2026-10-30T12:45:00", "escalated": True}},
        {"status": {"number": "1234567897", "status": "closed", "sla_due_at": "2026-10-30T12:45:00"}},
    ],
    "reading": [{"kwh": 999_999}, {"error": "below_last", "last_kwh": 999_999}, {"error": "implausible"}],
}
SCREEN_STARTS = {name: STARTS[name] for name in ("ussd", "ussd_hi")}
LATIN = re.compile(r"[A-Za-z]+")
LATIN_ON_HINDI_SCREENS = {"English", "kWh"}  # the offer of English, and the meter's own unit


def ussd_turns() -> list[Turn]:
    """Every turn a USSD session can meet, with the made-up answers and with the longest values."""
    turns: list[Turn] = []
    for answers in (ANSWERS, WORST):
        turns += [t for t in explore(SCREEN_STARTS, answers).turns if t not in turns]  # type: ignore[arg-type]
    return turns


@pytest.fixture(scope="module")
def screens() -> list[tuple[Turn, list[str]]]:
    return [(turn, ussd_pages(turn, catalog())) for turn in ussd_turns()]


def test_every_ussd_screen_fits_in_both_languages(
    screens: list[tuple[Turn, list[str]]], caplog: pytest.LogCaptureFixture
) -> None:
    assert {turn.lang for turn, _ in screens} == {"hi", "en"}
    for turn, pages in screens:
        for page in pages:
            assert fits(page), page
        more = catalog()["common.more"].screen_text(turn.lang)
        assert all(page.endswith("\n" + more) for page in pages[:-1])
        assert not pages[-1].endswith(more)
        if isinstance(turn.action, Transfer):
            assert "1912" in pages[-1]
    with caplog.at_level(logging.WARNING, logger="ivr.ussd"):
        for turn, _ in screens:
            ussd_pages(turn, catalog())
    assert caplog.records == []  # no line of any screen is longer than a screen


def test_hindi_screens_are_in_hindi_and_english_ones_in_english(screens: list[tuple[Turn, list[str]]]) -> None:
    for turn, pages in screens:
        text = "\n".join(pages)
        if turn.lang == "hi":
            assert any("\u0900" <= c <= "\u097f" for c in text), text
            assert set(LATIN.findall(text)) <= LATIN_ON_HINDI_SCREENS, text
        else:
            assert not any("\u0900" <= c <= "\u097f" for c in text), text


ONE_PAGE = {  # the screens met most: never paged, in either language
    "main menu": ((Say("welcome.greeting"), Say("menu.main"), Say("welcome.other_language")), Gather()),
    "main menu again": ((Say("common.no_input"), Say("menu.main"), Say("welcome.other_language")), Gather()),
    "main menu, a wrong key": ((Say("common.invalid"), Say("menu.main"), Say("welcome.other_language")), Gather()),
    "complaint types": ((Say("common.invalid"), Say("complaint.choose")), Gather()),
    "account entry": ((Say("welcome.greeting"), Say("account.enter")), Gather(10, 10000, "#")),
    "account too short": ((Say("account.malformed"), Say("account.enter")), Gather(10, 10000, "#")),
    "account not found": ((Say("account.not_found"), Say("account.enter")), Gather(10, 10000, "#")),
    "complaint number": ((Say("status.not_found"), Say("status.enter")), Gather(12, 10000, "#")),
    "reading": ((Say("common.no_input"), Say("reading.enter")), Gather(7, 10000, "#")),
    "closed account": ((Say("account.closed"), Say("common.transfer")), Transfer()),
}


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("name", sorted(ONE_PAGE))
def test_the_screens_met_most_fit_one_page(name: str, lang: str) -> None:
    items, action = ONE_PAGE[name]
    assert len(ussd_pages(Turn(lang, items, action), catalog())) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_every_screen_text_fits_on_its_own(lang: str) -> None:
    cat = catalog()
    # Outbound alert calls' prompts are only ever spoken.
    too_long = [k for k, prompt in cat.items() if not k.startswith("alert.") and not fits(prompt.screen_text(lang))]
    assert too_long == []


@pytest.mark.parametrize(
    ("text", "asked", "page"),
    [("", "", 0), ("#", "", 1), ("1", "1", 0), ("1*#", "1", 1), ("1*#*#", "1", 2), ("1*#*2", "1*#*2", 0)],
)
def test_a_page_request_names_the_request_it_pages(text: str, asked: str, page: int) -> None:
    assert paged_request(text) == (asked, page)
