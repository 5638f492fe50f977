"""The inbound SMS command service: one consumer's text in, one rendered English reply out, never an error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cis import (
    accounts,
    calculator,
    compensation,
    complaints,
    escalation,
    interruptions,
    optout,
    otp,
    payment_info,
    readings,
)
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    CisError,
    MalformedAccountNumber,
    NoMobileForAccount,
    NoPendingOtp,
    NothingDue,
    ReadingBeforePrevious,
    ReadingImplausible,
    TooManyMobiles,
    TooManyOtpRequests,
    UnknownAccount,
    UnknownComplaint,
    WrongOtp,
)
from cis.logs import get_logger
from cis.phones import mobile_or_none
from outage import feedback, roster
from sms import commands
from sms.templates import RenderedSms, SmsTemplate, load_templates, render

IST = ZoneInfo("Asia/Kolkata")
CHANNEL = "sms"
HELP = "reply.help"
NO_ACCOUNT = "NA"  # complaint.ack names an account; a hazard reported without one shows this
MAX_VALUE = 30  # sms.templates.MAX_VARIABLE_LENGTH: longer free values (feeder names) are cut to fit
CALC_DAYS = 30
_OUTAGE_REASONS = {"breakdown": "a fault", "shutdown": "planned maintenance", "roster": "scheduled load shedding"}
# The syntax a sender is taught when a command came without what it needs (a bare COMP, HELP READ ...).
USAGE = {
    "COMP": "reply.help_comp",
    "STATUS": "reply.help_status",
    "CALC": "reply.help_calc",
    "READ": "reply.help_read",
    "REG": "reply.help_reg",
    "ACCOUNT": "reply.help_account",
}
# Who holds a complaint past its due time, by escalation level, as reply.status_escalated names them.
OFFICERS = {"sdo": "sub-divisional officer", "ee": "executive engineer", "se": "superintending engineer"}

log = get_logger(__name__)


@dataclass(frozen=True)
class Reply:
    """The answer to one inbound SMS.

    `already_queued` is True when the use case itself put this same message in the outbox for the
    sender (complaint.ack, bill.pay_info): the transport should not send `text` a second time.
    `variables` are the template's values as shown, so a transport can queue the reply in the outbox.
    """

    template_key: str
    text: str
    segments: int
    rendered: RenderedSms
    already_queued: bool = False
    variables: Mapping[str, str | int] = field(default_factory=dict)


class _Answer(Exception):
    """Raised inside a handler to answer at once with a template (an account to choose, not registered...)."""

    def __init__(self, key: str, variables: Mapping[str, str | int] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.variables = dict(variables or {})


@dataclass(frozen=True)
class _Request:
    uow: UnitOfWork
    mobile: str | None  # E.164, or None when the sender is not an Indian mobile
    own: tuple[str, ...]  # the usable accounts the sender's mobile is registered on
    message_id: str
    now: dt.datetime
    portal_url: str
    check_reopen: int = feedback.DEFAULT_REOPEN_AFTER


def handle_inbound(
    session_factory: Callable[[], Session],
    *,
    mobile: str,
    text: str,
    message_id: str,
    now: dt.datetime,
    portal_url: str = "https://portal.example.test",
    templates: Mapping[str, SmsTemplate] | None = None,
    allowed_urls: Collection[str] | None = None,
    allowed_numbers: Collection[str] = (),
    check_reopen: int = feedback.DEFAULT_REOPEN_AFTER,
) -> Reply:
    """Answer one inbound SMS from `mobile`; never raises.

    The sender's registered mobile identifies the account; a command naming an account uses it. BILL and
    OUTAGE may ask about any account; COMP, READ and PAY must come from a mobile registered on the account.
    Requests that change state (complaint, reading, pay-info SMS, OTP) use `message_id` as the request id, so
    a message delivered twice is acted on once. REG from a new mobile sends an OTP to the mobile on record;
    the 6-digit reply from the new mobile links it. STOP and START turn alert SMS off and on for the sender.
    A bare 1 or 2 answers the closure question of the sender's resolved complaint ("reply 1 if fixed, 2 if not":
    1 closes it, 2 reopens it one level up), else the restoration check the sender was asked (a 2 logs a no-supply
    complaint, and reopens the outage once `check_reopen` of those asked said 2); ROSTER and
    ROSTER OFF start and stop the daily supply schedule SMS of the account's feeder for the sender.
    A CIS error gets a polite reply; anything else gets HELP.
    """
    table = templates if templates is not None else load_templates()
    urls = tuple(allowed_urls) if allowed_urls is not None else (portal_url,)

    def reply(key: str, variables: Mapping[str, str | int], queued: bool = False) -> Reply:
        rendered = render(table[key], variables, allowed_urls=urls, allowed_numbers=allowed_numbers, now=now)
        return Reply(key, rendered.text, rendered.segments, rendered, queued, dict(variables))

    try:
        request = _request(UnitOfWork(session_factory), mobile, message_id, now, portal_url, check_reopen)
        key, variables, queued = _answer(request, commands.parse(text))
        return reply(key, variables, queued)
    except Exception:  # no consumer ever gets silence: log and send the command list
        log.exception("sms inbound %s could not be answered", message_id)
        return reply(HELP, {})


def _request(
    uow: UnitOfWork, mobile: str, message_id: str, now: dt.datetime, portal_url: str, check_reopen: int
) -> _Request:
    e164 = mobile_or_none(mobile)
    own: tuple[str, ...] = ()
    if e164 is not None:
        found = accounts.find_accounts_by_mobile(uow, e164)
        own = tuple(a.account_no for a in found if a.status != "perm_disconnected")
    return _Request(uow, e164, own, message_id, now, portal_url, check_reopen)


def _answer(request: _Request, command: commands.Command) -> tuple[str, Mapping[str, str | int], bool]:
    try:
        return _dispatch(request, command)
    except _Answer as answer:
        return answer.key, answer.variables, False
    except (UnknownAccount, MalformedAccountNumber) as error:
        given = getattr(error, "account_no", None) or getattr(error, "given", "")
        if given.isdigit() and len(given) <= MAX_VALUE:
            return "reply.unknown_account", {"account": given}, False
        return HELP, {}, False
    except UnknownComplaint as error:
        number = error.number if error.number.isalnum() and len(error.number) <= MAX_VALUE else "given"
        return "reply.unknown_complaint", {"number": number}, False
    except AccountClosed as error:
        return "reply.account_closed", {"account": error.account_no}, False
    except TooManyMobiles as error:
        return "reply.too_many_mobiles", {"account": error.account_no, "limit": error.limit}, False
    except CisError as error:
        log.info("sms inbound %s refused by cis: %s", request.message_id, type(error).__name__)
        return HELP, {}, False


def _dispatch(request: _Request, command: commands.Command) -> tuple[str, Mapping[str, str | int], bool]:
    match command:
        case commands.Bill(account=named):
            return _bill(request, _any_account(request, named, "BILL"))
        case commands.Pay(account=named):
            return _pay(request, _own_account(request, named, "PAY"))
        case commands.Complaint():
            return _complaint(request, command)
        case commands.Status(number=number):
            return _status(request, number)
        case commands.Outage(account=named):
            return _outage(request, _any_account(request, named, "OUTAGE"))
        case commands.Read(account=named, kwh=kwh):
            return _read(request, _own_account(request, named, "READ"), kwh)
        case commands.Calc():
            return _calc(request, command)
        case commands.Register(account=named):
            return _register(request, named)
        case commands.OtpReply(code=code):
            return _confirm(request, code)
        case commands.Stop():
            return _stop(request)
        case commands.Claim():
            return _claim(request)
        case commands.Start():
            return _start(request)
        case commands.CheckReply(answer=answer):
            return _check_reply(request, answer)
        case commands.Roster(account=named, on=on):
            return _roster(request, named, on)
        case commands.Help(command=topic) if topic in USAGE:
            return USAGE[topic], {}, False
        case _:
            return HELP, {}, False


# --- accounts --------------------------------------------------------------------------------------------


def _default_account(request: _Request, keyword: str) -> str:
    if not request.own:
        raise _Answer("reply.not_registered")
    if len(request.own) > 1:
        raise _Answer("reply.choose_account", {"count": len(request.own), "example": request.own[0]})
    return request.own[0]


def _any_account(request: _Request, named: str | None, keyword: str) -> str:
    return named if named is not None else _default_account(request, keyword)


def _own_account(request: _Request, named: str | None, keyword: str) -> str:
    if named is None:
        return _default_account(request, keyword)
    if named not in request.own:
        accounts.find_account(request.uow, named)  # an unknown number is told so, not asked to register
        raise _Answer("reply.not_registered")
    return named


# --- commands --------------------------------------------------------------------------------------------


def _bill(request: _Request, account_no: str) -> tuple[str, Mapping[str, str | int], bool]:
    summary = accounts.account_summary(request.uow, account_no)
    bill = summary.latest_bill
    if bill is None:
        return "reply.no_bill", {"account": summary.account.account_no}, False
    variables = {
        "account": summary.account.account_no,
        "cycle": cycle_text(bill.cycle),
        "amount": rupees(bill.amount_paise),
        "due": date_text(bill.due_date),
        "balance": rupees(summary.amount_due_paise),
    }
    # Nothing to pay: say so, rather than offer PAY.
    return ("reply.bill" if summary.amount_due_paise > 0 else "reply.bill_paid"), variables, False


def _pay(request: _Request, account_no: str) -> tuple[str, Mapping[str, str | int], bool]:
    try:
        receipt = payment_info.send_payment_info(
            request.uow,
            account_no,
            request.mobile,
            channel=CHANNEL,
            request_id=request.message_id,
            now=request.now,
            portal_url=request.portal_url,
        )
    except NothingDue:
        # Nothing to pay: the bill, and that nothing is due now (or that no bill is issued yet).
        return _bill(request, account_no)
    variables = {
        "account": account_no,
        "amount": rupees(receipt.amount_due_paise),
        "portal_url": request.portal_url,
        "token": receipt.token,
        "until": moment_text(receipt.until) if receipt.until else "",
    }
    return "payment.link", variables, True


def _complaint(request: _Request, command: commands.Complaint) -> tuple[str, Mapping[str, str | int], bool]:
    category = complaints.CATEGORIES.get(command.category)
    account_no: str | None
    if command.account is not None or category is None or category.needs_account:
        account_no = _own_account(request, command.account, "COMP")
    else:  # a hazard or theft may be reported by anyone; the sender's own account when there is exactly one
        account_no = request.own[0] if len(request.own) == 1 else None
    receipt = complaints.register_complaint(
        request.uow,
        complaints.RegisterComplaint(
            channel=CHANNEL,
            category=command.category,
            account_no=account_no,
            mobile=request.mobile,
            text=command.text,
            channel_request_id=request.message_id,
        ),
        now=request.now,
    )
    return _complaint_reply(request, receipt, account_no)


def _complaint_reply(
    request: _Request, receipt: complaints.ComplaintReceipt, account_no: str | None
) -> tuple[str, Mapping[str, str | int], bool]:
    """What the sender of a complaint reads: the acknowledgement the use case queued, or the open one's number."""
    if receipt.already_open and account_no is not None:
        # Nothing new was registered (and no acknowledgement queued): the reply names the open complaint.
        variables = {"number": receipt.number, "account": account_no, "due": moment_text(receipt.sla_due_at)}
        return "reply.complaint_exists", variables, False
    if receipt.outage is not None and account_no is not None:
        # The acknowledgement queued by the use case already says the outage and its ETR: this is that SMS.
        notice = receipt.outage
        outage_variables: dict[str, str | int] = {
            "number": receipt.number,
            "area": notice.feeder_name[:MAX_VALUE].strip() or "your area",
            "reason": complaints.OUTAGE_REASONS.get(notice.kind, "breakdown"),
        }
        restore = notice.expected_restore_at
        if restore is None or _aware(restore) <= request.now:  # a time already past is not promised again
            return "complaint.ack_outage_no_etr", outage_variables, True
        return "complaint.ack_outage", outage_variables | {"etr": moment_text(restore)}, True
    variables = {"number": receipt.number, "account": account_no or NO_ACCOUNT, "due": moment_text(receipt.sla_due_at)}
    return "complaint.ack", variables, True


