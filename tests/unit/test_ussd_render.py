"""USSD screens: CON/END, Hindi only when it fits UCS-2's 80 characters, GSM-7's 182, and the real menus fit."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from ivr import speech
from ivr.turns import Amount, Clock, Date, Digits, Gather, Hangup, Item, Number, Say, Transfer, Turn
from ivr.ussd import GSM7_LIMIT, UCS2_LIMIT, fits, gsm7_length, newest_input, render_ussd, ussd_screen
from prompts.catalog import Catalog, Prompt, catalog


def small_catalog(**texts: tuple[str, str]) -> Catalog:
    base = {"common.transfer": ("लाइन पर रहें", "Please call 1912 to talk to our agent.")}
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


def test_hindi_over_80_characters_falls_back_to_english() -> None:
    cat = small_catalog(menu__main=("क" * (UCS2_LIMIT + 1), "1 Bill\n2 Pay"))
    assert render_ussd(Turn("hi", (Say("menu.main"),), Gather()), cat) == "CON 1 Bill\n2 Pay"


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


def test_english_too_long_is_cut_at_a_line_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    lines = [f"{n} " + "x" * 40 for n in range(1, 6)]  # 5 lines of 42 characters: 214 with the newlines
    cat = small_catalog(menu__long=("लंबा", "\n".join(lines)))
    with caplog.at_level(logging.WARNING, logger="ivr.ussd"):
        screen = ussd_screen(Turn("en", (Say("menu.long"),), Gather()), cat)
    assert screen == "\n".join(lines[:4])
    assert "menu.long" in caplog.text


def test_a_single_overlong_line_is_cut_at_a_word() -> None:
    cat = small_catalog(notice__long=("लंबा", "word " * 50))
    screen = ussd_screen(Turn("en", (Say("notice.long"),), Hangup()), cat)
    assert fits(screen)
    assert screen.endswith("word")
    assert len(screen) > GSM7_LIMIT - 5


def test_transfer_ends_the_session_and_tells_the_consumer_to_call_1912() -> None:
    cat = small_catalog(account__closed=("खाता बंद है।", "This account is closed."))
    turn = Turn("en", (Say("account.closed"),), Transfer())
    assert render_ussd(turn, cat) == "END This account is closed.\nPlease call 1912 to talk to our agent."


def test_hindi_transfer_without_the_helpline_number_shows_english() -> None:
    cat = small_catalog()
    assert render_ussd(Turn("hi", (), Transfer()), cat) == "END Please call 1912 to talk to our agent."


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


# -- the real catalog's screens --------------------------------------------------------------------------------

WELCOME: tuple[Item, ...] = (Say("welcome.greeting"), Say("welcome.other_language"), Say("menu.main"))
REAL_SCREENS: dict[str, tuple[tuple[Item, ...], Gather | Hangup | Transfer]] = {
    "main menu": (WELCOME, Gather()),
    "main menu after a breakdown notice": (
        (Say("outage.breakdown"), Say("outage.since"), Clock(14, 30), Say("outage.restore_by"), Clock(18, 0), *WELCOME),
        Gather(),
    ),
    "main menu after a shutdown without ETR": (
        (Say("outage.shutdown"), Say("outage.restore_unknown"), *WELCOME),
        Gather(),
    ),
    "choose an account": (
        (
            Say("identify.several"),
            Say("identify.ending_in"),
            Digits("7890"),
            Say("identify.account_for"),
            Number(1),
            Say("identify.ending_in"),
            Digits("1234"),
            Say("identify.account_for"),
            Number(2),
            Say("identify.other_account"),
        ),
        Gather(),
    ),
    "enter account": ((Say("account.enter"),), Gather(max_digits=10, terminator="#")),
    "bill": (
        (
            Say("bill.amount_due"),
            Amount(12_34_567_89),
            Say("bill.due_date"),
            Date(dt.date(2026, 11, 22)),
            Say("bill.units"),
            Number(1234),
            Say("common.units"),
            Say("bill.options"),
        ),
        Gather(),
    ),
    "bill explained": (
        (
            Say("explain.this_bill"),
            Number(412),
            Say("common.units"),
            Say("explain.last_year"),
            Number(380),
            Say("common.units"),
            Say("explain.slab"),
            Number(3),
            Say("explain.slab_rate"),
            Amount(650),
            Say("explain.arrears"),
            Amount(1_20_000),
            Say("explain.late_fee"),
            Amount(3_500),
            Say("explain.estimated"),
            Say("common.next"),
        ),
        Gather(),
    ),
    "payment link sent": ((Say("pay.sent"), Amount(1_72_750), Say("common.next")), Gather()),
    "complaint type": ((Say("complaint.choose"),), Gather()),
    "complaint registered": (
        (
            Say("complaint.registered"),
            Digits("2611220001"),
            Say("complaint.again"),
            Digits("2611220001"),
            Say("complaint.sms_sent"),
            Say("common.next"),
        ),
        Gather(),
    ),
    "complaint status": (
        (
            Say("status.number"),
            Digits("2611220001"),
            Say("status.open"),
            Say("status.due_by"),
            Date(dt.date(2026, 11, 23)),
            Clock(18, 30),
            Say("status.escalated"),
            Say("common.next"),
        ),
        Gather(),
    ),
    "reading saved": ((Say("reading.saved"), Number(12345), Say("common.units"), Say("common.next")), Gather()),
    "goodbye": ((Say("common.goodbye"),), Hangup()),
    "transfer": ((Say("common.transfer"),), Transfer()),
    "apology": ((Say("common.sorry_error"),), Transfer()),
}


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("name", sorted(REAL_SCREENS))
def test_real_menus_fit_without_cutting(name: str, lang: str, caplog: pytest.LogCaptureFixture) -> None:
    items, action = REAL_SCREENS[name]
    turn = Turn(lang, items, action)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="ivr.ussd"):
        screen = ussd_screen(turn, catalog())
    assert caplog.records == []
    assert fits(screen)
    shown = "hi" if screen == speech.written_text(items, "hi", catalog()) else "en"
    if shown == "en":
        assert screen.startswith(speech.written_text(items, "en", catalog()))
    if isinstance(action, Transfer):
        assert "1912" in screen


def test_every_english_screen_text_fits_on_its_own() -> None:
    cat = catalog()
    too_long = [key for key, prompt in cat.items() if not fits(prompt.screen_text("en"))]
    assert too_long == []
