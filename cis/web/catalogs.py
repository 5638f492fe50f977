"""Which page strings the Hindi catalogs lack: every `_()` / `gettext` / `N_` message of the web templates and
views, checked against the msgstr values of cis/web/translations/<area>/hi.po.

    python -m cis.web.catalogs            lists the messages no catalog translates, as .po entries to fill in
    python -m cis.web.catalogs --check    the same, and exits 1 when there is any (for CI)

tests/integration/test_site_shell.py runs the same check, so a page string without Hindi fails the build.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from cis.web.i18n import catalog_files

ROOT = Path(__file__).resolve().parents[2]  # the repository (or the site-packages folder holding the packages)
# Where page strings live, relative to ROOT: Jinja templates, and the Python files that call _() / N_().
TEMPLATE_GLOBS = ("cis/web/templates/**/*.html", "outage/templates/**/*.html", "urjamitra/templates/**/*.html")
PYTHON_GLOBS = ("cis/web/**/*.py", "outage/*.py", "urjamitra/*.py")
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}


@dataclass(frozen=True)
class Message:
    msgid: str
    where: str  # path:line of one place it is used


def _files(globs: tuple[str, ...], root: Path) -> Iterator[Path]:
    for pattern in globs:
        yield from sorted(p for p in root.glob(pattern) if ".venv" not in p.parts)


def page_messages(root: Path = ROOT) -> dict[str, Message]:
    """Every message the pages translate, by msgid (the first place each is used)."""
    found: dict[str, Message] = {}

    def add(path: Path, lineno: int, message: str | tuple[str, ...]) -> None:
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid and msgid not in found:
            found[msgid] = Message(msgid, f"{path.relative_to(root)}:{lineno}")

    for path in _files(TEMPLATE_GLOBS, root):
        for lineno, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=DEFAULT_KEYWORDS, options=JINJA_OPTIONS
        ):
            add(path, lineno, message)
    for path in _files(PYTHON_GLOBS, root):
        if path.name == "catalogs.py":
            continue
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=DEFAULT_KEYWORDS):
            add(path, lineno, message)
    return found


def translated(files: list[Path] | None = None) -> set[str]:
    """The msgids some area's hi.po gives a non-empty, non-fuzzy Hindi text."""
    done: set[str] = set()
    for path in files if files is not None else catalog_files():
        with path.open("rb") as handle:
            for message in read_po(handle, locale="hi"):
                if message.id and message.string and not message.fuzzy:
                    done.add(message.id if isinstance(message.id, str) else message.id[0])
    return done


def missing(root: Path = ROOT) -> list[Message]:
    """The page messages no catalog translates, in the order they were found."""
    done = translated()
    return [m for m in page_messages(root).values() if m.msgid not in done]


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    lacking = missing()
    for message in lacking:
        print(f'#: {message.where}\nmsgid {_po_string(message.msgid)}\nmsgstr ""\n')
    if "--check" in args and lacking:
        print(f"{len(lacking)} page strings have no Hindi text", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
