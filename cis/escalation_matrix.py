"""The 1912 escalation matrix as data (cis/data/escalation.toml): how long each level holds a complaint of a
category in an urban or rural area, and how long a resolution waits for the consumer's word. Pure: no I/O past
reading the file once."""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cis.errors import CisError

MATRIX_FILE = Path(__file__).with_name("data") / "escalation.toml"
LEVELS = ("je", "sdo", "ee", "se")
TOP = len(LEVELS) - 1


class MalformedMatrix(CisError):
    """The escalation matrix file is not as the code expects (a discom's edit went wrong)."""


@dataclass(frozen=True)
class CategoryLimits:
    code: str
    title: str
    source: str
    urban: tuple[int, ...]  # hours at each level, JE first
    rural: tuple[int, ...]

    def hours(self, level: int, *, rural: bool) -> int:
        return (self.rural if rural else self.urban)[min(max(level, 0), TOP)]


@dataclass(frozen=True)
class Matrix:
    categories: dict[str, CategoryLimits]
    closure_wait: dt.timedelta

    def hours(self, category: str, level: int, *, rural: bool) -> int:
        """The hours `level` holds a complaint of `category`; a category the file does not name gets a day."""
        limits = self.categories.get(category)
        return 24 if limits is None else limits.hours(level, rural=rural)


def _hours(code: str, table: dict[str, object], area: str) -> tuple[int, ...]:
    raw = table.get(area)
    if not isinstance(raw, list) or len(raw) != len(LEVELS):
        raise MalformedMatrix(f"{code}.{area}: give {len(LEVELS)} hours, one for each of {', '.join(LEVELS)}")
    if not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 24 * 90 for h in raw):
        raise MalformedMatrix(f"{code}.{area}: each level's hours are a whole number from 1 to 2160")
    return tuple(raw)


def parse_matrix(text: str) -> Matrix:
    """The matrix in `text` (TOML); MalformedMatrix says what is wrong with it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MalformedMatrix(f"not TOML: {exc}") from exc
    wait = data.get("closure_wait_hours")
    if not isinstance(wait, int) or isinstance(wait, bool) or not 1 <= wait <= 24 * 30:
        raise MalformedMatrix("closure_wait_hours: a whole number of hours from 1 to 720")
    tables = data.get("categories")
    if not isinstance(tables, dict) or not tables:
        raise MalformedMatrix("no [categories.<code>] tables")
    categories = {}
    for code, table in tables.items():
        if not isinstance(table, dict) or not isinstance(table.get("title"), str):
            raise MalformedMatrix(f"{code}: a table with a title, a source and urban and rural hours")
        categories[code] = CategoryLimits(
            code=code,
            title=table["title"],
            source=str(table.get("source") or "the discom's own"),
            urban=_hours(code, table, "urban"),
            rural=_hours(code, table, "rural"),
        )
    return Matrix(categories=categories, closure_wait=dt.timedelta(hours=wait))


@functools.cache
def matrix(path: Path = MATRIX_FILE) -> Matrix:
    """The matrix in force (read once a process)."""
    return parse_matrix(path.read_text(encoding="utf-8"))
