"""Account numbers checked at the edge, and complaint numbers whose check digit catches a misheard digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cis.errors import CisError, MalformedAccountNumber, UnknownComplaint
from cis.numbers import (
    COMPLAINT_NO_OFFSET,
    complaint_id_for_no,
    complaint_no_for_id,
    luhn_digit,
    parse_account_no,
)

# Row ids a discom will ever reach; the complaint number grows one digit per decade of ids.
complaint_ids = st.integers(min_value=1, max_value=10**12)
# Ids whose complaint number holds a 0 next to a 9, the one neighbour swap Luhn cannot see.
ids_with_a_0_9_pair = st.builds(
    lambda head, pair, tail: int(f"{head}{pair}{tail}") - COMPLAINT_NO_OFFSET,
    st.integers(min_value=10**4, max_value=10**9),
    st.sampled_from(["09", "90"]),
    st.text("0123456789", max_size=3),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234567890", "1234567890"),
        ("12345 67890", "1234567890"),
        ("123-456-7890", "1234567890"),
        ("12 34-56 78-90", "1234567890"),
        ("  1234567890  ", "1234567890"),
        ("0012345678", "0012345678"),
    ],
)
def test_account_number_with_spaces_or_dashes_is_read_as_ten_digits(raw: str, expected: str) -> None:
    assert parse_account_no(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("123456789", id="nine-digits"),
        pytest.param("12345678901", id="eleven-digits"),
        pytest.param("12345abcde", id="letters"),
        pytest.param("ACC1234567", id="prefixed"),
        pytest.param("१२३४५६७८९०", id="devanagari-digits"),
        pytest.param("１２３４５６７８９０", id="fullwidth-digits"),
        pytest.param("+123456789", id="plus-sign"),
        pytest.param("12345.67890", id="dot"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_anything_but_ten_ascii_digits_is_not_an_account_number(raw: str) -> None:
    with pytest.raises(MalformedAccountNumber) as refused:
        parse_account_no(raw)
    assert refused.value.given == raw
    assert str(refused.value) == "An account number has exactly 10 digits."
    assert isinstance(refused.value, CisError)


def test_first_complaint_number_already_has_eight_digits() -> None:
    assert complaint_no_for_id(1) == "10000016"


@pytest.mark.parametrize("raw", ["1000 0016", "1000-0016", " 10000016 "])
def test_complaint_number_read_back_in_groups_is_understood(raw: str) -> None:
    assert complaint_id_for_no(raw) == 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("complaint", id="letters"),
        pytest.param("1000001", id="seven-digits"),
        pytest.param("10000008", id="check-digit-right-but-below-the-first-complaint"),
        pytest.param("10000017", id="wrong-check-digit"),
        pytest.param("१००००००१६", id="devanagari-digits"),
        pytest.param("12345678901234567", id="seventeen-digits"),
    ],
)
def test_a_number_that_cannot_be_ours_is_an_unknown_complaint(raw: str) -> None:
    with pytest.raises(UnknownComplaint) as refused:
        complaint_id_for_no(raw)
    assert refused.value.number == raw
    assert isinstance(refused.value, CisError)


@given(complaint_ids)
def test_complaint_number_is_digits_only_at_least_eight_without_leading_zero(complaint_id: int) -> None:
    number = complaint_no_for_id(complaint_id)
    assert number.isascii()
    assert number.isdigit()
    assert len(number) >= 8
    assert not number.startswith("0")


@given(complaint_ids)
def test_complaint_number_round_trips_to_its_id(complaint_id: int) -> None:
    assert complaint_id_for_no(complaint_no_for_id(complaint_id)) == complaint_id


@given(complaint_ids)
def test_every_single_digit_mistake_is_rejected(complaint_id: int) -> None:
    number = complaint_no_for_id(complaint_id)
    for position, typed in enumerate(number):
        for wrong in "0123456789".replace(typed, ""):
            mistyped = number[:position] + wrong + number[position + 1 :]
            with pytest.raises(UnknownComplaint):
                complaint_id_for_no(mistyped)


def _adjacent_swaps(number: str) -> list[tuple[str, str]]:
    """Each transposition of two different neighbouring digits, with the pair as it was before the swap."""
    return [
        (number[i : i + 2], number[:i] + number[i + 1] + number[i] + number[i + 2 :])
        for i in range(len(number) - 1)
        if number[i] != number[i + 1]
    ]


@given(complaint_ids)
def test_every_transposition_of_neighbouring_digits_except_0_and_9_is_rejected(complaint_id: int) -> None:
    for pair, swapped in _adjacent_swaps(complaint_no_for_id(complaint_id)):
        if set(pair) == {"0", "9"}:
            continue  # the Luhn blind spot, pinned by the tests below
        with pytest.raises(UnknownComplaint):
            complaint_id_for_no(swapped)


def test_transposing_0_and_9_slips_past_the_check_digit_to_another_complaint() -> None:
    # Luhn's known limit: a caller reading complaint 9 back as ...0909 reaches complaint 90.
    assert complaint_no_for_id(9) == "10000099"
    assert complaint_id_for_no("10000909") == 90


@given(ids_with_a_0_9_pair)
def test_a_0_9_transposition_passes_luhn_but_never_names_the_same_complaint(complaint_id: int) -> None:
    blind_spots = [
        swapped for pair, swapped in _adjacent_swaps(complaint_no_for_id(complaint_id)) if set(pair) == {"0", "9"}
    ]
    assert blind_spots
    for swapped in blind_spots:
        assert luhn_digit(swapped[:-1]) == swapped[-1]
        try:
            other = complaint_id_for_no(swapped)
        except UnknownComplaint:
            # Only a swap that puts 0 first can fail: the number then falls below the first complaint.
            assert swapped.startswith("0")
        else:
            assert other != complaint_id


@given(st.integers(min_value=1, max_value=29_999_999))
def test_a_request_number_gives_back_its_id_and_has_9_digits(request_id: int) -> None:
    from cis.numbers import request_id_for_no, request_no_for_id

    number = request_no_for_id(request_id)
    assert request_id_for_no(number) == request_id
    assert len(number) == 9
    assert number[0] in "567"  # a complaint number starts with 5 only after 49 million complaints


def test_a_mistyped_request_number_or_a_theft_reference_is_no_request() -> None:
    from cis.numbers import request_id_for_no, request_no_for_id, theft_ref_for_id

    number = request_no_for_id(42)
    assert number == "50000042" + luhn_digit("50000042")
    assert request_id_for_no(number[:-1] + str((int(number[-1]) + 1) % 10)) is None
    assert request_id_for_no(theft_ref_for_id(42)) is None
    assert request_id_for_no(complaint_no_for_id(42)) is None
    assert request_id_for_no("５０００００４２" + number[-1]) is None  # full-width digits are not digits here
    assert request_id_for_no(f" {number[:4]}-{number[4:]} ") == 42
