"""Loggers that write outside values safely: consumers' numbers masked, control characters escaped, long values cut.

Every module of the project takes its logger from `get_logger(__name__)`; the CLI's `configure_logging` also
puts the same filter on its handlers, so records of other libraries (Werkzeug's request lines, say) are
written the same way. A value (a logging argument) shows at most `MAX_VALUE` characters, the message and an
exception's own text at most `MAX_TEXT`; a line break or another control character in either shows as
`\\n`, `\\r`, `\\x1b`..., so no value can start a log line of its own.
"""

from __future__ import annotations

import logging
import numbers
import re
import traceback
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

MAX_VALUE = 200
MAX_TEXT = 2000

# A mobile (+91 98765 43210, 919876543210, 09876543210) or a 10-digit account number, not part of a
# longer number or of an Asterisk uniqueid such as 1767000000.1.
_NUMBER = re.compile(r"(?<![\d.])(?:\+?91|0)?\d{10}(?![\d.])")
_LONGEST_NUMBER = 13
# C0 and C1 controls, DEL, Unicode line and paragraph separators, bidirectional overrides and isolates (which
# can make a line read differently from what it holds), and lone surrogates (which a UTF-8 log cannot write).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def mask_numbers(text: str) -> str:
    """Every mobile and account number in `text` with all but its last four digits hidden."""
    return _NUMBER.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """`text` on one line: line breaks and other control characters written as `\\n`, `\\x1b`, `\\u2028`..."""
    return _UNSAFE.sub(_escaped, text)


def clean(text: str, limit: int = MAX_VALUE) -> str:
    """`text` as a log shows it: numbers masked, control characters escaped, cut after `limit` characters
    (saying how long it was)."""
    # Masking looks a little past the cut, so that a number the cut splits is still recognised and hidden.
    shown = mask_numbers(text[: limit + _LONGEST_NUMBER])[:limit]
    shown = escape_controls(shown)
    if len(text) > limit:
        shown += f"...[{len(text)} chars]"
    return shown


class _Shown:
    """A logging argument that formats (with %s or %r) as its cleaned text."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return clean(str(self.value))

    def __repr__(self) -> str:
        return clean(repr(self.value))


def _shown(value: object) -> object:
    if value is None or isinstance(value, numbers.Number):  # %d and %.1f still work; no number holds a line break
        return value
    return _Shown(value)


def _exceptions(te: traceback.TracebackException) -> Iterator[traceback.TracebackException]:
    seen: set[int] = set()
    todo = [te]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", None) or ())


def format_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None],
) -> str:
    """A traceback as a log shows it: the frames as Python prints them (they are the code's), each exception's
    own text (which may carry outside values) cleaned to one line, numbers masked everywhere."""
    text = logging.Formatter().formatException(exc_info)
    kind, exc, tb = exc_info
    if kind is not None and exc is not None:
        for te in _exceptions(traceback.TracebackException(kind, exc, tb, compact=True)):
            own = "".join(te.format_exception_only()).rstrip("\n")
            if "\n" in own or len(own) > MAX_TEXT or _UNSAFE.search(own):
                text = text.replace(own, clean(own, MAX_TEXT))
    return "\n".join(escape_controls(line) for line in mask_numbers(text).split("\n"))


class SafeLogValues(logging.Filter):
    """Cleans a record's message, its arguments and its traceback (formatted here, before any handler sees it).

    A record is cleaned once, however many filters of this kind it passes (a logger's and a handler's).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "urja_cleaned", False):
            return True
        setattr(record, "urja_cleaned", True)  # noqa: B010  # LogRecord declares no such attribute
        message = str(record.msg)
        # A message is the code's format string; cutting one that has arguments could break its placeholders.
        record.msg = clean(message, MAX_TEXT) if not record.args else escape_controls(mask_numbers(message))
        if isinstance(record.args, Mapping):
            record.args = {key: _shown(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_shown(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = format_exception(record.exc_info)
        return True


# The filter under its old name: the IVR's loggers masked numbers before they escaped and cut anything.
MaskNumbers = SafeLogValues

_FILTER = SafeLogValues()
PACKAGES = ("cis", "outage", "ivr", "sms", "prompts", "urjamitra")


def get_logger(name: str) -> logging.Logger:
    """The logger for module `name`, writing outside values safely (see the module's docstring)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def configure_logging(level: int = logging.INFO, fmt: str = logging.BASIC_FORMAT, **basic: Any) -> None:
    """`logging.basicConfig`, with every handler of the root logger writing records safely, whoever logs them."""
    logging.basicConfig(level=level, format=fmt, **basic)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
