"""Every prompt a caller can hear is rendered to audio Asterisk can play and Twilio can fetch.

Asterisk answers a missing sound file with `200 result=-1` and drops the call, so a prompt without
audio must be caught here, not by a caller.
"""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from ivr.speech import spoken_keys
from prompts.build import AudioLibrary, build
from prompts.catalog import catalog
from tests.menu_explorer import every_turn


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prompts")
    report = build(catalog(), out, engine="espeak", jobs=2)
    assert report.ok, report.failures
    return out


def test_every_prompt_the_menus_use_has_asterisk_and_twilio_audio(audio: Path) -> None:
    used = {key for turn in every_turn().turns for item in turn.items for key in spoken_keys(item, turn.lang)}
    used.add("common.sorry_error")  # the apology after a failure
    missing = AudioLibrary(audio).missing(sorted(used), catalog(), exts=("wav", "mp3"))
    assert missing == []


def test_the_asterisk_files_are_8khz_mono_16_bit(audio: Path) -> None:
    for lang in ("hi", "en"):
        with wave.open(str(audio / lang / "menu" / "main.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() / 8000 > 5  # the whole main menu, not a stub
