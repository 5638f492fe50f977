"""DLT-registered SMS templates: loading them, rendering one safely, and counting its segments."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Encoding = "GSM-7"
UCS2: Encoding = "UCS-2"

CATEGORIES = frozenset({"transactional", "service_implicit", "service_explicit", "promotional"})
MAX_VARIABLE_LENGTH = 30  # DLT scrubbing drops a message whose {#var#} holds more than 30 characters
# The principal entity id is registered once per deployment; settings pass the real one to render().
DEVELOPMENT_ENTITY_ID = "1101000000000000001"

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# 3GPP TS 23.038 default alphabet (without ESC, which only introduces the extension table).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these costs ESC plus one septet.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7_ALL = _GSM7_BASIC | _GSM7_EXTENSION

_FIELDS = {
    "text",
    "dlt_template_id",
    "category",
    "sender",
    "validity_minutes",
    "urgent",
    "reference_variables",
    "opt_out_exempt",
}
_REQUIRED = ("text", "dlt_template_id", "category", "sender")
_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_VARIABLE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_DLT_ID = re.compile(r"[0-9]{19}")
_LETTER_HEADER = re.compile(r"[A-Z]{6}")
_NUMERIC_HEADER = re.compile(r"[0-9]{6}")  # promotional headers are numeric under DLT
# A reference (account, complaint, receipt, OTP) is a plain code: no dots or slashes, so no URL.
_REFERENCE = re.compile(r"[A-Za-z0-9-]+")

# What scrubbing treats as a link: a scheme, "www.", a bare domain on a common TLD, or an IP address.
_TLDS = (
    "com|in|org|net|co|io|ly|me|gov|nic|info|biz|app|link|site|online|xyz|to|gl|cc|tk|ws|ai|us|uk|"
    "page|shop|store|live|club|top|click|pw|ru|cn|de"
)
_URL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://\S+"
    r"|www\.\S+"
    rf"|(?<![\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:{_TLDS})(?![\w-])\S*"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b\S*)",
    re.IGNORECASE,
)
# A run of digits with the separators people put in phone numbers; 8 or more digits is a number to call.
_PHONE_RUN = re.compile(r"\+?\d[\d\s().+-]*\d")
_PHONE_MIN_DIGITS = 8
# Zero-width (non-)joiners are part of how Devanagari names are spelt; other format characters
# (bidi overrides above all) can disguise a link or a number, so they are refused with the controls.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


class SmsError(Exception):
    """Base of the sms package's errors."""


class TemplateMismatch(SmsError):
    """The variables given would produce a message that DLT scrubbing drops; nothing may be sent.

    The message names the template and the variable, never its value: values are consumers' data.
    """

    def __init__(self, template_key: str, reason: str, variable: str | None = None) -> None:
        self.template_key = template_key
        self.variable = variable
        self.reason = reason
        where = f" variable {variable!r}" if variable else ""
        super().__init__(f"template {template_key!r}{where}: {reason}")


class MalformedTemplateFile(SmsError):
    """The template file is not valid TOML or a template in it breaks a rule; the message says which."""


@dataclass(frozen=True)
class SmsTemplate:
    """One template as registered on the DLT platform."""

    key: str
    text: str
    dlt_template_id: str
    category: str
    sender: str
    validity: dt.timedelta | None = None
    urgent: bool = False
    reference_variables: frozenset[str] = frozenset()
    # Sent even to a mobile that sent STOP: a reply, an OTP, an acknowledgement the consumer asked for.
    opt_out_exempt: bool = False

    @property
    def variables(self) -> frozenset[str]:
        """The names of the variables in the text."""
        return frozenset(_VARIABLE.findall(self.text))


@dataclass(frozen=True)
class RenderedSms:
    """A message ready for a provider: the exact text and the DLT identifiers it must be sent with."""

    template_key: str
    text: str
    dlt_template_id: str
    entity_id: str
    sender: str
    category: str
    urgent: bool
    segments: int
    encoding: Encoding
    validity: dt.timedelta | None
    valid_until: dt.datetime | None


