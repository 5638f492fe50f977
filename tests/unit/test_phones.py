"""Mobile numbers: what trunks, gateways and people send becomes one E.164 string, or a readable refusal."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cis.errors import CisError, MalformedMobile
from cis.phones import mask_mobile, normalise_mobile

READABLE_REFUSAL = "A mobile number has 10 digits and starts with 6, 7, 8 or 9."


@pytest.mark.parametrize(
    "raw",
    [
        "919876543210",  # Asterisk trunks: country code, no plus
        "+919876543210",  # SIP gateways and Twilio: E.164
        "09876543210",  # national trunk prefix
        "9876543210",  # what a consumer types
        "+91 98765 43210",
        "+91-98765-43210",
        "91 98765 43210",
        "098765-43210",
        "98765 43210",
        "98765-43210",
        "  9876543210  ",
    ],
)
def test_every_spelling_a_channel_sends_is_normalised_to_e164(raw: str) -> None:
    assert normalise_mobile(raw) == "+919876543210"


def test_trunk_format_without_plus_is_normalised() -> None:
    assert normalise_mobile("917012345678") == "+917012345678"


@pytest.mark.parametrize("first_digit", ["6", "7", "8", "9"])
def test_every_mobile_series_is_accepted(first_digit: str) -> None:
    assert normalise_mobile(first_digit + "012345678") == "+91" + first_digit + "012345678"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("05122345678", id="kanpur-landline-with-std-code"),
        pytest.param("+915122345678", id="landline-in-e164"),
        pytest.param("+14155550100", id="foreign-number"),
        pytest.param("+447911123456", id="foreign-mobile"),
        pytest.param("987654321", id="nine-digits"),
        pytest.param("98765432101", id="eleven-digits-without-trunk-zero"),
        pytest.param("9198765432101", id="thirteen-digits-with-country-code"),
        pytest.param("+9198765432101", id="too-long-e164"),
        pytest.param("98765abcde", id="letters"),
        pytest.param("9876543210x", id="trailing-letter"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("unknown", id="asterisk-withheld-caller-id"),
        pytest.param("anonymous", id="sip-withheld-caller-id"),
        pytest.param("+910876543210", id="zero-after-country-code"),
        pytest.param("911876543210", id="one-after-country-code"),
        pytest.param("+91 2876543210", id="two-after-country-code"),
        pytest.param("3876543210", id="three-first"),
        pytest.param("04876543210", id="four-after-trunk-zero"),
        pytest.param("+915876543210", id="five-after-country-code"),
    ],
)
def test_what_is_not_an_indian_mobile_is_refused(raw: str) -> None:
    with pytest.raises(MalformedMobile) as refused:
        normalise_mobile(raw)
    assert refused.value.given == raw


def test_refusal_tells_the_consumer_what_a_mobile_number_looks_like() -> None:
    with pytest.raises(MalformedMobile) as refused:
        normalise_mobile("05122345678")
    assert str(refused.value) == READABLE_REFUSAL
    assert isinstance(refused.value, CisError)


def test_refusal_message_does_not_echo_the_number_into_logs() -> None:
    with pytest.raises(MalformedMobile) as refused:
        normalise_mobile("98765 4321")
    assert "4321" not in str(refused.value)


def test_mask_hides_the_middle_digits_and_keeps_country_code_and_last_three() -> None:
    masked = mask_mobile("+919876543210")
    assert masked == "+91*******210"
    assert "9876543" not in masked
    assert len(masked) == len("+919876543210")


def test_mask_of_a_very_short_value_hides_everything() -> None:
    assert mask_mobile("+9198") == "*****"


# No deadline: phonenumbers loads its metadata on first use, which can outlast one example's budget.
@settings(deadline=None)
@given(st.integers(min_value=6_000_000_000, max_value=9_999_999_999).map(str))
def test_a_valid_mobile_round_trips_from_each_spelling_to_the_same_e164(national: str) -> None:
    assume(phonenumbers.is_valid_number(phonenumbers.parse("+91" + national)))
    spellings = ["91" + national, "+91" + national, "0" + national, national]
    assert {normalise_mobile(raw) for raw in spellings} == {"+91" + national}
