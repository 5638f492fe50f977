"""Plain functions that put CIS rows in place for a test, with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy.orm import Session

from cis import tariffs
from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Circle,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    FeederInterruption,
    IvrCall,
    Meter,
    Payment,
    Reading,
    Staff,
    SubDivision,
    Substation,
    Zone,
)

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
_serial = itertools.count(1)


def network(session: Session, *, kind: str = "urban") -> DistributionTransformer:
    """One chain zone > ... > feeder > DT, with a JE and an SDO on the sub-division."""
    n = next(_serial)
    zone = Zone(code=f"TZ{n}", name=f"Zone {n}")
    session.add(zone)
    session.flush()
    circle = Circle(zone_id=zone.id, code=f"TC{n}", name=f"Circle {n}")
    session.add(circle)
    session.flush()
    division = Division(circle_id=circle.id, code=f"TD{n}", name=f"Division {n}")
    session.add(division)
    session.flush()
    sub = SubDivision(division_id=division.id, code=f"TSD{n}", name=f"Sub-division {n}")
    session.add(sub)
    session.flush()
    substation = Substation(sub_division_id=sub.id, code=f"TSS{n}", name=f"33/11 kV Test {n}")
    session.add(substation)
    session.flush()
    feeder = Feeder(substation_id=substation.id, code=f"TF{n}", name=f"Test F-{n}", kind=kind)
    session.add(feeder)
    session.flush()
    dtr = DistributionTransformer(feeder_id=feeder.id, code=f"TDT{n}", name=f"Test DT {n}", capacity_kva=100)
    session.add(dtr)
    for role in ("je", "sdo"):
        session.add(
            Staff(
                username=f"{role}.test{n}",
                name=f"{role.upper()} {n}",
                role=role,
                scope_level="sub_division",
                scope_id=sub.id,
                password_hash="!",
                active=True,
                created_at=NOW,
            )
        )
    session.flush()
    return dtr


def account(
    session: Session,
    *,
    account_no: str | None = None,
    mobiles: tuple[str, ...] = (),
    status: str = "active",
    kind: str = "urban",
    category: str = "LMV-1U",
    dtr: DistributionTransformer | None = None,
    opt_out: bool = False,
    name: str = "Ramesh Verma",
) -> Account:
    """An account on its own feeder (or on `dtr`), with mobiles given in E.164."""
    n = next(_serial)
    dtr = dtr or network(session, kind=kind)
    consumer = Consumer(name=name, name_hi="रमेश वर्मा", preferred_language="hi")
    session.add(consumer)
    session.flush()
    acc = Account(
        account_no=account_no or f"{4_000_000_000 + n}",
        consumer_id=consumer.id,
        dt_id=dtr.id,
        category=category,
        sanctioned_load_kw=Decimal("2.00"),
        supply_type="LT-1PH",
        status=status,
        address="House 1, Block K, Kidwai Nagar, Kanpur 208011",
        pin_code="208011",
        connected_on=dt.date(2015, 4, 1),
        sms_opt_out=opt_out,
    )
    session.add(acc)
    session.flush()
    for e164 in mobiles:
        session.add(AccountMobile(account_id=acc.id, e164=e164, verified=True, added_via="office", added_at=NOW))
    session.flush()
    return acc


def bill(
    session: Session,
    acc: Account,
    *,
    cycle: str = "2026-10",
    amount_paise: int = 172_700,
    issued_at: dt.datetime = NOW - dt.timedelta(days=20),
    units: int = 240,
    version: int = 1,
    status: str = "issued",
) -> Bill:
    b = Bill(
        account_id=acc.id,
        cycle=cycle,
        version=version,
        period_start=dt.date(2026, 9, 15),
        period_end=dt.date(2026, 10, 15),
        previous_kwh=1000,
        current_kwh=1000 + units,
        units=units,
        basis="actual",
        category=acc.category,
        load_kw=acc.sanctioned_load_kw,
        energy_paise=amount_paise,
        fixed_paise=0,
        duty_paise=0,
        other_paise=0,
        arrears_paise=0,
        lps_paise=0,
        amount_paise=amount_paise,
        due_date=(issued_at + dt.timedelta(days=15)).date(),
        status=status,
        issued_at=issued_at,
    )
    session.add(b)
    session.flush()
    return b


def payment(
    session: Session,
    acc: Account,
    *,
    amount_paise: int,
    paid_at: dt.datetime,
    channel: str = "upi",
    ref: str | None = None,
) -> Payment:
    p = Payment(
        account_id=acc.id,
        amount_paise=amount_paise,
        channel=channel,
        gateway="sandbox",
        gateway_ref=ref,
        status="success",
        paid_at=paid_at,
        created_at=paid_at,
    )
    session.add(p)
    session.flush()
    return p


def feeder_of(session: Session, acc: Account) -> Feeder:
    """The feeder an account is supplied from."""
    dtr = session.get(DistributionTransformer, acc.dt_id)
    assert dtr is not None
    found = session.get(Feeder, dtr.feeder_id)
    assert found is not None
    return found


def sub_division_of(session: Session, acc: Account) -> int:
    """The id of the sub-division an account is supplied from."""
    substation = session.get(Substation, feeder_of(session, acc).substation_id)
    assert substation is not None
    return substation.sub_division_id


def meter(
    session: Session,
    acc: Account,
    *,
    number: str | None = None,
    installed_on: dt.date = dt.date(2015, 4, 1),
    removed_on: dt.date | None = None,
    status: str = "ok",
) -> Meter:
    m = Meter(
        account_id=acc.id,
        number=number or f"TM{next(_serial):08d}",
        make="Secure",
        installed_on=installed_on,
        removed_on=removed_on,
        status=status,
    )
    session.add(m)
    session.flush()
    return m


def reading(
    session: Session,
    acc: Account,
    m: Meter,
    *,
    read_on: dt.date,
    kwh: int,
    kind: str = "actual",
    source: str = "handheld",
    channel_request_id: str | None = None,
) -> Reading:
    r = Reading(
        account_id=acc.id,
        meter_id=m.id,
        read_on=read_on,
        kwh=kwh,
        kind=kind,
        source=source,
        channel_request_id=channel_request_id,
        created_at=dt.datetime(read_on.year, read_on.month, read_on.day, 6, 0, tzinfo=dt.UTC),
    )
    session.add(r)
    session.flush()
    return r


def monthly_readings(
    session: Session,
    acc: Account,
    m: Meter,
    *,
    last_read_on: dt.date,
    last_kwh: int,
    daily_units: int,
    months: int = 12,
    register: int = 1_000_000,
) -> list[Reading]:
    """Meter reader's readings every 30 days up to `last_read_on`, the account using `daily_units` a day."""
    rows = []
    for back in range(months, -1, -1):
        kwh = (last_kwh - back * 30 * daily_units) % register
        rows.append(reading(session, acc, m, read_on=last_read_on - dt.timedelta(days=30 * back), kwh=kwh))
    return rows