def segments(text: str) -> tuple[int, Encoding]:
    """How many SMS parts `text` takes, and in which encoding.

    GSM-7 when every character is in the default alphabet or its extension table (extension
    characters cost two septets): 160 septets in one part, 153 a part when concatenated. Anything
    else is UCS-2, counted in UTF-16 code units: 70 in one part, 67 a part. A two-unit character
    (an extension character, a surrogate pair) is never split across parts, as handsets do not.
    An empty text still takes one part.
    """
    alphabet = set(text)
    if alphabet <= _GSM7_BASIC:  # the common case, without a list per character
        return (1 if len(text) <= GSM7_SINGLE else -(-len(text) // GSM7_PART)), GSM7
    if alphabet <= _GSM7_ALL:
        units = [2 if char in _GSM7_EXTENSION else 1 for char in text]
        return _parts(units, GSM7_SINGLE, GSM7_PART), GSM7
    units = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _parts(units, UCS2_SINGLE, UCS2_PART), UCS2


def _parts(units: list[int], single: int, part: int) -> int:
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def load_templates(path: str | Path | None = None) -> dict[str, SmsTemplate]:
    """Read and check the template file (the packaged `sms/data/templates.toml` by default).

    Templates are TOML tables named by dotted keys (`[complaint.ack]`). Raises MalformedTemplateFile
    for bad TOML, an unknown or missing field, a malformed variable, a DLT id that is not 19 digits
    or is used twice, an unknown category, a bad sender header or a non-GSM-7 character in the text.
    """
    if path is None:
        raw = resources.files("sms").joinpath("data", "templates.toml").read_bytes()
        source = "sms/data/templates.toml"
    else:
        raw = Path(path).read_bytes()
        source = str(path)
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MalformedTemplateFile(f"{source}: {exc}") from exc
    templates: dict[str, SmsTemplate] = {}
    owners: dict[str, str] = {}
    for key, table in _template_tables(document, ""):
        template = _parse_template(key, table)
        if template.dlt_template_id in owners:
            first = owners[template.dlt_template_id]
            raise MalformedTemplateFile(f"{key}: DLT template id {template.dlt_template_id} is already used by {first}")
        owners[template.dlt_template_id] = key
        templates[key] = template
    if not templates:
        raise MalformedTemplateFile(f"{source}: no templates")
    return templates


def _template_tables(table: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Walk the nested tables TOML makes of `[complaint.ack]`; a table with a `text` is a template."""
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(value, dict):
            raise MalformedTemplateFile(f"{key}: expected a table of templates, found a {type(value).__name__}")
        if "text" in value:
            yield key, value
        else:
            yield from _template_tables(value, key)


def _parse_template(key: str, table: Mapping[str, Any]) -> SmsTemplate:
    if not _KEY.fullmatch(key):
        raise MalformedTemplateFile(f"{key}: a template key is dotted lowercase words, like 'complaint.ack'")
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise MalformedTemplateFile(f"{key}: unknown field(s) {', '.join(unknown)}")
    missing = [field for field in _REQUIRED if field not in table]
    if missing:
        raise MalformedTemplateFile(f"{key}: missing field(s) {', '.join(missing)}")
    text = _string(key, table, "text")
    _check_text(key, text)
    dlt_id = _string(key, table, "dlt_template_id")
    if not _DLT_ID.fullmatch(dlt_id):
        raise MalformedTemplateFile(f"{key}: dlt_template_id must be 19 digits")
    category = _string(key, table, "category")
    if category not in CATEGORIES:
        raise MalformedTemplateFile(f"{key}: category must be one of {', '.join(sorted(CATEGORIES))}")
    sender = _string(key, table, "sender")
    header = _NUMERIC_HEADER if category == "promotional" else _LETTER_HEADER
    if not header.fullmatch(sender):
        kind = "6 digits" if category == "promotional" else "6 capital letters A-Z"
        raise MalformedTemplateFile(f"{key}: a {category} sender header is {kind}")
    validity = None
    if "validity_minutes" in table:
        minutes = table["validity_minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
            raise MalformedTemplateFile(f"{key}: validity_minutes must be a positive whole number")
        validity = dt.timedelta(minutes=minutes)
    urgent = table.get("urgent", False)
    if not isinstance(urgent, bool):
        raise MalformedTemplateFile(f"{key}: urgent must be true or false")
    opt_out_exempt = table.get("opt_out_exempt", False)
    if not isinstance(opt_out_exempt, bool):
        raise MalformedTemplateFile(f"{key}: opt_out_exempt must be true or false")
    references = table.get("reference_variables", [])
    if not isinstance(references, list) or not all(isinstance(name, str) for name in references):
        raise MalformedTemplateFile(f"{key}: reference_variables must be a list of variable names")
    variables = set(_VARIABLE.findall(text))
    strangers = sorted(set(references) - variables)
    if strangers:
        raise MalformedTemplateFile(f"{key}: reference_variables not in the text: {', '.join(strangers)}")
    return SmsTemplate(
        key=key,
        text=text,
        dlt_template_id=dlt_id,
        category=category,
        sender=sender,
        validity=validity,
        urgent=urgent,
        reference_variables=frozenset(references),
        opt_out_exempt=opt_out_exempt,
    )


def _string(key: str, table: Mapping[str, Any], field: str) -> str:
    value = table[field]
    if not isinstance(value, str) or not value.strip():
        raise MalformedTemplateFile(f"{key}: {field} must be a non-empty string")
    return value


def _check_text(key: str, text: str) -> None:
    leftover = _VARIABLE.sub("", text)
    if "{" in leftover or "}" in leftover:
        raise MalformedTemplateFile(
            f"{key}: stray or malformed brace in text (a variable is written {{lowercase_name}})"
        )
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise MalformedTemplateFile(f"{key}: the text has a newline or control character")
    # One curly quote in the fixed text would make every message UCS-2 and cost up to twice as much.
    strangers = sorted({char for char in leftover if char not in _GSM7_BASIC and char not in _GSM7_EXTENSION})
    if strangers:
        raise MalformedTemplateFile(f"{key}: characters outside GSM-7 in the text: {''.join(strangers)!r}")


def render(
    template: SmsTemplate,
    variables: Mapping[str, str | int],
    *,
    allowed_urls: Collection[str],
    allowed_numbers: Collection[str],
    entity_id: str = DEVELOPMENT_ENTITY_ID,
    now: dt.datetime | None = None,
) -> RenderedSms:
    """Fill the template's variables, or raise TemplateMismatch for a message DLT scrubbing would drop.

    Refused: a variable missing, empty or not in the template; a value over 30 characters; a
    newline or control character in a value; a link in a value that is not on `allowed_urls`; a
    phone or call-back number (8 digits or more) in a value that is not on `allowed_numbers`.
    Reference variables (account, complaint, OTP) must be plain letters, digits and dashes, and
    are the only values allowed to look like a long number. `valid_until` is `now` plus the
    template's validity, when both are given; `now` must carry its time zone.
    """
    if not _DLT_ID.fullmatch(entity_id):
        raise ValueError("a DLT principal entity id is 19 digits")
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    expected = template.variables
    missing = sorted(expected - set(variables))
    if missing:
        raise TemplateMismatch(template.key, "missing", missing[0])
    extra = sorted(set(variables) - expected)
    if extra:
        raise TemplateMismatch(template.key, "not in the template", extra[0])
    values = {name: _checked(template, name, value, allowed_urls, allowed_numbers) for name, value in variables.items()}
    text = _VARIABLE.sub(lambda match: values[match.group(1)], template.text)
    count, encoding = segments(text)
    valid_until = now + template.validity if now is not None and template.validity is not None else None
    return RenderedSms(
        template_key=template.key,
        text=text,
        dlt_template_id=template.dlt_template_id,
        entity_id=entity_id,
        sender=template.sender,
        category=template.category,
        urgent=template.urgent,
        segments=count,
        encoding=encoding,
        validity=template.validity,
        valid_until=valid_until,
    )


def _checked(
    template: SmsTemplate,
    name: str,
    value: str | int,
    allowed_urls: Collection[str],
    allowed_numbers: Collection[str],
) -> str:
    key = template.key
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TemplateMismatch(key, "must be text or a whole number", name)
    text = str(value)
    if not text.strip():
        raise TemplateMismatch(key, "is empty", name)
    if len(text) > MAX_VARIABLE_LENGTH:
        raise TemplateMismatch(key, f"is longer than {MAX_VARIABLE_LENGTH} characters", name)
    for char in "" if text.isascii() and text.isprintable() else text:  # printable ASCII has no such character
        kind = unicodedata.category(char)
        if kind in ("Zl", "Zp") or (kind.startswith("C") and char not in _ALLOWED_FORMAT):
            raise TemplateMismatch(key, "has a newline or control character", name)
    if name in template.reference_variables:
        if not _REFERENCE.fullmatch(text) or not text.isascii():
            raise TemplateMismatch(key, "a reference is letters, digits and dashes only", name)
        return text
    allowed = {_url_key(url) for url in allowed_urls}
    for match in _URL.finditer(text):
        if not _url_allowed(_url_key(match.group(0)), allowed):
            raise TemplateMismatch(key, "has a link that is not on the whitelist", name)
    numbers = {_number_key(number) for number in allowed_numbers}
    for match in _PHONE_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) >= _PHONE_MIN_DIGITS and _number_key(digits) not in numbers:
            raise TemplateMismatch(key, "has a phone number that is not on the whitelist", name)
    return text


def _url_key(url: str) -> str:
    """A link without its scheme and trailing slash, host lower-cased, for comparing with the list."""
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip(), flags=re.IGNORECASE).rstrip("/")
    host, slash, rest = bare.partition("/")
    return host.lower() + slash + rest


def _url_allowed(url: str, allowed: set[str]) -> bool:
    # A whitelisted link covers the paths below it, never a longer host ("pay.in" is not "pay.in.evil.com").
    return any(url == entry or url.startswith(entry + "/") or url.startswith(entry + "?") for entry in allowed)


def _number_key(number: str) -> str:
    """The national significant number: +91 98765 43210, 09876543210 and 9876543210 are one number."""
    digits = re.sub(r"\D", "", number)
    if len(digits) > 10 and digits.startswith("91"):
        digits = digits[2:]
    return digits.lstrip("0") if len(digits) > 10 else digits


# --- secrets in sent messages ----------------------------------------------------------------------------

# Values only the handset may show: never a page, a log or a report. An OTP; the code a consumer gives the lineman
# to close a complaint (cis.escalation), which whoever sees it could close the complaint with.
SECRET_VARIABLES = frozenset({"otp", "code"})
BLANK = "******"
_SECRET_FALLBACK = re.compile(r"\d{4,}")


def blank_secrets(template: SmsTemplate | None, text: str) -> str:
    """`text` as sent with `template`, its secret values (OTPs) replaced by `******`, for anyone but the handset.

    The template's fixed text finds the values. A text that does not match its template (the template changed
    since it was sent, or it is unknown) loses every run of four or more digits: blanking too much is safe.
    """
    if template is None:
        return _SECRET_FALLBACK.sub(BLANK, text)
    if not template.variables & SECRET_VARIABLES:
        return text
    pieces = []
    for n, piece in enumerate(_VARIABLE.split(template.text)):  # fixed text, variable, fixed text, ...
        if n % 2 == 0:
            pieces.append(re.escape(piece))
        else:
            pieces.append(f"(?P<secret{n}>.+?)" if piece in SECRET_VARIABLES else "(?:.+?)")
    match = re.fullmatch("".join(pieces), text, re.DOTALL)
    if match is None:
        return _SECRET_FALLBACK.sub(BLANK, text)
    shown: list[str] = []
    end = 0
    for name in match.groupdict():
        start, stop = match.span(name)
        shown += [text[end:start], BLANK]
        end = stop
    return "".join([*shown, text[end:]])
