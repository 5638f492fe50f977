"""Input at the edge: one set of pure checks every entry point (web form, JSON API, webhook, CLI) uses.

Whatever a channel hands over is text, or a JSON document; these functions turn it into values the use cases
and the database can take, or raise InvalidInput with a sentence a person can act on. They promise:

- text: no NUL (PostgreSQL refuses it), no unpaired surrogate (it cannot be encoded as UTF-8), no other
  control character (a newline and a tab only where a field may have several lines), and no more than the
  field's length; `cleaned` drops such characters instead, for provider data that must be answered anyway;
- numbers: plain decimal digits of bounded length, in a stated range (no `1e999999`, no 5,000-digit number);
- dates and times: ISO 8601, in a window of years a discom's records can hold (no year 1);
- record ids: 1 to 2**63 - 1, what a BIGINT holds;
- JSON: at most `MAX_JSON_DEPTH` levels of nesting (checked before parsing, so a 50,000-deep body is not a
  RecursionError), every string storable;
- an `Idempotency-Key`: printable ASCII of at most 128 characters, scoped to the client that sent it.

No framework and no I/O here (an import-linter contract says so).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from decimal import Decimal
from typing import Any

from cis.errors import CisError

MAX_ID = 2**63 - 1  # the largest BIGINT: a larger id names no row
MAX_ID_DIGITS = len(str(MAX_ID))
MAX_NUMBER_DIGITS = 30  # digits a number typed at the edge may have, before its range is checked
MAX_JSON_DEPTH = 32
MAX_IDEMPOTENCY_KEY = 128
EARLIEST = dt.date(2000, 1, 1)  # the window of dates the records can hold
LATEST = dt.date(2099, 12, 31)

NOT_JSON = "The body is not valid JSON."

_SURROGATE = re.compile("[\ud800-\udfff]")
# Control characters (C0, DEL, C1) other than newline and tab; Unicode's line and paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]*\.?[0-9]*")
_KEY = re.compile(r"[\x21-\x7e]+")


class InvalidInput(CisError):
    """A value given at the edge that cannot be used; the message names the field and what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def unstorable(value: str) -> bool:
    """True when `value` holds a NUL or an unpaired surrogate: text no database column can take."""
    return _UNSTORABLE.search(value) is not None


