"""Counter collection: a cashier of a sub-division office takes cash, a cheque or a demand draft.

Each collection is posted through the same posting as a gateway's (so once: the counter form's own id is the key,
and a form sent twice is one payment), with the receipt SMS, the audit row and the receipt number the printed
receipt carries. A bounced cheque or DD reverses its payment (audit row, SMS, the bill unpaid again). The cash book
is a cashier's day: every collection, the reversed ones marked, and the totals by mode that go to the bank.

Cash of Rs 2,00,000 or more in one payment is refused: the Income-tax Act (section 269ST) forbids receiving it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from cis import audit
from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, CisError, UnknownAccount
from cis.models import Account, Payment, Staff
from cis.numbers import parse_account_no, receipt_no_for_id
from cis.payments.intents import MAX_PAISE, MIN_PAISE, open_intent
from cis.payments.posting import GatewayPayment, post_gateway_payment, reverse_payment
from cis.scopes import account_sub_division, covered_sub_divisions

GATEWAY = "counter"
MODES = ("cash", "cheque", "dd")
CASHIER_ROLES = ("cashier", "admin")
CASH_LIMIT_PAISE = 2_00_000_00  # Rs 2 lakh: section 269ST
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
INSTRUMENT = re.compile(r"[0-9]{6,12}")  # a cheque's 6-digit number, a DD's up to 12


class NotACashier(CisError):
    """The staff member may not collect at a counter (role) or is not active."""

    def __init__(self) -> None:
        super().__init__("Only an active cashier may collect payments at the counter.")


class MissingInstrument(CisError):
    """A cheque or DD without its number or bank."""

    def __init__(self, mode: str) -> None:
        super().__init__(f"A {mode} needs its number (6 to 12 digits) and the bank it is drawn on.")


class NotBounceable(CisError):
    """Only a cheque or DD taken at the counter, not yet reversed, can bounce."""

    def __init__(self) -> None:
        super().__init__("Only a cheque or demand draft taken at the counter, not reversed already, can bounce.")


@dataclass(frozen=True)
class CounterReceipt:
    receipt_no: str
    payment_id: int
    account_no: str
    amount_paise: int
    mode: str
    duplicate: bool


@dataclass(frozen=True)
class CashBookLine:
    payment_id: int
    receipt_no: str
    paid_at: dt.datetime
    account_no: str
    mode: str
    instrument: str | None
    amount_paise: int
    reversed: bool


@dataclass
class CashBook:
    day: dt.date
    lines: list[CashBookLine] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # mode -> paise, reversed ones left out

    @property
    def total_paise(self) -> int:
        return sum(self.totals.values())


def _cashier(session: object, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)  # type: ignore[attr-defined]
    if staff is None or not staff.active or staff.role not in CASHIER_ROLES:
        raise NotACashier()
    return staff  # type: ignore[no-any-return]


def collect(
    uow: UnitOfWork,
    staff_id: int,
    raw_account_no: str,
    amount_paise: int,
    *,
    mode: str,
    form_id: str,
    instrument_no: str | None = None,
    instrument_bank: str | None = None,
    now: dt.datetime | None = None,
) -> CounterReceipt:
    """Take a payment at the counter of the cashier's sub-division; the same `form_id` again is the same payment.

    Raises NotACashier, MalformedAccountNumber, UnknownAccount (also for an account outside the cashier's area),
    AmountOutOfRange (cash of Rs 2 lakh or more, or outside Rs 1 to Rs 5 lakh), MissingInstrument, ValueError
    (an unknown mode, or a form id of other than 8 to 64 letters and digits)."""
    if mode not in MODES:
        raise ValueError(f"a counter payment is one of {', '.join(MODES)}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", form_id or ""):
        raise ValueError("the counter form's id has 8 to 64 letters, digits, dashes or underscores")
    number = parse_account_no(raw_account_no)
    at = now or audit.utcnow()
    number_given = (instrument_no or "").strip()
    bank = " ".join((instrument_bank or "").split())[:60]
    if mode != "cash" and (not INSTRUMENT.fullmatch(number_given) or not bank):
        raise MissingInstrument(mode)
    high = min(MAX_PAISE, CASH_LIMIT_PAISE - 1) if mode == "cash" else MAX_PAISE
    if not MIN_PAISE <= amount_paise <= high:
        raise AmountOutOfRange(amount_paise, MIN_PAISE, high)
    with uow.reading():
        session = uow.session
        staff = _cashier(session, staff_id)
        account_id = session.scalar(select(Account.id).where(Account.account_no == number))
        covered = covered_sub_divisions(session, staff.scope_level, staff.scope_id)
        if account_id is None or (covered is not None and account_sub_division(session, account_id) not in covered):
            raise UnknownAccount(number)
    gateway_ref = f"{GATEWAY}:{staff_id}:{form_id}"
    first = _collected(uow, gateway_ref)
    if first is not None:
        return first
    intent = open_intent(uow, number, channel="counter", amount_paise=amount_paise, now=at)
    posted = post_gateway_payment(
        uow,
        GatewayPayment(
            GATEWAY,
            gateway_ref,
            intent.token,
            None,
            amount_paise,
            mode,
            at,
            instrument_no=number_given or None,
            instrument_bank=bank or None,
            collected_by=staff_id,
        ),
        now=at,
    )
    found = _collected(uow, gateway_ref)
    if found is None:
        raise RuntimeError(f"the counter payment {gateway_ref} was posted but cannot be found")
    return CounterReceipt(found.receipt_no, found.payment_id, number, amount_paise, mode, posted.duplicate)


def bounce(uow: UnitOfWork, staff_id: int, payment_id: int, *, reason: str, now: dt.datetime | None = None) -> str:
    """A cheque or DD taken at the counter came back unpaid: its payment is reversed (audit row, SMS, the bill
    unpaid again). Returns the receipt number reversed. Raises NotACashier or NotBounceable."""
    words = " ".join((reason or "").split())[:120] or "returned unpaid by the bank"
    with uow.reading():
        session = uow.session
        staff = _cashier(session, staff_id)
        row = session.execute(
            select(Payment.gateway_ref, Payment.method, Payment.status, Payment.account_id).where(
                Payment.id == payment_id, Payment.gateway == GATEWAY
            )
        ).first()
        covered = covered_sub_divisions(session, staff.scope_level, staff.scope_id)
        in_area = row is not None and (covered is None or account_sub_division(session, row.account_id) in covered)
        username = staff.username
    if row is None or not in_area or row.method not in ("cheque", "dd") or row.status != "success":
        raise NotBounceable()
    reversed_no = reverse_payment(
        uow, str(row.gateway_ref), reason=f"{row.method} bounced: {words}", actor=f"staff:{username}",
        status="reversed", now=now,
    )  # fmt: skip
    if reversed_no is None:
        raise NotBounceable()
    return reversed_no


def cash_book(uow: UnitOfWork, staff_id: int, day: dt.date) -> CashBook:
    """The cashier's collections on `day` (India's), in the order taken, and the totals by mode to bank."""
    start = dt.datetime.combine(day, dt.time(), IST)
    book = CashBook(day)
    with uow.reading():
        session = uow.session
        _cashier(session, staff_id)
        rows = session.execute(
            select(
                Payment.id,
                Payment.paid_at,
                Account.account_no,
                Payment.method,
                Payment.instrument_no,
                Payment.instrument_bank,
                Payment.amount_paise,
                Payment.status,
            )
            .join(Account, Account.id == Payment.account_id)
            .where(
                Payment.gateway == GATEWAY,
                Payment.collected_by == staff_id,
                Payment.paid_at >= start,
                Payment.paid_at < start + dt.timedelta(days=1),
            )
            .order_by(Payment.paid_at, Payment.id)
        )
        for pid, paid_at, account_no, mode, number, bank, amount, status in rows:
            reversed_ = status != "success"
            book.lines.append(
                CashBookLine(
                    pid,
                    receipt_no_for_id(pid),
                    paid_at,
                    account_no,
                    mode or "cash",
                    f"{number} {bank}" if number else None,
                    int(amount),
                    reversed_,
                )
            )
            if not reversed_:
                book.totals[mode or "cash"] = book.totals.get(mode or "cash", 0) + int(amount)
    return book


def _collected(uow: UnitOfWork, gateway_ref: str) -> CounterReceipt | None:
    with uow.reading():
        row = uow.session.execute(
            select(Payment.id, Account.account_no, Payment.amount_paise, Payment.method)
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.gateway_ref == gateway_ref)
        ).first()
    if row is None:
        return None
    return CounterReceipt(receipt_no_for_id(row.id), row.id, row.account_no, row.amount_paise, row.method, True)