def _status(request: _Request, number: str) -> tuple[str, Mapping[str, str | int], bool]:
    """Where a complaint stands, in what the consumer needs: when it is due, or when it was resolved."""
    status = complaints.complaint_status(request.uow, number)
    if status.status in ("resolved", "closed") and status.resolved_at is not None:
        resolved = {"number": status.number, "resolved": moment_text(status.resolved_at)}
        return f"reply.status_{status.status}", resolved, False
    due = moment_text(status.sla_due_at)
    officer = OFFICERS.get(status.escalation_level)
    if officer is not None:
        return "reply.status_escalated", {"number": status.number, "due": due, "officer": officer}, False
    registered = moment_text(status.registered_at)
    return "reply.status", {"number": status.number, "registered": registered, "due": due}, False


def _outage(request: _Request, account_no: str) -> tuple[str, Mapping[str, str | int], bool]:
    ref = accounts.find_account(request.uow, account_no)
    area = ref.feeder_name[:MAX_VALUE].strip() or "your area"
    notice = interruptions.active_interruption(request.uow, ref.account_no, request.now)
    if notice is None:
        return "reply.no_outage", {"area": area}, False
    variables: dict[str, str | int] = {"area": area, "reason": _OUTAGE_REASONS.get(notice.kind, "a fault")}
    restore = notice.expected_restore_at
    if restore is None:
        return "reply.outage_no_etr", variables, False
    if _aware(restore) <= request.now:  # a restoration time already past is not promised again (as the IVR does)
        return "reply.outage_delayed", variables, False
    return "reply.outage", variables | {"etr": moment_text(restore)}, False


