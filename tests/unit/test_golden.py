"""One table of Turns rendered three ways (AGI commands, TwiML, USSD screen), pinned by golden files.

A renderer change shows up here as a diff a reviewer can read. After a deliberate change, rewrite the
files with `URJA_UPDATE_GOLDEN=1 bin/test tests/unit/test_golden.py` and review `git diff tests/golden`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from ivr.agi import agi_commands
from ivr.turns import Amount, Clock, Date, Digits, Gather, Hangup, Number, Say, Transfer, Turn
from ivr.twiml import render_twiml
from ivr.ussd import render_ussd
from prompts.catalog import catalog

GOLDEN = Path(__file__).parent.parent / "golden"
UPDATE = os.environ.get("URJA_UPDATE_GOLDEN") == "1"

TURNS: dict[str, Turn] = {
    "main_menu_hi": Turn("hi", (Say("menu.main"), Say("welcome.other_language")), Gather(1, 6000)),
    "bill_hi": Turn(
        "hi",
        (
            Say("bill.amount_due"),
            Amount(123_456_789),
            Say("common.is"),
            Say("bill.due_date"),
            Date(dt.date(2026, 12, 5)),
            Say("common.is"),
            Say("bill.units"),
            Number(245),
            Say("common.units"),
            Say("common.is"),
            Say("bill.options"),
        ),
        Gather(1, 6000),
    ),
    "account_entry_en": Turn("en", (Say("account.malformed"), Say("account.enter")), Gather(10, 10000, "#")),
    "complaint_number_hi": Turn(
        "hi",
        (
            Say("complaint.registered"),
            Digits("10000017"),
            Say("common.pause"),
            Say("complaint.again"),
            Digits("10000017"),
            Say("common.pause"),
        ),
        Gather(1, 6000),
    ),
    "outage_en": Turn(
        "en",
        (Say("outage.breakdown"), Say("outage.since"), Date(dt.date(2026, 11, 20)), Clock(14, 30), Say("menu.main")),
        Gather(1, 6000),
    ),
    "transfer_hi": Turn("hi", (Say("common.too_many_tries"), Say("common.transfer")), Transfer("1912")),
    "goodbye_en": Turn("en", (Say("common.goodbye"),), Hangup()),
}

# Audio exists for the menu prompts in this table (played), not for the rest (spoken by <Say>).
WITH_AUDIO = {"menu/main", "welcome/other_language", "bill/amount_due", "common/goodbye"}


def audio_url(lang: str, stem: str) -> str | None:
    return f"https://ivr.example.test/prompts/{lang}/{stem}.mp3" if stem in WITH_AUDIO else None


RENDERERS = {
    "agi": lambda turn: "\n".join(agi_commands(turn, "urjamitra")) + "\n",
    "twiml.xml": lambda turn: (
        render_twiml(
            turn,
            action_url="https://ivr.example.test/voice/gather",
            audio_url=audio_url,
            catalog=catalog(),
            agent_dial="+915122000000",
        )
        + "\n"
    ),
    "ussd": lambda turn: render_ussd(turn, catalog()) + "\n",
}


@pytest.mark.parametrize("kind", sorted(RENDERERS))
@pytest.mark.parametrize("name", sorted(TURNS))
def test_rendering_matches_its_golden_file(name: str, kind: str) -> None:
    rendered = RENDERERS[kind](TURNS[name])
    path = GOLDEN / f"{name}.{kind}"
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with URJA_UPDATE_GOLDEN=1 and review the diff"
    assert rendered == path.read_text(encoding="utf-8")
