"""The sounds directory as Asterisk sees it: a prompt counts when any format Asterisk plays is there, and its length
bounds how long the FastAGI server waits for the STREAM FILE reply."""

from __future__ import annotations

import wave
from pathlib import Path

from ivr.agi import AgiConfig
from ivr.sounds import check_sounds


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))


def test_any_asterisk_format_counts_and_each_sounds_length_is_read(tmp_path: Path) -> None:
    write_wav(tmp_path / "urjamitra/hi/menu/main.wav", 6.5)
    (tmp_path / "urjamitra/en/menu").mkdir(parents=True)
    (tmp_path / "urjamitra/en/menu/main.ulaw").write_bytes(b"\xff" * 4000)  # half a second of mu-law
    (tmp_path / "urjamitra/hi/common").mkdir(parents=True)
    (tmp_path / "urjamitra/hi/common/goodbye.mp3").write_bytes(b"ID3")  # Twilio's, not Asterisk's
    report = check_sounds(tmp_path, AgiConfig(), ["menu.main", "common.goodbye"])
    assert report.checked == 4
    assert report.missing == ["urjamitra/hi/common/goodbye", "urjamitra/en/common/goodbye"]
    assert report.seconds == {"urjamitra/hi/menu/main": 6.5, "urjamitra/en/menu/main": 0.5}
    assert "2 of 4 prompt sounds are missing" in report.summary()
    timeouts = AgiConfig(prompt_seconds=report.seconds, reply_margin_s=10)
    assert timeouts.reply_timeout('STREAM FILE urjamitra/hi/menu/main "0123456789*#"') == 16.5


def test_an_absolute_prefix_is_looked_up_where_it_points(tmp_path: Path) -> None:
    write_wav(tmp_path / "ivr-sounds/hi/menu/main.wav", 1.0)
    config = AgiConfig(sounds_prefix=str(tmp_path / "ivr-sounds"))
    report = check_sounds("/var/lib/asterisk/sounds", config, ["menu.main"])
    assert report.missing == [f"{tmp_path}/ivr-sounds/en/menu/main"]


def test_no_folder_at_all_is_said_plainly(tmp_path: Path) -> None:
    report = check_sounds(tmp_path, AgiConfig(), ["menu.main"])
    assert not report.ok
    assert report.summary().startswith(f"no prompt sounds at all: {tmp_path} holds no folder for them")