def _read(request: _Request, account_no: str, kwh: int) -> tuple[str, Mapping[str, str | int], bool]:
    cmd = readings.SubmitReading(
        account_no=account_no,
        kwh=kwh,
        channel=CHANNEL,
        channel_request_id=request.message_id,
        mobile=request.mobile,
    )
    try:
        receipt = readings.submit_reading(request.uow, cmd, now=request.now)
    except ReadingBeforePrevious as error:
        return (
            "reply.reading_doubtful",
            {"reading": kwh_text(kwh), "account": account_no, "last": kwh_text(error.previous)},
            False,
        )
    except ReadingImplausible as error:
        variables = {
            "reading": kwh_text(kwh),
            "account": account_no,
            "per_day": units_text(error.implied_daily_units),
            "usual": units_text(error.usual_daily_units),
        }
        return "reply.reading_implausible", variables, False
    date = date_text(_aware(request.now).astimezone(IST).date())
    return "reply.reading", {"reading": kwh_text(receipt.kwh), "account": account_no, "date": date}, False


def _calc(request: _Request, command: commands.Calc) -> tuple[str, Mapping[str, str | int], bool]:
    today = _aware(request.now).astimezone(IST).date()
    quote = calculator.quote(command.category, command.load_kw, units=command.units, days=CALC_DAYS, on=today)
    variables = {
        "category": quote.category,
        "load": load_text(quote.load_kw),
        "units": kwh_text(quote.units),
        "amount": rupees(quote.charges.total_paise),
    }
    return "reply.calc", variables, False


