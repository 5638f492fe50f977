"""The CIS error tree: every domain error a channel may have to explain to a consumer or an agent."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar


class CisError(Exception):
    """Base of every error the CIS use cases raise on purpose."""


class MalformedAccountNumber(CisError):
    """The text given is not a 10-digit account number."""

    def __init__(self, given: str) -> None:
        super().__init__("An account number has exactly 10 digits.")
        self.given = given


class UnknownAccount(CisError):
    """No account carries this number."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"No account {account_no} is on record.")
        self.account_no = account_no


class AccountClosed(CisError):
    """The account is permanently disconnected, so this request does not apply to it."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"Account {account_no} is permanently disconnected.")
        self.account_no = account_no


class MalformedMobile(CisError):
    """The text given is not a valid Indian mobile number."""

    def __init__(self, given: str) -> None:
        super().__init__("A mobile number has 10 digits and starts with 6, 7, 8 or 9.")
        self.given = given


class UnknownComplaint(CisError):
    """No complaint carries this number (or its check digit is wrong)."""

    def __init__(self, number: str) -> None:
        super().__init__(f"No complaint {number} is on record.")
        self.number = number


class UnknownComplaintCategory(CisError):
    """The complaint category is not one the call centre handles."""

    def __init__(self, category: str) -> None:
        super().__init__(f"'{category}' is not a complaint category.")
        self.category = category


class ResolutionNotPending(CisError):
    """The complaint is not resolved and waiting for the consumer's word (still open, reopened or closed)."""

    def __init__(self, number: str, status: str) -> None:
        super().__init__(f"Complaint {number} is not waiting for your confirmation (it is {status}).")
        self.number = number
        self.status = status


class ConfirmationWindowClosed(CisError):
    """The resolution is older than the days a consumer has to confirm or reject it."""

    def __init__(self, number: str, days: int) -> None:
        super().__init__(
            f"Complaint {number} was resolved more than {days} days ago; if the problem is back, please lodge a "
            "new complaint."
        )
        self.number = number
        self.days = days


class ComplaintAlreadyOpen(CisError):
    """Reopening would give the account a second open complaint of a kind it already has one of."""

    def __init__(self, number: str, open_number: str) -> None:
        super().__init__(f"Complaint {open_number} of the same kind is already open for this account.")
        self.number = number
        self.open_number = open_number


class UnknownChannel(CisError):
    """The channel named is not one of the platform's channels."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"'{channel}' is not a channel.")
        self.channel = channel


class TooManyMobiles(CisError):
    """The account already has the most mobiles an account may hold."""

    def __init__(self, account_no: str, limit: int) -> None:
        super().__init__(f"Account {account_no} already has {limit} registered mobiles.")
        self.account_no = account_no
        self.limit = limit


class MissingDetails(CisError):
    """The request lacks something it needs (an account for a supply complaint, a location for a hazard)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Please give {what}.")
        self.what = what


class TextTooLong(CisError):
    """Free text over the limit a channel may store."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Please keep the description within {limit} characters.")
        self.limit = limit


class TariffDataError(CisError):
    """The rate schedule data is malformed, so no bill can be computed from it."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"The tariff schedule data is invalid: {problem}.")
        self.problem = problem


class NoScheduleInForce(CisError):
    """No rate schedule was in force on the day asked about."""

    def __init__(self, day: object) -> None:
        super().__init__(f"No tariff schedule was in force on {day}.")
        self.day = day


class UnknownTariffCategory(CisError):
    """The tariff category code is not one the rate schedule defines."""

    def __init__(self, code: str) -> None:
        super().__init__(f"'{code}' is not a tariff category.")
        self.code = code


class ReadingBeforePrevious(CisError):
    """The meter reading is below the previous one and cannot be a roll-over of the register."""

    def __init__(self, previous: int, current: int) -> None:
        super().__init__(
            f"The reading {current} is below the previous reading {previous}; please check the meter reading."
        )
        self.previous = previous
        self.current = current


class InvalidBillInput(CisError):
    """The figures given for a bill cannot be billed (negative load or units, no days, load above the cap)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Cannot compute the bill: {problem}.")
        self.problem = problem


class MalformedReading(CisError):
    """The meter reading given is not a whole number the meter's register can show."""

    def __init__(self, given: object) -> None:
        super().__init__("A meter reading is a whole number of kWh of up to 6 digits.")
        self.given = given


class NoMeterOnAccount(CisError):
    """The account has no meter in service, so there is nothing to read."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"Account {account_no} has no meter in service; please call the sub-division office.")
        self.account_no = account_no


class ReadingImplausible(CisError):
    """The reading implies far more use per day since the last reading than the account usually has."""

    def __init__(self, kwh: int, usual_daily_units: Decimal, implied_daily_units: Decimal) -> None:
        super().__init__(
            f"The reading {kwh} means {implied_daily_units} units a day, against a usual {usual_daily_units}; "
            "please check the meter reading."
        )
        self.kwh = kwh
        self.usual_daily_units = usual_daily_units
        self.implied_daily_units = implied_daily_units


class NothingDue(CisError):
    """Nothing is payable on the account now (no bill yet, or the latest one is paid)."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"Nothing is due on account {account_no}.")
        self.account_no = account_no


