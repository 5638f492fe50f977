"""The menus walked without I/O: key presses in, prompt keys out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from ivr.engine import Answer, Input, Query, Start, State, step
from ivr.menus import FLOWS
from ivr.speech import spoken_keys
from ivr.turns import Clock, Date, Digits, Gather, Say, Transfer, Turn
from prompts.catalog import catalog
from tests.menu_explorer import ANSWERS
from tests.menu_explorer import every_turn as exploration


def walk(keys: Sequence[str], answers: dict[str, dict[str, Any]] | None = None) -> tuple[State, list[Turn]]:
    given = {name: options[0] for name, options in ANSWERS.items()} | (answers or {})
    state, out = step(FLOWS, None, Start("asterisk", "c1", "+919876543210"))
    turns = []
    for entry in [None, *keys]:
        if entry is not None:
            state, out = step(FLOWS, state, Input(entry))
        while isinstance(out, Query):
            state, out = step(FLOWS, state, Answer(given[out.name]))
        turns.append(out)
    return state, turns


def says(turn: Turn) -> list[str]:
    return [i.key for i in turn.items if isinstance(i, Say)]


@pytest.fixture(scope="module")
def every_turn() -> list[Turn]:
    return exploration().turns


def test_every_prompt_a_menu_can_say_has_hindi_and_english_text(every_turn: list[Turn]) -> None:
    used = {key for turn in every_turn for item in turn.items for key in spoken_keys(item, turn.lang)}
    missing = sorted(key for key in used if key not in catalog())
    assert missing == []


def test_every_menu_prompt_in_the_catalog_is_reachable(every_turn: list[Turn]) -> None:
    used = {key for turn in every_turn for item in turn.items for key in spoken_keys(item, turn.lang)}
    # The apology after a failure, Twilio's "please call 1912" when no agent line is configured, the USSD
    # screen for a mobile over its limit, and the USSD renderer's "# More" under a page that has more after it.
    said_by_the_runner = {"common.sorry_error", "common.call_1912", "common.slow_down", "common.more"}
    speech = ("num.", "money.", "month.", "time.")
    unused = sorted(k for k in catalog() if not k.startswith(speech) and k not in used | said_by_the_runner)
    assert unused == []


def test_the_walk_reaches_every_node() -> None:
    assert exploration().nodes == {name for flow in FLOWS.values() for name in flow.nodes}


def test_the_welcome_waits_briefly_then_goes_on_in_hindi() -> None:
    state, turns = walk([""])
    assert says(turns[0]) == ["welcome.greeting", "welcome.other_language"]
    assert turns[0].action == Gather(1, 3000, None)
    assert state["lang"] == "hi"
    assert says(turns[1]) == ["menu.main", "welcome.other_language"]


def test_bill_inquiry_says_amount_due_date_units_and_last_payment() -> None:
    _, turns = walk(["", "1"])
    assert says(turns[2])[:2] == ["bill.amount_due", "common.is"]
    assert "bill.last_payment" in says(turns[2])
    assert says(turns[2])[-1] == "bill.options"


def test_a_complaint_number_is_said_twice_digit_by_digit() -> None:
    _, turns = walk(["", "3", "1"])
    digits = [i.digits for i in turns[-1].items if isinstance(i, Digits)]
    assert digits == ["10000017", "10000017"]


def test_complaint_categories_map_to_the_cis_categories() -> None:
    for key, category in (("1", "no_supply"), ("5", "dangerous_line"), ("6", "theft")):
        _, out = step(FLOWS, walk(["", "3"])[0], Input(key))
        assert isinstance(out, Query)
        assert out.name == "complaint"
        assert out.args["category"] == category


def test_the_request_id_of_a_complaint_is_new_for_each_registration() -> None:
    state, _ = walk(["", "3", "1", "8", "3"])
    _, first = step(FLOWS, walk(["", "3"])[0], Input("1"))
    _, second = step(FLOWS, state, Input("2"))
    assert isinstance(first, Query)
    assert isinstance(second, Query)
    assert first.args["request_id"] != second.args["request_id"]


def test_no_input_three_times_then_the_agent() -> None:
    _, turns = walk(["", "", "", "", ""])
    assert [says(t)[0] for t in turns[2:5]] == ["common.no_input"] * 3
    assert isinstance(turns[5].action, Transfer)
    assert says(turns[5]) == ["common.no_input", "common.too_many_tries", "common.transfer"]


def test_a_good_choice_resets_the_tries() -> None:
    state, turns = walk(["", "7", "7", "1", "8", "7", "7"])
    assert not turns[-1].final
    assert state["tries"] == 2


def test_star_repeats_without_counting_a_try() -> None:
    state, turns = walk(["", "1", "*", "*", "*", "*"])
    assert all(t.items == turns[2].items for t in turns[3:])
    assert state["tries"] == 0


def test_resume_does_not_change_the_given_state() -> None:
    state, _ = walk([""])
    before = repr(state)
    step(FLOWS, state, Input("1"))
    assert repr(state) == before


def test_state_is_json() -> None:
    import json

    state, _ = walk(["", "1", "1", "8", "3", "1"])
    assert json.loads(json.dumps(state)) == state


# --- the optional terminator ("#") of an entry ---------------------------------------------------------------

STRANGER = {"identify": {"accounts": []}, "outage": {"outage": None}}


def test_a_hash_after_a_full_account_number_is_no_choice_on_the_main_menu() -> None:
    state, turns = walk(["", "7100000001", "#"], STRANGER)
    assert says(turns[2]) == ["menu.main", "welcome.other_language"]
    # The "#" interrupted the main menu: it is said again, with no apology and no failed try.
    assert turns[3] == turns[2]
    assert state["tries"] == 0
    assert "bill.amount_due" in says(walk(["", "7100000001", "#", "1"], STRANGER)[1][-1])


def test_a_hash_and_a_choice_typed_together_after_the_account_number_make_the_choice() -> None:
    _, turns = walk(["", "7100000001", "#1"], STRANGER)
    assert "bill.amount_due" in says(turns[-1])


def test_a_stray_hash_is_swallowed_once_only() -> None:
    _, turns = walk(["", "7100000001", "#", "#"], STRANGER)
    assert says(turns[-1])[0] == "common.invalid"


def test_after_an_account_number_not_found_the_hash_repeats_the_request() -> None:
    unknown = STRANGER | {"check_account": {"error": "unknown"}}
    # A transport whose entry ends at "#" hands the lone "#" over as an empty entry.
    state, turns = walk(["", "7100000001", ""], unknown)
    assert says(turns[2]) == ["account.not_found", "account.enter"]
    assert turns[3] == turns[2]
    assert state["tries"] == 1


def test_an_entry_typed_with_its_terminator_is_the_entry() -> None:
    # Screens (USSD) and typed-ahead keys hand the "#" over with the digits.
    _, turns = walk(["", "7100000001#"], STRANGER)
    assert says(turns[-1]) == ["menu.main", "welcome.other_language"]
    state, _ = walk(["", "4"])
    _, out = step(FLOWS, state, Input("10000017#"))
    assert isinstance(out, Query)
    assert out.args == {"number": "10000017"}
    state, _ = walk(["", "5"])
    _, out = step(FLOWS, state, Input("12345#"))
    assert isinstance(out, Query)
    assert out.args["kwh"] == 12345


def test_a_lone_terminator_at_an_entry_is_no_entry() -> None:
    _, turns = walk(["", "4", "#"])
    assert says(turns[-1]) == ["common.no_input", "status.enter"]


# --- after a complaint: when it will be resolved; a pause after each read-out number -------------------------


def test_after_a_complaint_the_caller_hears_when_it_is_due_to_be_resolved() -> None:
    _, turns = walk(["", "3", "1"])
    done = turns[-1]
    assert done.items == (
        Say("complaint.registered"),
        Digits("10000017"),
        Say("common.pause"),
        Say("complaint.again"),
        Digits("10000017"),
        Say("common.pause"),
        Say("complaint.sms_sent"),
        Say("complaint.due_by"),
        Date(dt.date(2026, 11, 20)),
        Clock(18, 30),
        Say("common.is"),
        Say("common.next"),
    )
    state, english_turns = walk(["", "9", "3", "1"])
    assert state["lang"] == "en"
    english = english_turns[-1]
    assert [k for k in says(english) if k.startswith("complaint.")][-1] == "complaint.due_by"
    assert says(english)[-2:] == ["complaint.due_by", "common.next"]


def test_a_complaint_linked_to_an_outage_is_told_the_restoration_not_the_sla() -> None:
    _, turns = walk(["", "3", "1"], {"complaint": ANSWERS["complaint"][1]})
    keys = says(turns[-1])
    assert "complaint.outage_linked" in keys
    assert "outage.restore_by" in keys
    assert "complaint.due_by" not in keys


def test_a_read_out_number_is_followed_by_a_pause_before_the_next_words() -> None:
    _, turns = walk(["", "4", "10000017"])
    items = turns[-1].items
    at = items.index(Digits("10000017"))
    assert items[at + 1] == Say("common.pause")
    assert catalog()["common.pause"].pause_ms == 800
