"""New portal passwords' rules, and bill numbers: 12 digits with a check digit, never an account number's shape."""

from __future__ import annotations

import pytest

from cis.errors import MalformedBillNumber, WeakPassword
from cis.numbers import bill_id_for_no, bill_no_for_id
from cis.passwords import check_new_password, common_passwords


@pytest.mark.parametrize("bill_id", [1, 42, 9_999_999, 12_000_000, 89_999_999_999])
def test_a_bill_number_has_twelve_digits_and_leads_back_to_its_bill(bill_id: int) -> None:
    number = bill_no_for_id(bill_id)
    assert len(number) == 12
    assert number.isdigit()
    assert bill_id_for_no(number) == bill_id
    assert bill_id_for_no(f" {number[:4]}-{number[4:8]} {number[8:]} ") == bill_id


@pytest.mark.parametrize("raw", ["", "1234567890", "1000000000420", "10000000004x", "١٠٠٠٠٠٠٠٠٠٤٢"])
def test_text_that_cannot_be_a_bill_number_is_refused(raw: str) -> None:
    with pytest.raises(MalformedBillNumber):
        bill_id_for_no(raw)


def test_every_single_mistyped_digit_is_caught_by_the_check_digit() -> None:
    number = bill_no_for_id(123_456)
    for position in range(12):
        for digit in "0123456789":
            typo = number[:position] + digit + number[position + 1 :]
            if typo != number:
                with pytest.raises(MalformedBillNumber):
                    bill_id_for_no(typo)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("1234567", "short"),
        ("x" * 129, "long"),
        ("tab\tinside", "characters"),
        ("lone \ud800 surrogate", "characters"),
        ("PASSWORD@123", "common"),
        ("iloveyou", "common"),
        ("4930000001", "account"),
        ("my 4930000001 home", "account"),
        ("call 9876548113", "account"),
    ],
)
def test_weak_passwords_say_why(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_new_password(password, account_no="4930000001", mobile="+919876548113")
    assert refused.value.reason == reason


@pytest.mark.parametrize("password", ["demo1912", "Kidwai Nagar 208011", "बिजली का बिल 2026", "x" * 128])
def test_good_passwords_pass(password: str) -> None:
    assert check_new_password(password, account_no="4930000001", mobile="+919876548113") == password


def test_the_common_list_is_short_lower_case_and_long_enough_to_matter() -> None:
    common = common_passwords()
    assert 50 <= len(common) <= 1000
    assert all(p == p.lower() and len(p) >= 8 for p in common)  # shorter ones are refused as short anyway
