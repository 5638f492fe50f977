"""The prompt catalog: every sentence the system speaks or shows, by dotted key, in Hindi and English.

The texts live in TOML files beside this module (`catalog/*.toml`), one file per subject. A leaf is a
table with a `hi` and an `en` string; its dotted path is the key (`bill.amount_due`) and the audio
stem mirrors it (`bill/amount_due`). A key defined twice, or a leaf missing a language, is an error.
A leaf with `pause_ms` is a silence of that length (its audio is built as silence, Twilio gets `<Pause>`):
it parts a number read digit by digit from the words after it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

Lang = Literal["hi", "en"]
LANGS: tuple[Lang, ...] = ("hi", "en")
CATALOG_DIR = Path(__file__).with_name("catalog")


class CatalogError(ValueError):
    """The catalog files are malformed, or a key is missing."""


class UnknownPrompt(CatalogError, KeyError):
    """No prompt has this key (a KeyError too, so `in` and `.get` work as for any mapping)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown prompt"


@dataclass(frozen=True)
class Prompt:
    key: str
    hi: str
    en: str
    # Shorter texts for screens (USSD), where a spoken sentence would not fit; default: the spoken text.
    screen_hi: str | None = None
    screen_en: str | None = None
    # A silence of this many milliseconds rather than speech; its texts are what a transcript shows.
    pause_ms: int | None = None

    @property
    def stem(self) -> str:
        """The audio file's path without language folder or extension: `bill.amount_due` > `bill/amount_due`."""
        return self.key.replace(".", "/")

    def text(self, lang: Lang) -> str:
        return self.hi if lang == "hi" else self.en

    def screen_text(self, lang: Lang) -> str:
        screen = self.screen_hi if lang == "hi" else self.screen_en
        return screen if screen is not None else self.text(lang)


class Catalog(Mapping[str, Prompt]):
    """Prompts by key, and by audio stem."""

    def __init__(self, prompts: Mapping[str, Prompt]) -> None:
        self._prompts = dict(prompts)
        self._by_stem = {p.stem: p for p in self._prompts.values()}

    def __getitem__(self, key: str) -> Prompt:
        try:
            return self._prompts[key]
        except KeyError:
            raise UnknownPrompt(f"no prompt {key!r} in the catalog") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._prompts)

    def __len__(self) -> int:
        return len(self._prompts)

    def text(self, key: str, lang: Lang) -> str:
        return self[key].text(lang)

    def by_stem(self, stem: str) -> Prompt | None:
        return self._by_stem.get(stem)


def _flatten(table: Mapping[str, Any], prefix: str, source: str, out: dict[str, Prompt]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if not isinstance(value, Mapping):
            raise CatalogError(f"{source}: {key} is not a table")
        if "hi" in value or "en" in value:
            hi, en = value.get("hi"), value.get("en")
            if not isinstance(hi, str) or not isinstance(en, str) or not hi.strip() or not en.strip():
                raise CatalogError(f"{source}: {key} needs non-empty `hi` and `en` texts")
            extra = set(value) - {"hi", "en", "screen_hi", "screen_en", "pause_ms"}
            if extra:
                raise CatalogError(f"{source}: {key} has unknown fields {sorted(extra)}")
            screens = {name: value.get(name) for name in ("screen_hi", "screen_en")}
            # An empty screen text leaves a spoken glue word ("है।", "is") off screens.
            if any(v is not None and not isinstance(v, str) for v in screens.values()):
                raise CatalogError(f"{source}: {key} has a screen text that is not text")
            pause = value.get("pause_ms")
            if pause is not None and (isinstance(pause, bool) or not isinstance(pause, int) or not 0 < pause <= 5000):
                raise CatalogError(f"{source}: {key} has a pause_ms that is not 1 to 5000 milliseconds")
            if key in out:
                raise CatalogError(f"{source}: {key} is defined twice")
            out[key] = Prompt(key, hi.strip(), en.strip(), screens["screen_hi"], screens["screen_en"], pause)
        else:
            _flatten(value, key, source, out)


def read_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    """Read every `*.toml` in `directory` into one catalog."""
    prompts: dict[str, Prompt] = {}
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogError(f"no catalog files in {directory}")
    for path in files:
        with path.open("rb") as f:
            try:
                data = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                raise CatalogError(f"{path.name}: {e}") from None
        _flatten(data, "", path.name, prompts)
    return Catalog(prompts)


@cache
def catalog() -> Catalog:
    """The packaged catalog, read once."""
    return read_catalog()