def _register(request: _Request, account_no: str) -> tuple[str, Mapping[str, str | int], bool]:
    ref = accounts.find_account(request.uow, account_no)
    if ref.status == "perm_disconnected":
        raise AccountClosed(ref.account_no)
    if ref.account_no in request.own:
        return "reply.registered", {"account": ref.account_no}, False
    if request.mobile is None:  # only an Indian mobile can be linked
        return HELP, {}, False
    try:
        sent = otp.request_link_otp(
            request.uow, ref.account_no, request.mobile, via=CHANNEL, now=request.now, request_id=request.message_id
        )
    except NoMobileForAccount:
        return "reply.no_mobile_on_record", {"account": ref.account_no}, False
    except TooManyOtpRequests:
        return "reply.otp_later", {}, False
    variables: dict[str, str | int] = {
        "account": sent.account_no,
        "ending": sent.sent_to_ending,
        "minutes": otp.VALID_MINUTES,
    }
    return "reply.otp_sent", variables, False


def _confirm(request: _Request, code: str) -> tuple[str, Mapping[str, str | int], bool]:
    if request.mobile is None:
        return HELP, {}, False
    try:
        account_no = otp.confirm_link_otp(
            request.uow, request.mobile, code, via=CHANNEL, now=request.now, request_id=request.message_id
        )
    except NoPendingOtp:  # six digits out of the blue, or an OTP expired or used up: the command list
        return HELP, {}, False
    except WrongOtp as error:
        return "reply.otp_wrong", {"attempts": error.attempts_left}, False
    return "reply.registered", {"account": account_no}, False


def _claim(request: _Request) -> tuple[str, Mapping[str, str | int], bool]:
    """CLAIM: the compensation waiting on every account the sender's mobile is registered on is claimed."""
    total = 0
    for account_no in request.own:
        ref = accounts.find_account(request.uow, account_no)
        try:
            total += compensation.claim(request.uow, ref.id, via=CHANNEL, now=request.now)
        except compensation.NothingToClaim:
            continue
    if total == 0:
        return "reply.nothing_to_claim", {}, False
    return "reply.claimed", {"amount": rupees(total)}, False


def _stop(request: _Request) -> tuple[str, Mapping[str, str | int], bool]:
    # A sender that is no Indian mobile is never sent alerts, so there is nothing to record.
    if request.mobile is not None:
        optout.opt_out(request.uow, request.mobile, via=CHANNEL, message_ref=request.message_id, now=request.now)
    return "reply.opted_out", {}, False


def _start(request: _Request) -> tuple[str, Mapping[str, str | int], bool]:
    if request.mobile is not None:
        optout.opt_in(request.uow, request.mobile, via=CHANNEL, message_ref=request.message_id, now=request.now)
    return "reply.opted_in", {}, False


