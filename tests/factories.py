"""Plain functions that put CIS rows in place for a test, with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy.orm import Session

from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Circle,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    Payment,
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
