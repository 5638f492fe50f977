"""Meter readings sent in by consumers: checked against the account's usual use, kept for the next bill."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit
from cis.billing import ASSESSMENT_LOAD_FACTOR
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    MalformedReading,
    NoMeterOnAccount,
    ReadingBeforePrevious,
    ReadingImplausible,
    UnknownAccount,
    UnknownChannel,
)
from cis.models import Account, Bill, Meter, Reading
from cis.numbers import parse_account_no
from cis.phones import mobile_or_none

IST = ZoneInfo("Asia/Kolkata")
CHANNELS = ("ivr", "ussd", "sms", "portal", "app", "console")
REGISTER = 10**6  # meters have 6-digit registers that roll over to 000000
# A reading implying more than this many times the usual daily use is most likely misread or mistyped.
IMPLAUSIBLE_FACTOR = 4
# Below this usual daily use (a closed house, a lifeline consumer) the factor alone would refuse a normal month.
FLOOR_DAILY_UNITS = Decimal(3)
HISTORY_DAYS = 365
MIN_HISTORY_DAYS = 25  # less than about a billing cycle of history says little about usual use
COUNTED_KINDS = ("actual", "consumer")  # estimated and assessed figures are the CIS's own, not the register
MAX_REQUEST_ID = 80
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class SubmitReading:
    """A reading of the account's meter as a consumer sent it; `channel_request_id` makes a retry harmless."""

    account_no: str
    kwh: int
    channel: str
    channel_request_id: str | None = None
    mobile: str | None = None  # who sent it, kept in the audit row when it is a valid mobile


@dataclass(frozen=True)
class ReadingReceipt:
    """What the consumer is told back: the reading taken and how it compares with the last one."""

    kwh: int
    units_since_last: int | None  # None for the meter's first reading
    last_kwh: int | None
    last_read_on: dt.date | None
    usual_daily_units: Decimal | None  # over the last year, to 0.1 unit; None without enough history


@dataclass(frozen=True)
class _Last:
    kwh: int
    read_on: dt.date


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def _not_consumer_of(day: dt.date) -> ColumnElement[bool]:
    # The consumer's own reading of the day is what a new one replaces (or the one being explained).
    return not_(and_(Reading.kind == "consumer", Reading.read_on == day))