def priced_bill(
    session: Session,
    acc: Account,
    *,
    cycle: str,
    units: int,
    basis: str = "actual",
    period_days: int = 30,
    arrears_paise: int = 0,
    lps_paise: int = 0,
    version: int = 1,
    status: str = "issued",
) -> Bill:
    """A bill for `cycle` charged as the billing run would (schedule in force, telescoping slabs).

    Its period ends on the 15th of the cycle's month and runs `period_days` days; it is due 15 days
    after it was issued, on the 16th.
    """
    period_end = dt.date(int(cycle[:4]), int(cycle[5:7]), 15)
    period_start = period_end - dt.timedelta(days=period_days)
    tariff = tariffs.category(tariffs.schedule_on(tariffs.load_schedules(), period_end), acc.category)
    charges = tariffs.calculate(tariff, load_kw=acc.sanctioned_load_kw, units=units, days=period_days)
    issued_at = dt.datetime(period_end.year, period_end.month, 16, 6, 0, tzinfo=dt.UTC)
    b = Bill(
        account_id=acc.id,
        cycle=cycle,
        version=version,
        period_start=period_start,
        period_end=period_end,
        previous_kwh=10_000,
        current_kwh=10_000 + units,
        units=units,
        basis=basis,
        category=acc.category,
        load_kw=acc.sanctioned_load_kw,
        energy_paise=charges.energy_paise,
        fixed_paise=charges.fixed_paise,
        duty_paise=charges.duty_paise,
        other_paise=charges.minimum_topup_paise + charges.rounding_paise,
        arrears_paise=arrears_paise,
        lps_paise=lps_paise,
        amount_paise=charges.total_paise + arrears_paise + lps_paise,
        due_date=(issued_at + dt.timedelta(days=15)).date(),
        status=status,
        issued_at=issued_at,
    )
    session.add(b)
    session.flush()
    return b


def interruption(
    session: Session,
    feeder: Feeder,
    *,
    kind: str = "breakdown",
    started_at: dt.datetime = NOW - dt.timedelta(hours=1),
    expected_restore_at: dt.datetime | None = None,
    restored_at: dt.datetime | None = None,
    cancelled_at: dt.datetime | None = None,
    reason: str | None = None,
) -> FeederInterruption:
    row = FeederInterruption(
        feeder_id=feeder.id,
        kind=kind,
        started_at=started_at,
        expected_restore_at=expected_restore_at,
        restored_at=restored_at,
        cancelled_at=cancelled_at,
        reason=reason,
        created_at=min(started_at, NOW),
    )
    session.add(row)
    session.flush()
    return row


def call(
    session: Session,
    *,
    channel: str = "asterisk",
    call_ref: str | None = None,
    caller: str = "+919876543210",
    started_at: dt.datetime = NOW,
    acc: Account | None = None,
    outcome: str | None = None,
    duration_s: int | None = None,
    direction: str = "inbound",
) -> IvrCall:
    """A call record; with `duration_s` it is closed that many seconds after it started."""
    row = IvrCall(
        channel=channel,
        call_ref=call_ref or f"{1_763_600_000 + next(_serial)}.1",
        direction=direction,
        caller=caller,
        account_id=acc.id if acc else None,
        path=[],
        outcome=outcome,
        started_at=started_at,
        ended_at=None if duration_s is None else started_at + dt.timedelta(seconds=duration_s),
        duration_s=duration_s,
    )
    session.add(row)
    session.flush()
    return row
