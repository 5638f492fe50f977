"""Account and complaint numbers: validation at the edge, and complaint numbers that can be spoken."""

from __future__ import annotations

from cis.errors import MalformedAccountNumber, MalformedBillNumber, UnknownComplaint

ACCOUNT_NO_LENGTH = 10
# Complaint numbers are the row id plus this offset, so the first one already has 8 digits and a
# caller never hears a number with leading zeros; a Luhn check digit catches a mistyped digit.
COMPLAINT_NO_OFFSET = 1_000_000
# Bill numbers are the bill row id plus this offset and a Luhn digit: always 12 digits (an account number has 10,
# so the two are never confused), and a mistyped digit is caught before any lookup.
BILL_NO_OFFSET = 10_000_000_000
BILL_NO_LENGTH = 12


def parse_account_no(raw: str) -> str:
    """Return the 10-digit account number in `raw` (spaces and dashes allowed) or raise."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if len(text) != ACCOUNT_NO_LENGTH or not text.isascii() or not text.isdigit():
        raise MalformedAccountNumber(raw)
    return text


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def complaint_no_for_id(complaint_id: int) -> str:
    """The complaint number for a complaint row id: digits only, so the IVR can read it out."""
    body = str(complaint_id + COMPLAINT_NO_OFFSET)
    return body + luhn_digit(body)


def complaint_id_for_no(raw: str) -> int:
    """The row id behind a complaint number, or UnknownComplaint if it cannot be one of ours."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if not text.isascii() or not text.isdigit() or len(text) < 8 or len(text) > 16:
        raise UnknownComplaint(raw)
    body, check = text[:-1], text[-1]
    if luhn_digit(body) != check or int(body) <= COMPLAINT_NO_OFFSET:
        raise UnknownComplaint(raw)
    return int(body) - COMPLAINT_NO_OFFSET


def bill_no_for_id(bill_id: int) -> str:
    """The number printed on a bill (and asked for at portal registration) for a bill row id."""
    body = str(bill_id + BILL_NO_OFFSET)
    return body + luhn_digit(body)


def bill_id_for_no(raw: str) -> int:
    """The bill row id behind a bill number (spaces and dashes allowed), or MalformedBillNumber."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if len(text) != BILL_NO_LENGTH or not text.isascii() or not text.isdigit():
        raise MalformedBillNumber(raw)
    body, check = text[:-1], text[-1]
    if luhn_digit(body) != check or int(body) <= BILL_NO_OFFSET:
        raise MalformedBillNumber(raw)
    return int(body) - BILL_NO_OFFSET


# Request and theft-report numbers are built like complaint numbers (digits, a Luhn check digit) from offsets of
# their own, far above the complaints' (a complaint's number reaches 50,000,000 only after 49 million complaints):
# 9 digits from the first one, so a consumer and an agent can tell the kinds apart.
REQUEST_NO_OFFSET = 50_000_000
THEFT_REF_OFFSET = 80_000_000


def request_no_for_id(request_id: int) -> str:
    """The number of a service request (a bill revision, an application) for its row id: 9 digits at first."""
    body = str(request_id + REQUEST_NO_OFFSET)
    return body + luhn_digit(body)


def request_id_for_no(raw: str) -> int | None:
    """The row id behind a request number, or None when it cannot be one of ours (mistyped, wrong check digit)."""
    return _id_for_no(raw, REQUEST_NO_OFFSET, THEFT_REF_OFFSET)


def theft_ref_for_id(report_id: int) -> str:
    """The reference number given to whoever reported a theft."""
    body = str(report_id + THEFT_REF_OFFSET)
    return body + luhn_digit(body)


def _id_for_no(raw: str, offset: int, ceiling: int) -> int | None:
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if not text.isascii() or not text.isdigit() or len(text) < 9 or len(text) > 16:
        return None
    body, check = text[:-1], text[-1]
    if luhn_digit(body) != check or not offset < int(body) < ceiling:
        return None
    return int(body) - offset


# Receipt numbers: the payment row id plus this offset and a Luhn digit, 11 digits (an account number has 10, a
# bill number 12), so a receipt can be read out on the phone and told from either.
RECEIPT_NO_OFFSET = 9_000_000_000


def receipt_no_for_id(payment_id: int) -> str:
    """The receipt number of a payment row id."""
    body = str(payment_id + RECEIPT_NO_OFFSET)
    return body + luhn_digit(body)


def payment_id_for_receipt_no(raw: str) -> int | None:
    """The payment row id behind a receipt number (spaces and dashes allowed), or None if it cannot be one."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if not text.isascii() or not text.isdigit() or len(text) != 11:
        return None
    body, check = text[:-1], text[-1]
    if luhn_digit(body) != check or int(body) <= RECEIPT_NO_OFFSET:
        return None
    return int(body) - RECEIPT_NO_OFFSET
