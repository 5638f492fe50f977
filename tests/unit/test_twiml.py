"""TwiML for one Turn: recorded prompts played, the rest spoken, then the turn's action (golden documents)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.turns import Amount, Digits, Gather, Hangup, Say, Transfer, Turn
from ivr.twiml import apology_twiml, no_audio, render_twiml, timeout_url
from prompts.catalog import Catalog, CatalogError, Prompt

ACTION = "https://ivr.example.test/voice/gather"
DECL = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture
def cat() -> Catalog:
    texts = {
        "menu.main": ("मुख्य मेनू", "Main menu"),
        "bill.amount_due": ("बकाया राशि", "The amount due is"),
        "common.goodbye": ("धन्यवाद", "Thank you"),
        "common.transfer": ("जोड़ा जा रहा है", "Connecting you"),
        "common.call_1912": ("कृपया 1912 पर कॉल करें", "Please call 1912"),
        "common.sorry_error": ("क्षमा करें", "Sorry"),
        "account.enter": ("खाता संख्या डालें", "Enter your account number"),
        "num.1": ("एक", "one"),
        "num.2": ("दो", "two"),
        "num.5": ("पाँच", "five"),
        "num.thousand": ("हज़ार", "thousand"),
        "money.rupees": ("रुपये", "rupees"),
    }
    return Catalog({key: Prompt(key, hi, en) for key, (hi, en) in texts.items()})


def recorded(*stems: str):
    """An audio_url that knows only the listed stems, as `<lang>/<stem>`."""

    def audio_url(lang: str, stem: str) -> str | None:
        if f"{lang}/{stem}" in stems:
            return f"https://ivr.example.test/prompts/{lang}/{stem}.mp3"
        return None

    return audio_url


def render(turn: Turn, cat: Catalog, audio_url=no_audio, agent_dial: str | None = "+915122000000") -> str:
    return render_twiml(turn, action_url=ACTION, audio_url=audio_url, catalog=cat, agent_dial=agent_dial)


def test_menu_with_audio_plays_it_inside_a_one_key_gather_then_redirects_on_timeout(cat: Catalog) -> None:
    turn = Turn("hi", (Say("menu.main"),), Gather(max_digits=1, timeout_ms=6000))
    assert render(turn, cat, recorded("hi/menu/main")) == (
        DECL + "<Response>"
        '<Gather action="https://ivr.example.test/voice/gather" finishOnKey="" input="dtmf" method="POST"'
        ' numDigits="1" timeout="6">'
        "<Play>https://ivr.example.test/prompts/hi/menu/main.mp3</Play>"
        "</Gather>"
        '<Redirect method="POST">https://ivr.example.test/voice/gather?timeout=1</Redirect>'
        "</Response>"
    )


def test_prompts_without_audio_are_merged_into_one_say_between_plays(cat: Catalog) -> None:
    # 2,005 rupees: num.2 num.thousand num.5 money.rupees; only "thousand" is recorded.
    turn = Turn("hi", (Say("bill.amount_due"), Amount(200_500)), Hangup())
    assert render(turn, cat, recorded("hi/num/thousand")) == (
        DECL + "<Response>"
        '<Say language="hi-IN" voice="Polly.Aditi">बकाया राशि दो</Say>'
        "<Play>https://ivr.example.test/prompts/hi/num/thousand.mp3</Play>"
        '<Say language="hi-IN" voice="Polly.Aditi">पाँच रुपये</Say>'
        "<Hangup />"
        "</Response>"
    )


def test_english_turn_speaks_indian_english(cat: Catalog) -> None:
    turn = Turn("en", (Say("common.goodbye"),), Hangup())
    assert render(turn, cat) == (
        DECL + '<Response><Say language="en-IN" voice="Polly.Aditi">Thank you</Say><Hangup /></Response>'
    )


def test_voice_can_be_left_to_twilio(cat: Catalog) -> None:
    turn = Turn("en", (Say("common.goodbye"),), Hangup())
    body = render_twiml(turn, action_url=ACTION, audio_url=no_audio, catalog=cat, agent_dial=None, voices=None)
    assert body == DECL + '<Response><Say language="en-IN">Thank you</Say><Hangup /></Response>'


def test_entry_with_terminator_ends_on_the_key_or_after_max_digits(cat: Catalog) -> None:
    turn = Turn("hi", (Say("account.enter"),), Gather(max_digits=10, timeout_ms=8500, terminator="#"))
    assert render(turn, cat) == (
        DECL + "<Response>"
        '<Gather action="https://ivr.example.test/voice/gather" finishOnKey="#" input="dtmf" method="POST"'
        ' numDigits="10" timeout="9">'
        '<Say language="hi-IN" voice="Polly.Aditi">खाता संख्या डालें</Say>'
        "</Gather>"
        '<Redirect method="POST">https://ivr.example.test/voice/gather?timeout=1</Redirect>'
        "</Response>"
    )


def test_timeout_mark_is_added_to_an_existing_query() -> None:
    assert timeout_url("https://x.test/voice/gather?lang=hi") == "https://x.test/voice/gather?lang=hi&timeout=1"
    assert timeout_url("/voice/gather") == "/voice/gather?timeout=1"


def test_gather_without_speech_still_waits_and_redirects(cat: Catalog) -> None:
    root = ET.fromstring(render(Turn("en", (), Gather(max_digits=1, timeout_ms=100)), cat))
    assert [child.tag for child in root] == ["Gather", "Redirect"]
    assert root[0].get("timeout") == "1"
    assert list(root[0]) == []


def test_transfer_speaks_then_dials_the_agents(cat: Catalog) -> None:
    turn = Turn("hi", (Say("common.transfer"),), Transfer())
    assert render(turn, cat) == (
        DECL + "<Response>"
        '<Say language="hi-IN" voice="Polly.Aditi">जोड़ा जा रहा है</Say>'
        "<Dial>+915122000000</Dial>"
        "</Response>"
    )


def test_transfer_to_a_sip_address_uses_the_sip_noun(cat: Catalog) -> None:
    turn = Turn("en", (), Transfer())
    assert render(turn, cat, agent_dial="sip:agents@pbx.example.test") == (
        DECL + "<Response><Dial><Sip>sip:agents@pbx.example.test</Sip></Dial></Response>"
    )


def test_transfer_without_an_agent_number_hangs_up_after_speaking(cat: Catalog) -> None:
    turn = Turn("en", (Say("common.transfer"),), Transfer())
    root = ET.fromstring(render(turn, cat, agent_dial=None))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root[0].text == "Please call 1912"


def test_digits_are_read_one_by_one(cat: Catalog) -> None:
    turn = Turn("en", (Digits("125"),), Hangup())
    root = ET.fromstring(render(turn, cat))
    assert root[0].text == "one two five"


def test_same_turn_renders_the_same_document(cat: Catalog) -> None:
    turn = Turn("hi", (Say("bill.amount_due"), Amount(200_500)), Gather())
    assert render(turn, cat, recorded("hi/num/2")) == render(turn, cat, recorded("hi/num/2"))


def test_unknown_prompt_raises_so_the_webhook_can_apologise(cat: Catalog) -> None:
    with pytest.raises(CatalogError):
        render(Turn("hi", (Say("no.such.key"),), Hangup()), cat)


def test_apology_says_sorry_then_dials_the_agents(cat: Catalog) -> None:
    body = apology_twiml("hi", audio_url=no_audio, catalog=cat, agent_dial="+915122000000")
    assert body == (
        DECL + '<Response><Say language="hi-IN" voice="Polly.Aditi">क्षमा करें</Say><Dial>+915122000000</Dial></Response>'
    )


def test_apology_without_its_prompt_still_reaches_the_agents() -> None:
    body = apology_twiml("hi", audio_url=no_audio, catalog=Catalog({}), agent_dial="+915122000000")
    assert body == DECL + "<Response><Dial>+915122000000</Dial></Response>"


def test_without_an_agent_line_a_transfer_asks_the_caller_to_call_1912() -> None:
    from ivr.turns import Say, Transfer, Turn
    from ivr.twiml import render_twiml
    from prompts.catalog import catalog

    turn = Turn("hi", (Say("common.too_many_tries"), Say("common.transfer")), Transfer("1912"))
    xml = render_twiml(turn, action_url="", audio_url=lambda lang, stem: None, catalog=catalog(), agent_dial=None)
    assert catalog().text("common.transfer", "hi") not in xml
    assert "कृपया 1912 पर कॉल करें" in xml
    assert xml.endswith("<Hangup /></Response>")