def _last(session: Session, account_id: int, meter_id: int, day: dt.date) -> _Last | None:
    # By account as well as meter: the (account_id, read_on) index finds the rows; there is none on meter_id.
    row = session.execute(
        select(Reading.kwh, Reading.read_on)
        .where(
            Reading.account_id == account_id,
            Reading.meter_id == meter_id,
            Reading.kind.in_(COUNTED_KINDS),
            Reading.read_on <= day,
            _not_consumer_of(day),
        )
        .order_by(Reading.read_on.desc(), Reading.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _Last(row.kwh, row.read_on)


def _usual_daily(session: Session, account_id: int, meter_id: int, day: dt.date) -> Decimal | None:
    """Average units a day over the last year: from the meter's readings, else from actual bills."""
    since = day - dt.timedelta(days=HISTORY_DAYS)
    rows = session.execute(
        select(Reading.kwh, Reading.read_on)
        .where(
            Reading.account_id == account_id,
            Reading.meter_id == meter_id,
            Reading.kind.in_(COUNTED_KINDS),
            Reading.read_on.between(since, day),
            _not_consumer_of(day),
        )
        .order_by(Reading.read_on, Reading.id)
    ).all()
    units = days = 0
    for before, after in itertools.pairwise(rows):
        gap = (after.read_on - before.read_on).days
        used = (after.kwh - before.kwh) % REGISTER
        if gap <= 0 or used >= REGISTER // 2:
            continue  # a second reading of one day, or a pair going backwards: no measure of use
        units += used
        days += gap
    if days < MIN_HISTORY_DAYS:
        units = days = 0
        for billed, start, end in session.execute(
            select(Bill.units, Bill.period_start, Bill.period_end).where(
                Bill.account_id == account_id,
                Bill.status != "superseded",
                Bill.basis == "actual",
                Bill.period_end.between(since, day),
            )
        ):
            if (end - start).days > 0:
                units += billed
                days += (end - start).days
    if days < MIN_HISTORY_DAYS:
        return None
    return _tenth(Decimal(units) / days)


def _norm_daily(account: Account) -> Decimal:
    """Without history, the assessment norm: sanctioned load x 24 hours x the category's load factor."""
    factor = Decimal(str(ASSESSMENT_LOAD_FACTOR.get(account.category, 0.15)))
    return _tenth(Decimal(account.sanctioned_load_kw) * 24 * factor)


def _current_meter(session: Session, account_id: int) -> Meter | None:
    return session.scalars(
        select(Meter)
        .where(Meter.account_id == account_id, Meter.removed_on.is_(None))
        .order_by(Meter.installed_on.desc(), Meter.id.desc())
        .limit(1)
    ).first()


def _receipt(kwh: int, last: _Last | None, usual: Decimal | None) -> ReadingReceipt:
    if last is None:
        return ReadingReceipt(kwh, None, None, None, usual)
    return ReadingReceipt(kwh, (kwh - last.kwh) % REGISTER, last.kwh, last.read_on, usual)


def submit_reading(uow: UnitOfWork, cmd: SubmitReading, *, now: dt.datetime | None = None) -> ReadingReceipt:
    """Keep a consumer's reading of their meter for the next bill, committed before the receipt returns.

    The reading is dated today in India and stored as kind 'consumer' with the channel as source; a
    second one for the account on the same day replaces the first. The same (channel,
    channel_request_id) twice gives the first receipt back and changes nothing. Each stored reading
    writes an audit row.

    Refused before anything is written: UnknownChannel, MalformedAccountNumber, MalformedReading
    (not 0-999999), UnknownAccount, AccountClosed (permanently disconnected), NoMeterOnAccount;
    ReadingBeforePrevious when below the last reading (actual or consumer's) of the current meter,
    unless the register rolled over past 999999 and the use that implies is plausible;
    ReadingImplausible when the units a day since the last reading exceed 4 times the usual daily use
    of the last year (at least 3 units a day; without a year's history, the assessment norm of
    sanctioned load x 24 h x the category's load factor stands for the usual use).
    """
    if cmd.channel not in CHANNELS:
        raise UnknownChannel(cmd.channel)
    account_no = parse_account_no(cmd.account_no)
    kwh = cmd.kwh
    if type(kwh) is not int or not 0 <= kwh < REGISTER:
        raise MalformedReading(kwh)
    request_id = (cmd.channel_request_id or "").strip() or None
    if request_id is not None and len(request_id) > MAX_REQUEST_ID:
        raise ValueError(f"a channel request id has at most {MAX_REQUEST_ID} characters")
    mobile = mobile_or_none(cmd.mobile)
    at = now or audit.utcnow()
    day = at.astimezone(IST).date()

    for attempt in range(2):
        with uow:
            session = uow.session
            if request_id is not None:
                stored = session.scalar(
                    select(Reading).where(Reading.source == cmd.channel, Reading.channel_request_id == request_id)
                )
                if stored is not None:
                    return _receipt(
                        stored.kwh,
                        _last(session, stored.account_id, stored.meter_id, stored.read_on),
                        _usual_daily(session, stored.account_id, stored.meter_id, stored.read_on),
                    )
            account = session.scalar(select(Account).where(Account.account_no == account_no))
            if account is None:
                raise UnknownAccount(account_no)
            if account.status == "perm_disconnected":
                raise AccountClosed(account_no)
            meter = _current_meter(session, account.id)
            if meter is None:
                raise NoMeterOnAccount(account_no)
            last = _last(session, account.id, meter.id, day)
            usual = _usual_daily(session, account.id, meter.id, day)
            if last is not None:
                rolled = kwh < last.kwh
                units = (kwh - last.kwh) % REGISTER
                days = max(1, (day - last.read_on).days)
                measure = usual if usual is not None else _norm_daily(account)
                limit = max(measure, FLOOR_DAILY_UNITS) * IMPLAUSIBLE_FACTOR
                implausible = Decimal(units) / days > limit
                if rolled and (implausible or units >= REGISTER // 2):
                    raise ReadingBeforePrevious(last.kwh, kwh)
                if implausible:
                    raise ReadingImplausible(kwh, measure, _tenth(Decimal(units) / days))
            today = session.scalar(
                select(Reading).where(
                    Reading.account_id == account.id, Reading.read_on == day, Reading.kind == "consumer"
                )
            )
            replaced = None if today is None else today.kwh
            if today is None:
                today = Reading(account_id=account.id, read_on=day, kind="consumer")
                session.add(today)
            today.meter_id = meter.id
            today.kwh = kwh
            today.source = cmd.channel
            today.channel_request_id = request_id
            today.created_at = at
            try:
                session.flush()
            except IntegrityError:
                # A concurrent submission (this request's retry, or another of today's) got in first:
                # look again, and the retry returns its receipt or replaces its reading.
                uow.rollback()
                if attempt:
                    raise
                continue
            audit.record(
                session,
                actor=f"channel:{cmd.channel}",
                action="reading.replaced" if replaced is not None else "reading.submitted",
                entity="account",
                entity_id=account_no,
                at=at,
                kwh=kwh,
                read_on=day.isoformat(),
                meter=meter.number,
                replaced_kwh=replaced,
                mobile=mobile,
                channel_request_id=request_id,
            )
            uow.commit()
            return _receipt(kwh, last, usual)
    raise AssertionError("unreachable")  # pragma: no cover
