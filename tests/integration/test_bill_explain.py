"""Bill explanation against a real database: the latest bill compared, its basis, the slab it reached."""

from __future__ import annotations

import copy
import datetime as dt
import secrets

import pytest
from sqlalchemy.orm import Session

from cis import tariffs
from cis.bill_explain import BillExplanation, SlabReached, explain_bill
from cis.db import UnitOfWork
from cis.errors import MalformedAccountNumber, UnknownAccount
from cis.models import TariffSchedule
from tests import factories

NOW = factories.NOW


def test_the_latest_bill_is_explained_against_last_month_and_the_same_month_last_year(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session, account_no="4910000001")
    factories.priced_bill(session, acc, cycle="2025-10", units=190)
    factories.priced_bill(session, acc, cycle="2026-09", units=210, status="paid")
    factories.priced_bill(
        session, acc, cycle="2026-10", units=240, basis="estimated", arrears_paise=50_000, lps_paise=625
    )
    session.commit()

    explanation = explain_bill(uow, "4910000001")

    assert explanation == BillExplanation(
        cycle="2026-10",
        units=240,
        amount_paise=166_400 + 50_000 + 625,  # this month's charges in whole rupees, arrears, surcharge
        due_date=dt.date(2026, 10, 31),
        basis="estimated",
        units_same_month_last_year=190,
        units_last_bill=210,
        arrears_paise=50_000,
        lps_paise=625,
        slab=SlabReached(index=2, lower_units=151, upper_units=300, paise_per_unit=600),
        energy_paise=150 * 550 + 90 * 600,
        fixed_paise=2 * 11_000,
        duty_paise=7_925,  # 5% of energy and fixed charges
    )


def test_a_revised_bill_is_explained_rather_than_the_one_it_superseded(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4910000002")
    factories.priced_bill(session, acc, cycle="2026-10", units=900, basis="assessed", status="superseded")
    factories.priced_bill(session, acc, cycle="2026-10", units=120, version=2)
    session.commit()

    explanation = explain_bill(uow, "4910000002")

    assert explanation is not None
    assert (explanation.units, explanation.basis) == (120, "actual")
    assert (explanation.units_last_bill, explanation.units_same_month_last_year) == (None, None)


@pytest.mark.parametrize(
    ("units", "days", "slab"),
    [
        pytest.param(0, 30, SlabReached(1, 0, 150, 550), id="nothing-used"),
        pytest.param(150, 30, SlabReached(1, 0, 150, 550), id="at-the-first-limit"),
        pytest.param(151, 30, SlabReached(2, 151, 300, 600), id="one-unit-over"),
        pytest.param(301, 30, SlabReached(3, 301, None, 650), id="the-last-slab-has-no-bound"),
        pytest.param(153, 31, SlabReached(1, 0, 155, 550), id="a-31-day-bill-has-longer-slabs"),
    ],
)
def test_the_slab_reached_is_the_one_the_units_end_in_for_the_bills_period(
    uow: UnitOfWork, session: Session, units: int, days: int, slab: SlabReached
) -> None:
    acc = factories.account(session)
    factories.priced_bill(session, acc, cycle="2026-10", units=units, period_days=days)
    session.commit()

    explanation = explain_bill(uow, acc.account_no)

    assert explanation is not None
    assert explanation.slab == slab


def test_the_slab_comes_from_the_schedule_stored_with_the_bill(uow: UnitOfWork, session: Session) -> None:
    data = copy.deepcopy(tariffs.schedule_file_data()["schedules"][-1])
    data["code"] = f"TEST-{secrets.token_hex(4)}"
    data["categories"]["LMV-1U"]["slabs"] = [[100, 500], [None, 700]]
    stored = TariffSchedule(
        code=data["code"], effective_from=dt.date(2026, 4, 1), source="test", data=data, loaded_at=NOW
    )
    session.add(stored)
    acc = factories.account(session)
    bill = factories.priced_bill(session, acc, cycle="2026-10", units=120)
    bill.tariff_schedule_id = stored.id
    session.commit()

    explanation = explain_bill(uow, acc.account_no)

    assert explanation is not None
    assert explanation.slab == SlabReached(2, 101, None, 700)


def test_a_bill_whose_tariff_cannot_be_found_is_explained_without_a_slab(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, category="LMV-9")
    factories.bill(session, acc, cycle="2026-10", units=80)
    session.commit()

    explanation = explain_bill(uow, acc.account_no)

    assert explanation is not None
    assert (explanation.units, explanation.slab) == (80, None)


def test_an_account_without_a_bill_has_no_explanation(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4910000003")
    session.commit()

    assert explain_bill(uow, "4910000003") is None


def test_an_account_not_on_record_or_malformed_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownAccount):
        explain_bill(uow, "4919999999")
    with pytest.raises(MalformedAccountNumber):
        explain_bill(uow, "49 1")
