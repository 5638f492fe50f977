"""Render a Turn as TwiML for Twilio voice: recorded prompts as `<Play>`, the rest as `<Say>`, then the turn's action.

Pure: no I/O and no Flask. The caller supplies where the audio is (`audio_url`) and where Twilio should post the
keys (`action_url`), so the same Turn always renders to the same document (the golden tests pin it).

Timeouts. When the caller presses nothing, `<Gather>` does not call its action (Twilio's `actionOnEmptyResult`
defaults to false, and we leave it so): Twilio falls through to the next verb. That verb is a `<Redirect>` to the
same action URL with `timeout=1` in its query, which the webhook turns into `digits=''` for the dialog. The same
happens when the caller presses only the terminator. One mechanism for every case, and one that other
TwiML-speaking providers implement too.

Keys. `finishOnKey` is always written: Twilio's default is `#`, which would swallow a `#` meant as a menu choice,
so a Gather without a terminator says `finishOnKey=""`. A Gather with a terminator keeps `numDigits` too, so it
ends at the terminator or after `max_digits` keys, whichever comes first (the AGI renderer's GET DATA does the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from twilio.twiml.voice_response import Dial, Gather, Hangup, Pause, Play, Redirect, Say, VoiceResponse

from ivr import speech
from ivr.turns import Gather as GatherAction
from ivr.turns import Hangup as HangupAction
from ivr.turns import Lang, Transfer, Turn
from ivr.turns import Say as SayItem
from prompts.catalog import Catalog

AudioUrl = Callable[[str, str], str | None]
"""`audio_url(lang, stem)`: the public URL of the prompt's MP3, or None when it has no audio (then `<Say>` it)."""

LANGUAGES: Mapping[str, str] = {"hi": "hi-IN", "en": "en-IN"}

# Twilio's default voice ("man") speaks neither hi-IN nor en-IN, and an unsupported voice/language pair fails
# the <Say>. Amazon Polly's Aditi is bilingual (Indian English and Hindi).
VOICES: Mapping[str, str] = {"hi": "Polly.Aditi", "en": "Polly.Aditi"}

APOLOGY_KEY = "common.sorry_error"
TRANSFER_KEY = "common.transfer"
CALL_AGENTS_KEY = "common.call_1912"
TIMEOUT_MARK = "timeout=1"


def no_audio(lang: str, stem: str) -> str | None:
    """An `audio_url` for when no audio is built: every prompt is spoken with `<Say>`."""
    return None


def render_twiml(
    turn: Turn,
    *,
    action_url: str,
    audio_url: AudioUrl,
    catalog: Catalog,
    agent_dial: str | None,
    voices: Mapping[str, str] | None = VOICES,
    answered_url: str | None = None,
) -> str:
    """The TwiML document (with its XML declaration) that says `turn`'s items and then performs its action.

    Gather: the speech nested in `<Gather input="dtmf">` (so callers can type ahead), then a `<Redirect>` to
    `action_url` marked `timeout=1`. Hangup: the speech, then `<Hangup/>`. Transfer: the speech, then `<Dial>`
    to `agent_dial` (a number, or a `sip:` URI). With no agent number configured the caller cannot be put
    through: "we are connecting you" gives way to "please call 1912", then `<Hangup/>`.
    """
    if isinstance(turn.action, Transfer) and not agent_dial:
        kept = tuple(i for i in turn.items if i != SayItem(TRANSFER_KEY))
        turn = Turn(turn.lang, (*kept, SayItem(CALL_AGENTS_KEY)), turn.action)
    response = VoiceResponse()
    verbs = _speech(turn, audio_url, catalog, voices)
    action = turn.action
    if isinstance(action, GatherAction):
        gather = Gather(
            input="dtmf",
            num_digits=action.max_digits,
            finish_on_key=action.terminator or "",
            timeout=max(1, math.ceil(action.timeout_ms / 1000)),
            action=action_url,
            method="POST",
        )
        for verb in verbs:
            gather.append(verb)
        response.append(gather)
        response.append(Redirect(timeout_url(action_url), method="POST"))
        return str(response)
    for verb in verbs:
        response.append(verb)
    if isinstance(action, Transfer) and agent_dial:
        response.append(_dial(agent_dial, answered_url))
    elif isinstance(action, HangupAction | Transfer):
        response.append(Hangup())
    else:
        raise TypeError(f"not a turn action: {action!r}")
    return str(response)


def apology_twiml(
    lang: Lang,
    *,
    audio_url: AudioUrl,
    catalog: Catalog,
    agent_dial: str | None,
    voices: Mapping[str, str] | None = VOICES,
) -> str:
    """What a call hears when handling it failed: the apology, then the agents. Never raises.

    If even the apology cannot be rendered (its key missing from the catalog), the caller is put straight
    through to the agents (or, with none configured, the call ends) rather than hearing dead air.
    """
    turn = Turn(lang, (SayItem(APOLOGY_KEY),), Transfer())
    try:
        return render_twiml(
            turn, action_url="", audio_url=audio_url, catalog=catalog, agent_dial=agent_dial, voices=voices
        )
    except Exception:
        response = VoiceResponse()
        response.append(_dial(agent_dial) if agent_dial else Hangup())
        return str(response)


def empty_twiml() -> str:
    """An empty document: the answer to status callbacks, which Twilio does not play."""
    return str(VoiceResponse())


def timeout_url(action_url: str) -> str:
    """`action_url` with the no-input mark added to its query."""
    return f"{action_url}{'&' if '?' in action_url else '?'}{TIMEOUT_MARK}"


def _speech(
    turn: Turn, audio_url: AudioUrl, catalog: Catalog, voices: Mapping[str, str] | None
) -> list[Play | Say | Pause]:
    """One `<Play>` per prompt with audio; each run of prompts without audio merged into one `<Say>`; a pause
    (a prompt with `pause_ms`) as `<Pause>` of whole seconds, at least one, as Twilio takes it."""
    verbs: list[Play | Say | Pause] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            voice = voices.get(turn.lang) if voices else None
            verbs.append(Say(" ".join(pending), language=LANGUAGES[turn.lang], voice=voice))
            pending.clear()

    for key in _keys(turn):
        prompt = catalog[key]
        if prompt.pause_ms is not None:
            flush()
            verbs.append(Pause(length=max(1, round(prompt.pause_ms / 1000))))
            continue
        url = audio_url(turn.lang, prompt.stem)
        if url:
            flush()
            verbs.append(Play(url))
        else:
            pending.append(prompt.text(turn.lang))
    flush()
    return verbs


def _keys(turn: Turn) -> Sequence[str]:
    return [key for item in turn.items for key in speech.spoken_keys(item, turn.lang)]


def _dial(agent_dial: str, answered_url: str | None = None) -> Dial:
    """`<Dial>` to the agents. With `answered_url`, the dialled noun reports "answered" there (signed, with `To`
    naming the agent who picked up): the screen-pop's cue on Twilio."""
    if answered_url is None:
        if agent_dial.startswith(("sip:", "sips:")):
            dial = Dial()
            dial.sip(agent_dial)
            return dial
        return Dial(agent_dial)
    callback = {"status_callback_event": "answered", "status_callback": answered_url, "status_callback_method": "POST"}
    dial = Dial()
    if agent_dial.startswith(("sip:", "sips:")):
        dial.sip(agent_dial, **callback)
    elif agent_dial.startswith("client:"):
        dial.client(agent_dial.removeprefix("client:"), **callback)
    else:
        dial.number(agent_dial, **callback)
    return dial