class NoMobileForAccount(CisError):
    """No valid mobile was given and the account has none registered, so no SMS can be sent."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"Account {account_no} has no registered mobile; please give a mobile number.")
        self.account_no = account_no


class UnknownCall(CisError):
    """No call record carries this id."""

    def __init__(self, call_id: int) -> None:
        super().__init__(f"No call {call_id} is on record.")
        self.call_id = call_id


class UnknownFeeder(CisError):
    """No feeder carries this id."""

    def __init__(self, feeder_id: int) -> None:
        super().__init__(f"No feeder {feeder_id} is on record.")
        self.feeder_id = feeder_id


class UnknownInterruption(CisError):
    """No feeder interruption carries this id."""

    def __init__(self, interruption_id: int) -> None:
        super().__init__(f"No interruption {interruption_id} is on record.")
        self.interruption_id = interruption_id


class InvalidInterruption(CisError):
    """The interruption as given cannot be recorded or changed (unknown kind, restoration before its start)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Cannot record the interruption: {problem}.")
        self.problem = problem


class TooManyOtpRequests(CisError):
    """Too many one-time passwords were asked for lately, by this mobile or for this account; try later."""

    def __init__(self, limit: int, window: object) -> None:
        super().__init__(f"At most {limit} OTPs may be asked for in {window}; please try again later.")
        self.limit = limit
        self.window = window


class NoPendingOtp(CisError):
    """No one-time password is awaiting a reply from this mobile (none asked, expired, used or locked)."""

    def __init__(self) -> None:
        super().__init__("No OTP is waiting for a reply from this mobile; please ask for a new one.")


class WrongOtp(CisError):
    """The one-time password does not match; `attempts_left` more tries before the challenge is dead."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"The OTP is not correct; {attempts_left} attempt(s) left.")
        self.attempts_left = attempts_left


class MalformedBillNumber(CisError):
    """The text given is not a bill number (12 digits whose last is a check digit)."""

    def __init__(self, given: str) -> None:
        super().__init__("A bill number has 12 digits; please copy it from your bill.")
        self.given = given


class WeakPassword(CisError):
    """The new password may not be used; `reason` says why: short, long, characters, common or account."""

    _WHY: ClassVar[dict[str, str]] = {
        "short": "A password needs at least {n} characters.",
        "long": "A password can have at most 128 characters.",
        "characters": "The password contains characters that are not allowed.",
        "common": "This password is too common and easy to guess; please choose another.",
        "account": "The password may not contain your account number or mobile number.",
    }

    def __init__(self, reason: str, min_length: int) -> None:
        super().__init__(self._WHY[reason].format(n=min_length))
        self.reason = reason
        self.min_length = min_length


class RegistrationMismatch(CisError):
    """The account number and bill number given do not match a bill of the last 12 months (which of them is not
    said, nor whether the account exists)."""

    def __init__(self) -> None:
        super().__init__("The account number and bill number do not match a bill of the last 12 months.")


class NoVerifiedMobile(CisError):
    """The account has no verified mobile on record, so no OTP can prove who is registering."""

    def __init__(self, account_no: str) -> None:
        super().__init__(
            f"Account {account_no} has no verified mobile on record. Please register your mobile at your "
            f"sub-division office, or send REG {account_no} by SMS from your mobile."
        )
        self.account_no = account_no


class WrongAccountPassword(CisError):
    """The account number and password do not match a portal login (which of the two is not said)."""

    def __init__(self) -> None:
        super().__init__("The account number or password is not correct.")


class TooManySignInTries(CisError):
    """Too many failed tries lately for this account or from this address: wait before trying again."""

    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"Too many failed tries. For your security this is paused for {minutes} minutes; you can sign in "
            "with an OTP to your registered mobile meanwhile."
        )
        self.minutes = minutes


class NotYourAccount(CisError):
    """The portal session may not show this account: not its own, nor verified on the mobile it proved."""

    def __init__(self) -> None:
        super().__init__("This account is not linked to the mobile you signed in with.")


class MobileAlreadyRegistered(CisError):
    """The mobile is already registered and verified on this account: there is nothing to add."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"This mobile is already registered on account {account_no}.")
        self.account_no = account_no


class UnknownMobile(CisError):
    """No mobile with this id is registered on the account (or it has been removed meanwhile)."""

    def __init__(self) -> None:
        super().__init__("This mobile is not registered on your account.")


class LastVerifiedMobile(CisError):
    """Removing this mobile would leave the account without a verified mobile: OTPs would have nowhere to go."""

    def __init__(self) -> None:
        super().__init__(
            "This is the only verified mobile on your account, so it cannot be removed. Add another mobile first."
        )


class NoNumberForCalls(CisError):
    """Voice alerts were chosen, but the account has no mobile or landline to call."""

    def __init__(self) -> None:
        super().__init__("Voice alerts need a registered mobile or a landline to call. Please add a mobile first.")


class UnknownPaymentLink(CisError):
    """No payment intent has this token (a mistyped or made-up link)."""

    def __init__(self, token: str) -> None:
        super().__init__("This payment link is not one of ours. Please ask for a new one (SMS PAY).")
        self.token = token


class PaymentLinkClosed(CisError):
    """The payment intent was paid already, has expired or was cancelled: it takes no more payments."""

    def __init__(self, token: str, status: str) -> None:
        words = {"paid": "was paid already", "expired": "has expired", "cancelled": "was cancelled"}
        super().__init__(f"This payment link {words.get(status, 'is closed')}. Please ask for a new one (SMS PAY).")
        self.token = token
        self.status = status


class AmountOutOfRange(CisError):
    """An amount to pay below the smallest accepted or above what may be paid in one go."""

    def __init__(self, paise: int, low: int, high: int) -> None:
        super().__init__(f"An amount from Rs {low // 100} to Rs {high // 100} can be paid this way.")
        self.paise, self.low, self.high = paise, low, high
