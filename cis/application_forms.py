"""The application forms' fields as data (cis/data/application_forms.toml), read and checked once.

One definition serves both media: the portal's online forms and the blank PDFs of cis/forms_pdf.py. Each
field says its name, type, bilingual label and help, whether it is required, and whether it appears online,
on paper, or both. Pure: no framework, no database.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMS_FILE = Path(__file__).with_name("data") / "application_forms.toml"
FIELD_TYPES = ("text", "textarea", "digits", "decimal", "date", "month", "choice", "file", "declaration", "signature")
CHOICE_SOURCES = ("categories", "sub_divisions")
DOCUMENT_LABELS = ("id_proof", "ownership_proof", "evidence")
REQUEST_KINDS = ("new_connection", "perm_disconnection", "load_change", "name_change", "bill_revision")


class FormDataError(ValueError):
    """The forms file is not as cis/data/application_forms.toml's header describes."""


@dataclass(frozen=True)
class Text:
    """A text in both languages."""

    en: str
    hi: str


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class Field:
    name: str
    section: str
    type: str
    label: Text
    help: Text | None = None
    required: bool = False
    max_length: int | None = None
    boxes: int | None = None  # digits: one box a digit
    lines: int = 1  # textarea: ruled lines on paper
    unit: str | None = None  # decimal: kW
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None  # categories | sub_divisions: filled in where the form is drawn
    document: str | None = None  # file: the upload's label
    online: bool = True
    paper: bool = True


@dataclass(frozen=True)
class Section:
    key: str
    title: Text


@dataclass(frozen=True)
class Form:
    key: str
    kind: str  # the service request it files
    title: Text
    intro: Text
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]

    def on_paper(self, section: str) -> list[Field]:
        return [f for f in self.fields if f.section == section and f.paper]

    def online_fields(self) -> list[Field]:
        return [f for f in self.fields if f.online]


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, dict) or set(raw) != {"en", "hi"}:
        raise FormDataError(f"{where} must be {{ en = ..., hi = ... }}")
    en, hi = raw["en"], raw["hi"]
    if not (isinstance(en, str) and en.strip() and isinstance(hi, str) and hi.strip()):
        raise FormDataError(f"{where} needs both its English and its Hindi")
    if not any("\u0900" <= c <= "\u097f" for c in hi):
        raise FormDataError(f"{where}: the Hindi is not in Devanagari")
    return Text(en.strip(), hi.strip())


_FIELD_KEYS = {
    "name",
    "section",
    "type",
    "label",
    "help",
    "required",
    "max_length",
    "boxes",
    "lines",
    "unit",
    "choices",
    "choices_from",
    "document",
    "online",
    "paper",
}


def _field(raw: Any, where: str, sections: set[str]) -> Field:
    if not isinstance(raw, dict):
        raise FormDataError(f"{where} must be a table")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise FormDataError(f"{where} has unknown keys {sorted(unknown)}")
    name, type_, section = raw.get("name"), raw.get("type"), raw.get("section")
    if not isinstance(name, str) or not name.isidentifier():
        raise FormDataError(f"{where}: name must be an identifier")
    where = f"{where} ({name})"
    if type_ not in FIELD_TYPES:
        raise FormDataError(f"{where}: type must be one of {FIELD_TYPES}")
    if section not in sections:
        raise FormDataError(f"{where}: section {section!r} is not among the form's sections")
    choices = tuple(
        Choice(str(c.get("value")), _text({"en": c.get("en"), "hi": c.get("hi")}, f"{where} choice"))
        for c in raw.get("choices", [])
    )
    choices_from = raw.get("choices_from")
    if type_ == "choice" and not choices and choices_from not in CHOICE_SOURCES:
        raise FormDataError(f"{where}: a choice needs choices or choices_from ({CHOICE_SOURCES})")
    if type_ == "digits" and not (isinstance(raw.get("boxes"), int) and 1 <= raw["boxes"] <= 16):
        raise FormDataError(f"{where}: digits need boxes, 1 to 16")
    if type_ == "file" and raw.get("document") not in DOCUMENT_LABELS:
        raise FormDataError(f"{where}: a file needs document, one of {DOCUMENT_LABELS}")
    online, paper = bool(raw.get("online", True)), bool(raw.get("paper", True))
    if not (online or paper):
        raise FormDataError(f"{where} is neither online nor on paper")
    if type_ == "signature" and online:
        raise FormDataError(f"{where}: a signature is for paper only (online = false)")
    return Field(
        name=name,
        section=section,
        type=type_,
        label=_text(raw.get("label"), f"{where} label"),
        help=_text(raw["help"], f"{where} help") if "help" in raw else None,
        required=bool(raw.get("required", False)),
        max_length=raw.get("max_length"),
        boxes=raw.get("boxes"),
        lines=int(raw.get("lines", 1)),
        unit=raw.get("unit"),
        choices=choices,
        choices_from=choices_from,
        document=raw.get("document"),
        online=online,
        paper=paper,
    )


def parse_forms(data: dict[str, Any]) -> dict[str, Form]:
    """Check the file's content and return its forms by key; FormDataError names what is wrong and where."""
    titles = {key: _text(value, f"sections.{key}") for key, value in (data.get("sections") or {}).items()}
    forms: dict[str, Form] = {}
    for key, raw in (data.get("forms") or {}).items():
        where = f"forms.{key}"
        if raw.get("kind") not in REQUEST_KINDS:
            raise FormDataError(f"{where}: kind must be one of {REQUEST_KINDS}")
        order = raw.get("sections") or []
        missing = [s for s in order if s not in titles]
        if missing:
            raise FormDataError(f"{where}: sections {missing} have no title in [sections]")
        fields = tuple(_field(f, f"{where}.fields[{i}]", set(order)) for i, f in enumerate(raw.get("fields") or []))
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise FormDataError(f"{where}: a field name appears twice")
        if not fields:
            raise FormDataError(f"{where} has no fields")
        forms[key] = Form(
            key=key,
            kind=raw["kind"],
            title=_text(raw.get("title"), f"{where}.title"),
            intro=_text(raw.get("intro"), f"{where}.intro"),
            sections=tuple(Section(s, titles[s]) for s in order),
            fields=fields,
        )
    if not forms:
        raise FormDataError("the file defines no forms")
    return forms


@functools.cache
def load_forms(path: Path = FORMS_FILE) -> dict[str, Form]:
    """The packaged forms, read once per process."""
    with path.open("rb") as handle:
        return parse_forms(tomllib.load(handle))


@functools.cache
def forms_updated(path: Path = FORMS_FILE) -> dt.date | None:
    """When the forms file says the forms last changed (its top-level `updated`), if it says."""
    with path.open("rb") as handle:
        found = tomllib.load(handle).get("updated")
    return found if isinstance(found, dt.date) else None


def form(key: str) -> Form:
    """One form by key (new_connection, load_change, name_change, perm_disconnection, bill_revision)."""
    forms = load_forms()
    if key not in forms:
        raise KeyError(f"no form {key!r}; there are {sorted(forms)}")
    return forms[key]