def _check_reply(request: _Request, answer: int) -> tuple[str, Mapping[str, str | int], bool]:
    """A 1 or 2 answers the closure question of a complaint this mobile was asked last ("reply 1 if fixed"), else
    the restoration check it was asked; from anyone else it means nothing."""
    if request.mobile is None:
        return HELP, {}, False
    closure = escalation.answer_by_sms(request.uow, request.mobile, answer, now=request.now)
    if closure is not None:
        if closure.closed:
            return "reply.complaint_confirmed", {"number": closure.number}, False
        reopened = {"number": closure.number, "officer": closure.officer, "due": moment_text(closure.sla_due_at)}
        return "reply.complaint_reopened", reopened, False
    told = feedback.answer_check(
        request.uow,
        request.mobile,
        answer,
        now=request.now,
        message_id=request.message_id,
        reopen_after=request.check_reopen,
    )
    if told is None:
        return HELP, {}, False
    if told.answer == 1:
        return "reply.check_thanks", {"area": told.area}, False
    if told.complaint is not None:
        # A 2 logs the consumer's own no-supply complaint: its acknowledgement (linked to the outage when enough
        # said 2 and it is live again) is the reply.
        return _complaint_reply(request, told.complaint, told.account_no)
    if told.live:
        return "reply.check_reopened", {"area": told.area}, False
    return "reply.no_outage", {"area": told.area}, False


def _roster(request: _Request, named: str | None, on: bool) -> tuple[str, Mapping[str, str | int], bool]:
    if request.mobile is None:  # only an Indian mobile can be sent the schedule
        return HELP, {}, False
    if not on and named is None:
        # ROSTER OFF stops whatever schedule this mobile gets, even one asked for with another's account number.
        held = roster.subscriptions(request.uow, request.mobile)
        for account_id, _ in held:
            roster.unsubscribe(request.uow, account_id, request.mobile, now=request.now)
        areas = {name[:MAX_VALUE].strip() for _, name in held}
        if held:
            return "reply.roster_off", {"area": areas.pop() if len(areas) == 1 else "your area"}, False
    ref = accounts.find_account(request.uow, _any_account(request, named, "ROSTER"))
    area = ref.feeder_name[:MAX_VALUE].strip() or "your area"
    account_id = ref.id
    if not on:
        roster.unsubscribe(request.uow, account_id, request.mobile, now=request.now)
        return "reply.roster_off", {"area": area}, False
    if ref.status == "perm_disconnected":
        raise AccountClosed(ref.account_no)
    roster.subscribe(request.uow, account_id, request.mobile, now=request.now)
    return "reply.roster_on", {"area": area}, False


# --- values as SMS shows them ----------------------------------------------------------------------------


def rupees(paise: int) -> str:
    """Paise as rupees in Indian digit grouping: 172750 -> '1,727.50', 12345600 -> '1,23,456.00'."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    return f"{sign}{_indian_grouping(whole)}.{fraction:02d}"


def kwh_text(value: int) -> str:
    """A whole number grouped the Indian way, so no long digit run looks like a phone number to scrubbing."""
    return ("-" if value < 0 else "") + _indian_grouping(abs(value))


def _indian_grouping(whole: int) -> str:
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    groups.insert(0, head)
    return ",".join([*groups, tail])


def units_text(units: Decimal) -> str:
    """Units a day as a consumer reads them: one decimal below 10 ('8.2', '8'), whole and grouped above ('1,234')."""
    if units < 10:
        tenths = units.quantize(Decimal("0.1"))
        return str(int(tenths)) if tenths == tenths.to_integral_value() else format(tenths, "f")
    return kwh_text(int(units.to_integral_value()))


def load_text(load_kw: Decimal) -> str:
    text = format(load_kw.normalize(), "f")
    return text[:MAX_VALUE]


def date_text(day: dt.date) -> str:
    """'15 Nov 2026'."""
    return f"{day.day} {day:%b %Y}"


def moment_text(moment: dt.datetime) -> str:
    """A time in India: '20 Nov 2026, 2:00 PM'."""
    local = _aware(moment).astimezone(IST)
    hour = local.hour % 12 or 12
    return f"{date_text(local.date())}, {hour}:{local:%M %p}"


def cycle_text(cycle: str) -> str:
    """A billing cycle '2026-10' as 'Oct 2026'; anything else as given."""
    try:
        return f"{dt.date.fromisoformat(cycle + '-01'):%b %Y}"
    except ValueError:
        return cycle[:MAX_VALUE]


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the CIS stores UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
