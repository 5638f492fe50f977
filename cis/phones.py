"""Phone numbers: the one function that turns what a channel gives into E.164, and log masking."""

from __future__ import annotations

import phonenumbers

from cis.errors import MalformedMobile

_INDIAN_MOBILE_FIRST_DIGITS = frozenset("6789")


def mobile_or_none(raw: str | None) -> str | None:
    """E.164 when `raw` is an Indian mobile; None for nothing, a withheld caller id, a landline or garbage."""
    if not raw:
        return None
    try:
        return normalise_mobile(raw)
    except MalformedMobile:
        return None


def normalise_mobile(raw: str) -> str:
    """Return the Indian mobile number in `raw` as E.164 (`+919876543210`) or raise MalformedMobile.

    Accepts what trunks, gateways and people produce: `+919876543210`, `919876543210`,
    `09876543210`, `00919876543210`, `9876543210`, with spaces or dashes. Landlines and foreign
    numbers are refused, since alerts and OTPs go by SMS.
    """
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits or len(digits) > 15 or "+" in text[1:] or any(ch not in "0123456789+-() ." for ch in text):
        raise MalformedMobile(raw)
    if text.startswith("+") or (len(digits) == 12 and digits.startswith("91")):
        candidate = "+" + digits
    elif len(digits) == 14 and digits.startswith("0091"):
        candidate = "+" + digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        candidate = "+91" + digits[1:]
    elif len(digits) == 10:
        candidate = "+91" + digits
    else:
        raise MalformedMobile(raw)
    try:
        parsed = phonenumbers.parse(candidate, "IN")
    except phonenumbers.NumberParseException as exc:
        raise MalformedMobile(raw) from exc
    national = str(parsed.national_number)
    if (
        parsed.country_code != 91
        or len(national) != 10
        or national[0] not in _INDIAN_MOBILE_FIRST_DIGITS
        or not phonenumbers.is_valid_number(parsed)
    ):
        raise MalformedMobile(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """Mask a number for logs, keeping the country code and the last three digits."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:3] + "*" * (len(e164) - 6) + e164[-3:]
