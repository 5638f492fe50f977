"""Outage alert calls in words: an outbox row's template and payload > what the consumer hears, in Hindi."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ivr.alerts import TEMPLATES, NotAVoiceAlert, alert_items, call_params
from ivr.engine import Answer, Input, Query, Start, step
from ivr.menus import FLOWS
from ivr.outbound import decode_params, encode_params
from ivr.speech import spoken_keys, spoken_text
from ivr.turns import Clock, Date, Gather, Hangup, Item, Lang, Say, Turn
from prompts.catalog import catalog

# 09:00 UTC is 14:30 in India; the fan-out writes aware UTC ISO strings.
PAYLOADS: dict[str, dict[str, Any]] = {
    "outage.breakdown": {
        "area": "Civil Lines 11kV",
        "since": "2026-11-20T09:00:00+00:00",
        "etr": "2026-11-20T12:30:00+00:00",
        "event": 7,
        "revision": 1,
    },
    "outage.shutdown": {
        "area": "Civil Lines 11kV",
        "date": "2026-11-22",
        "start": "10:00",
        "end": "14:00",
        "starts_at": "2026-11-22T04:30:00+00:00",
        "ends_at": "2026-11-22T08:30:00+00:00",
    },
    "outage.shutdown_started": {"area": "Civil Lines 11kV", "end": "14:00", "ends_at": "2026-11-22T08:30:00+00:00"},
    "outage.etr": {"area": "Civil Lines 11kV", "etr": "2026-11-20T14:00:00+00:00"},
    "outage.restored": {"area": "Civil Lines 11kV", "time": "2026-11-20T13:10:00+00:00"},
    "outage.cancelled": {"area": "Civil Lines 11kV", "date": "2026-11-22", "starts_at": "2026-11-22T04:30:00+00:00"},
    "outage.withdrawn": {"area": "Civil Lines 11kV"},
    "outage.breakdown_no_etr": {"area": "Civil Lines 11kV", "since": "2026-11-20T09:00:00+00:00"},
}


def said(template: str, payload: dict[str, Any] | None = None, lang: Lang = "hi") -> str:
    items = alert_items(template, PAYLOADS[template] if payload is None else payload, lang=lang)
    return spoken_text(items, lang, catalog())


def keys(items: list[Item]) -> list[str]:
    return [i.key for i in items if isinstance(i, Say)]


def test_every_outage_template_the_fan_out_calls_about_has_a_voice_form() -> None:
    assert set(TEMPLATES) == set(PAYLOADS)


@pytest.mark.parametrize("template", sorted(PAYLOADS))
@pytest.mark.parametrize("lang", ["hi", "en"])
def test_every_word_of_every_alert_has_hindi_and_english_text(template: str, lang: Lang) -> None:
    items = alert_items(template, PAYLOADS[template], lang=lang)
    spoken = [key for item in items for key in spoken_keys(item, lang)]
    assert all(catalog()[key].hi.strip() and catalog()[key].en.strip() for key in spoken)
    assert keys(items)[0].startswith("alert.outage.")


def test_a_breakdown_is_told_in_hindi_with_its_start_and_restoration_in_india_time() -> None:
    assert said("outage.breakdown") == (
        "आपके क्षेत्र में खराबी के कारण बिजली आपूर्ति बाधित है। "
        "बीस नवंबर दो हज़ार छब्बीस दोपहर दो बजकर तीस मिनट से आपूर्ति बंद है। "
        "बीस नवंबर दो हज़ार छब्बीस शाम छह बजे तक आपूर्ति बहाल होने की संभावना है। "
        "असुविधा के लिए खेद है।"
    )


def test_the_feeder_name_is_not_spoken_your_area_is() -> None:
    text = said("outage.breakdown")
    assert "Civil Lines" not in text
    assert "आपके क्षेत्र" in text


def test_a_breakdown_without_a_restoration_time_says_it_is_not_known_yet() -> None:
    payload = {**PAYLOADS["outage.breakdown"], "etr": None}
    items = alert_items("outage.breakdown", payload)
    assert keys(items) == ["alert.outage.breakdown", "outage.since", "outage.restore_unknown", "alert.outage.regret"]


def test_english_puts_the_words_before_the_times() -> None:
    items = alert_items("outage.breakdown", PAYLOADS["outage.breakdown"], lang="en")
    assert items[:4] == [
        Say("alert.outage.breakdown"),
        Say("outage.since"),
        Date(dt.date(2026, 11, 20)),
        Clock(14, 30),
    ]


def test_a_shutdown_says_its_day_and_its_hours() -> None:
    assert said("outage.shutdown") == (
        "रखरखाव कार्य के लिए आपके क्षेत्र की बिजली आपूर्ति बाईस नवंबर दो हज़ार छब्बीस को "
        "सुबह दस बजे से दोपहर दो बजे तक बंद रहेगी। "
        "कृपया अपनी आवश्यकता के अनुसार तैयारी कर लें। असुविधा के लिए खेद है।"
    )


def test_a_shutdown_running_into_the_next_day_says_the_day_it_ends() -> None:
    payload = {**PAYLOADS["outage.shutdown"], "ends_at": "2026-11-23T06:30:00+00:00"}
    items = alert_items("outage.shutdown", payload)
    assert [i for i in items if isinstance(i, Date)] == [Date(dt.date(2026, 11, 22)), Date(dt.date(2026, 11, 23))]
    assert Clock(12, 0) in items


def test_a_time_after_midnight_is_the_night_of_the_day_before() -> None:
    payload = {"etr": "2026-11-20T19:15:00+00:00"}  # 00:45 on the 21st in India
    items = alert_items("outage.etr", payload)
    assert items[1:3] == [Date(dt.date(2026, 11, 20)), Clock(0, 45)]
    assert "बीस नवंबर दो हज़ार छब्बीस रात बारह बजकर पैंतालीस मिनट" in said("outage.etr", payload)


def test_a_time_without_a_zone_is_taken_as_india_time() -> None:
    items = alert_items("outage.restored", {"time": "2026-11-20T18:40:00"})
    assert items[1:3] == [Date(dt.date(2026, 11, 20)), Clock(18, 40)]


def test_the_other_alerts_in_hindi() -> None:
    assert said("outage.shutdown_started") == (
        "आपके क्षेत्र में रखरखाव के लिए निर्धारित बिजली कटौती शुरू हो गई है। "
        "बाईस नवंबर दो हज़ार छब्बीस दोपहर दो बजे तक आपूर्ति बहाल होने की संभावना है।"
    )
    assert said("outage.etr") == (
        "अद्यतन सूचना: आपके क्षेत्र की बिजली आपूर्ति अब बीस नवंबर दो हज़ार छब्बीस शाम सात बजकर तीस मिनट "
        "तक बहाल होने की संभावना है। हमारी टीम कार्य कर रही है।"
    )
    assert said("outage.restored") == (
        "आपके क्षेत्र की बिजली आपूर्ति बीस नवंबर दो हज़ार छब्बीस शाम छह बजकर चालीस मिनट "
        "पर बहाल कर दी गई है। यदि आपके यहाँ अब भी बिजली नहीं है, तो कृपया 1912 पर कॉल करें।"
    )
    assert said("outage.cancelled") == (
        "आपके क्षेत्र में बाईस नवंबर दो हज़ार छब्बीस को सुबह दस बजे से "
        "निर्धारित बिजली कटौती रद्द कर दी गई है। आपूर्ति सामान्य रूप से जारी रहेगी।"
    )
    assert said("outage.withdrawn").startswith("आपके क्षेत्र के लिए पहले भेजी गई बिजली कटौती की सूचना वापस")


def test_a_cancellation_with_only_a_date_says_the_date() -> None:
    assert said("outage.cancelled", {"date": "2026-11-22"}) == (
        "आपके क्षेत्र में बाईस नवंबर दो हज़ार छब्बीस को निर्धारित बिजली कटौती रद्द कर दी गई है। आपूर्ति सामान्य रूप से जारी रहेगी।"
    )


@pytest.mark.parametrize(
    ("template", "payload"),
    [
        ("outage.check", {"area": "Civil Lines"}),  # SMS only
        ("outage.roster", {"area": "Civil Lines"}),
        ("outage.breakdown", {"since": "14:30"}),  # a display string, not a time that can be spoken
        ("outage.etr", {}),
        ("outage.cancelled", {"start": "10:00"}),
    ],
)
def test_what_cannot_be_spoken_is_refused(template: str, payload: dict[str, Any]) -> None:
    with pytest.raises(NotAVoiceAlert):
        alert_items(template, payload)
    with pytest.raises(NotAVoiceAlert):
        call_params(template, payload)


def test_a_call_carries_only_the_times_it_speaks() -> None:
    params = call_params("outage.shutdown", PAYLOADS["outage.shutdown"])
    assert params == {
        "template": "outage.shutdown",
        "payload": {
            "starts_at": "2026-11-22T04:30:00+00:00",
            "ends_at": "2026-11-22T08:30:00+00:00",
            "date": "2026-11-22",
        },
    }
    assert decode_params(encode_params(params)) == params


# --- the alert flow ---------------------------------------------------------------------------------------


def alert_call(params: dict[str, Any]) -> Turn:
    _, turn = step(FLOWS, None, Start("asterisk", "o1", "+919876543210", params={"flow": "alert", **params}))
    assert isinstance(turn, Turn)
    return turn


def test_the_alert_flow_speaks_an_outbox_alert_between_greeting_and_repeat_offer() -> None:
    params = call_params("outage.breakdown", PAYLOADS["outage.breakdown"])
    turn = alert_call(params)
    expected = alert_items("outage.breakdown", PAYLOADS["outage.breakdown"])
    assert list(turn.items) == [Say("alert.generic"), *expected, Say("alert.repeat")]
    assert turn.action == Gather(max_digits=1, timeout_ms=5000)


def test_pressing_1_repeats_the_alert_then_the_call_says_goodbye() -> None:
    params = {"flow": "alert", **call_params("outage.restored", PAYLOADS["outage.restored"])}
    state, first = step(FLOWS, None, Start("asterisk", "o1", "+919876543210", params=params))
    assert isinstance(first, Turn)
    state, again = step(FLOWS, state, Input("1"))
    assert isinstance(again, Turn)
    assert again.items == first.items
    _, last = step(FLOWS, state, Input(""))
    assert isinstance(last, Turn)
    assert (list(last.items), last.action) == ([Say("common.goodbye")], Hangup())


def test_items_given_as_they_are_still_play_for_urjamitra_call() -> None:
    turn = alert_call({"items": [{"say": "outage.breakdown"}]})
    assert list(turn.items) == [Say("alert.generic"), Say("outage.breakdown"), Say("alert.repeat")]


# --- a no-supply complaint linked to an outage ------------------------------------------------------------

OUTAGE = {"kind": "breakdown", "since": "2026-11-20T14:30:00", "restore_by": "2026-11-20T18:00:00"}


def complaint_turn(answer: dict[str, Any], lang: Lang = "hi") -> Turn:
    """Register a no-supply complaint from the main menu and return what the caller hears next."""
    state, out = step(FLOWS, None, Start("asterisk", "c1", "+919876543210", lang=lang))
    answers = {"identify": {"accounts": ["7100000001"]}, "outage": {"outage": None}, "complaint": answer}
    for keys_pressed in ["", "3", "1"]:  # past the welcome, complaint, no supply
        while isinstance(out, Query):
            state, out = step(FLOWS, state, Answer(answers[out.name]))
        state, out = step(FLOWS, state, Input(keys_pressed))
    while isinstance(out, Query):
        state, out = step(FLOWS, state, Answer(answers[out.name]))
    assert isinstance(out, Turn)
    return out


def test_a_complaint_on_a_feeder_under_an_outage_is_told_the_outage_and_its_restoration() -> None:
    turn = complaint_turn({"number": "10000017", "created": True, "outage": OUTAGE})
    assert keys(list(turn.items)) == [
        "complaint.registered",
        "common.pause",
        "complaint.again",
        "common.pause",
        "complaint.sms_sent",
        "complaint.outage_linked",
        "outage.breakdown",
        "outage.since",
        "outage.restore_by",
        "common.next",
    ]
    text = spoken_text(turn.items, "hi", catalog())
    assert "दोपहर दो बजकर तीस मिनट से आपूर्ति बंद है।" in text
    assert "शाम छह बजे तक आपूर्ति बहाल होने की संभावना है।" in text


def test_a_complaint_without_an_outage_is_read_back_with_when_it_is_due() -> None:
    turn = complaint_turn({"number": "10000017", "created": True, "due": "2026-11-21T10:00:00", "outage": None})
    assert keys(list(turn.items)) == [
        "complaint.registered",
        "common.pause",
        "complaint.again",
        "common.pause",
        "complaint.sms_sent",
        "complaint.due_by",
        "common.is",
        "common.next",
    ]
    text = spoken_text(turn.items, "hi", catalog())
    assert "आपकी शिकायत के समाधान की निर्धारित समय सीमा इक्कीस नवंबर दो हज़ार छब्बीस सुबह दस बजे है।" in text


def test_a_breakdown_without_an_etr_says_the_time_is_not_known_yet() -> None:
    assert "outage.restore_unknown" in keys(alert_items("outage.breakdown_no_etr", PAYLOADS["outage.breakdown_no_etr"]))
