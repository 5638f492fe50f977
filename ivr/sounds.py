"""The prompts as Asterisk will find them: which catalog prompts have no sound file, and how long each one plays.

Asterisk plays `STREAM FILE urjamitra/hi/menu/main` from `<sounds dir>/urjamitra/hi/menu/main.<format>`, picking
whichever format it can translate (a `.wav` of 8 kHz 16-bit mono, `.sln`, `.ulaw`, `.alaw`, `.gsm`, ...). A sound
missing there is heard as silence and answered `200 result=-1`: the FastAGI server checks the directory at start.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.agi import AgiConfig
from ivr.turns import Lang

# The file formats Asterisk's stock format modules play, by file extension; bytes per second of the raw ones.
ASTERISK_FORMATS: tuple[str, ...] = ("wav", "WAV", "wav16", "sln", "sln16", "ulaw", "ul", "alaw", "al", "gsm", "g722")
_RAW_BYTES_PER_SECOND = {"sln": 16000, "sln16": 32000, "ulaw": 8000, "ul": 8000, "alaw": 8000, "al": 8000, "gsm": 1650}


@dataclass
class SoundsReport:
    """What a sounds directory holds of the prompts: the sounds missing, and each present sound's length."""

    directory: Path
    root_exists: bool = True
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # as STREAM FILE names them: urjamitra/hi/menu/main
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing

    def summary(self, shown: int = 20) -> str:
        if self.ok:
            return f"all {self.checked} prompt sounds found under {self.directory}"
        if not self.root_exists:
            return f"no prompt sounds at all: {self.directory} holds no folder for them ({len(self.missing)} missing)"
        more = len(self.missing) - shown
        listed = ", ".join(self.missing[:shown]) + (f" and {more} more" if more > 0 else "")
        return (
            f"{len(self.missing)} of {self.checked} prompt sounds are missing under {self.directory} "
            f"(Asterisk formats: {', '.join(ASTERISK_FORMATS)}): {listed}"
        )


def check_sounds(
    sounds_dir: Path | str, config: AgiConfig, keys: Iterable[str], langs: Iterable[Lang] = ("hi", "en")
) -> SoundsReport:
    """Which of the prompts `keys` (in every language of `langs`) have no file Asterisk can play under
    `sounds_dir` (the prefix of `config` is under it, unless it is an absolute path). Lists each folder once."""
    directory = Path(sounds_dir)
    report = SoundsReport(directory)
    found: dict[str, Path] = {}
    prefix = config.sounds_prefix.rstrip("/")
    root = Path(prefix) if prefix.startswith("/") else directory / prefix
    report.root_exists = root.is_dir()
    for folder, _, files in os.walk(root):
        for name in files:
            stem, dot, ext = name.rpartition(".")
            if dot and ext in ASTERISK_FORMATS:
                relative = Path(folder, stem).relative_to(root).as_posix()
                found.setdefault(f"{prefix}/{relative}" if prefix else relative, Path(folder, name))
    for key in dict.fromkeys(keys):
        for lang in langs:
            sound = config.sound(lang, key)
            report.checked += 1
            path = found.get(sound)
            if path is None:
                report.missing.append(sound)
            else:
                length = _seconds(path)
                if length is not None:
                    report.seconds[sound] = length
    return report


def _seconds(path: Path) -> float | None:
    ext = path.suffix.lstrip(".")
    try:
        if ext.lower() in ("wav", "wav16"):
            with wave.open(str(path)) as w:
                return w.getnframes() / w.getframerate()
        rate = _RAW_BYTES_PER_SECOND.get(ext)
        return path.stat().st_size / rate if rate else None
    except (OSError, EOFError, wave.Error):
        return None