def text(
    value: object,
    *,
    field: str,
    max_length: int,
    label: str | None = None,
    multiline: bool = False,
    required: bool = False,
) -> str | None:
    """`value` stripped of surrounding space, or None when empty (InvalidInput when `required`).

    Refuses what is not text, text with NUL, unpaired surrogates or control characters (newlines and tabs
    are allowed when `multiline`), and text longer than `max_length` characters.
    """
    name = label or field.replace("_", " ")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(field, f"The {name} must be text.")
    if _SURROGATE.search(value) or (_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(value):
        raise InvalidInput(field, f"The {name} contains characters that are not allowed.")
    stripped = value.strip()
    if not stripped:
        if required:
            raise InvalidInput(field, f"Please give the {name}.")
        return None
    if len(stripped) > max_length:
        raise InvalidInput(field, f"The {name} can be at most {max_length:,} characters long.")
    return stripped


def cleaned(value: object, *, max_length: int, multiline: bool = False) -> str:
    """`value` as storable text: control characters and unpaired surrogates dropped, NFC, cut to `max_length`.

    For what a provider sends and must be answered anyway (an SMS body, a caller id), where refusing would
    leave a consumer without a reply.
    """
    if not isinstance(value, str):
        return ""
    kept = _SURROGATE.sub("", value)
    kept = (_CONTROL if multiline else _CONTROL_SINGLE_LINE).sub("" if multiline else " ", kept)
    return unicodedata.normalize("NFC", kept).strip()[:max_length]


def whole_number(
    raw: object,
    *,
    field: str,
    minimum: int,
    maximum: int,
    label: str | None = None,
    required: bool = False,
) -> int | None:
    """The integer in `raw` (digits, an optional sign, thousands commas), in minimum..maximum; None when empty.

    A number out of range gets a message saying the range ("The units must be 0 or more."), not that it is
    not a number.
    """
    name = label or field.replace("_", " ")
    given = _number_text(raw, field, name, required)
    if given is None:
        return None
    sign, digits = _sign(given)
    if not _DIGITS.fullmatch(digits):
        raise InvalidInput(field, f"The {name} must be a whole number.")
    limit = max(len(str(abs(minimum))), len(str(abs(maximum))))
    # More digits than any bound has is out of range, whatever they are: never parsed, however long.
    value = int(sign + digits) if len(digits.lstrip("0")) <= limit else None
    if (value is None and sign == "-") or (value is not None and value < minimum):
        raise InvalidInput(field, _below(name, minimum))
    if value is None or value > maximum:
        raise InvalidInput(field, f"The {name} can be at most {maximum:,}.")
    return value


def decimal_number(
    raw: object,
    *,
    field: str,
    minimum: Decimal,
    maximum: Decimal,
    places: int,
    label: str | None = None,
    unit: str = "",
    exclusive_minimum: bool = False,
    required: bool = False,
) -> Decimal | None:
    """The decimal number in `raw` (plain digits and a point: no exponent, no NaN), in minimum..maximum (above
    `minimum` when `exclusive_minimum`), with at most `places` digits after the point; None when empty."""
    name = label or field.replace("_", " ")
    given = _number_text(raw, field, name, required)
    if given is None:
        return None
    suffix = f" {unit}" if unit else ""
    sign, digits = _sign(given)
    if not digits or digits == "." or not _DECIMAL.fullmatch(digits):
        raise InvalidInput(field, f"The {name} must be a number{f' of {unit}' if unit else ''}, e.g. 2 or 1.5.")
    whole, _, fraction = digits.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > places:
        raise InvalidInput(field, f"The {name} can have at most {places} digits after the point.")
    if len(whole.lstrip("0")) > MAX_NUMBER_DIGITS:
        whole = "9" * (MAX_NUMBER_DIGITS + 1)  # out of range either way; not worth parsing whole
    value = Decimal(sign + (whole or "0") + ("." + fraction if fraction else ""))
    if value < minimum or (exclusive_minimum and value == minimum):
        relation = "more than" if exclusive_minimum else "at least"
        raise InvalidInput(field, f"The {name} must be {relation} {minimum}{suffix}.")
    if value > maximum:
        raise InvalidInput(field, f"The {name} can be at most {maximum:,}{suffix}.")
    return value


def date(
    raw: object,
    *,
    field: str,
    label: str | None = None,
    earliest: dt.date = EARLIEST,
    latest: dt.date = LATEST,
    required: bool = False,
) -> dt.date | None:
    """The date in `raw` (YYYY-MM-DD), between `earliest` and `latest`; None when empty."""
    name = label or field.replace("_", " ")
    given = text(raw, field=field, max_length=40, label=name, required=required)
    if given is None:
        return None
    try:
        value = dt.date.fromisoformat(given)
    except ValueError as exc:
        raise InvalidInput(field, f"The {name} must be a date, e.g. 2026-11-20.") from exc
    if not earliest <= value <= latest:
        raise InvalidInput(field, f"The {name} must be between {earliest:%d %b %Y} and {latest:%d %b %Y}.")
    return value


def local_datetime(
    raw: object,
    zone: dt.tzinfo,
    *,
    field: str,
    label: str | None = None,
    earliest: dt.date = EARLIEST,
    latest: dt.date = LATEST,
    zone_label: str = "",
    required: bool = False,
) -> dt.datetime | None:
    """The moment in `raw` (ISO 8601, e.g. a datetime-local input's '2026-11-20T15:30'; without an offset it
    is wall-clock time in `zone`) as an aware UTC datetime, on a day between `earliest` and `latest`."""
    name = label or field.replace("_", " ")
    given = text(raw, field=field, max_length=40, label=name, required=required)
    if given is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(given)
    except ValueError as exc:
        example = f"2026-11-20 15:30 ({zone_label})" if zone_label else "2026-11-20 15:30"
        raise InvalidInput(field, f"The {name} must be a date and time, e.g. {example}.") from exc
    # Checked before any conversion: year 1 or 9999 would overflow when moved between time zones.
    if not earliest <= moment.date() <= latest:
        raise InvalidInput(field, f"The {name} must be between {earliest:%d %b %Y} and {latest:%d %b %Y}.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def record_id(raw: object) -> int | None:
    """The row id in `raw` (1 to MAX_ID, plain digits), or None: an id no row can have is simply not found."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 1 <= raw <= MAX_ID else None
    if not isinstance(raw, str):
        return None
    digits = raw.strip()
    if not digits or len(digits) > MAX_ID_DIGITS or not _DIGITS.fullmatch(digits):
        return None
    value = int(digits)
    return value if 1 <= value <= MAX_ID else None


def idempotency_key(raw: object, *, client: str) -> str | None:
    """The request id to store for an `Idempotency-Key` header sent by `client` (its address or credential).

    The key is scoped to the client: the same key from another client is another request, so nobody can
    replay or probe someone else's submission. What is stored is a digest (69 characters), whatever the key's
    length. None without a key; InvalidInput for a key that is not 1-128 printable ASCII characters.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_IDEMPOTENCY_KEY or not _KEY.fullmatch(raw):
        raise InvalidInput(
            "Idempotency-Key",
            f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters.",
        )
    digest = hashlib.sha256(f"{client}\n{raw}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"idem:{digest}"


def json_document(body: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, clean: bool = False) -> Any:
    """The JSON document in `body`; InvalidInput when it is not JSON (UTF-8) or nests deeper than `max_depth`.

    A string (key or value) holding a NUL or an unpaired surrogate is refused, or with `clean` has them
    dropped (for a provider's webhook, whose message must be answered anyway).
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    depth = 0
    for token in _JSON_TOKEN.finditer(raw):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise InvalidInput("body", f"The JSON body nests deeper than {max_depth} levels.")
        elif char in (b"]", b"}"):
            depth -= 1
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("body", NOT_JSON) from exc
    if clean:
        return _cleaned_document(document)
    if _holds_unstorable(document):
        raise InvalidInput("body", "The JSON body contains characters that are not allowed (NUL or a lone surrogate).")
    return document


def _holds_unstorable(document: Any) -> bool:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return True
        elif isinstance(item, dict):
            for key, value in item.items():
                if unstorable(key):
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _cleaned_document(item: Any) -> Any:
    if isinstance(item, str):
        return _UNSTORABLE.sub("", item)
    if isinstance(item, dict):
        return {_UNSTORABLE.sub("", k): _cleaned_document(v) for k, v in item.items()}
    if isinstance(item, list):
        return [_cleaned_document(v) for v in item]
    return item


def _number_text(raw: object, field: str, name: str, required: bool) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    # Length is the range check's job (a 5,000-digit number is "at most ..."), never parsed whole.
    given = text(raw, field=field, max_length=100_000, label=name, required=required)
    if given is None:
        return None
    return given.replace(",", "").replace(" ", "")


def _sign(given: str) -> tuple[str, str]:
    if given[:1] in ("-", "+", "\u2212"):
        return ("-" if given[0] != "+" else ""), given[1:]
    return "", given


def _below(name: str, minimum: int) -> str:
    if minimum == 0:
        return f"The {name} cannot be negative."
    return f"The {name} must be at least {minimum:,}."
