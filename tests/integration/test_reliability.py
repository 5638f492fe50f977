"""SAIFI, SAIDI and CAIDI on a hand-built network, checked against figures worked out by hand; and their page.

The network: division D with feeders A (400 active accounts, and 3 disconnected ones that are not served)
and B (100 active accounts), and another division with feeder C. In October 2026 (IST):

- A: a 90-minute breakdown that cut 100 of its 400 customers;
- A: a 3-minute trip of all 400 (momentary: left out);
- A: a breakdown of all 400 from 31 Oct 23:00 to 1 Nov 01:00 IST: counted in October, 60 minutes in each
  month (in UTC the whole of it lies in October: only the IST month splits it);
- B: a planned 120-minute shutdown, its customer count not recorded (B's 100 stand in);
- B: a 3-hour roster slot (load-shedding: not in the indices, 3.0 roster hours);
- A: a cancelled shutdown, a breakdown still live, and one in September: none of them count.

October, by hand: A: 2 interruptions, 100 + 400 = 500 customers interrupted, 100x90 + 400x60 = 33,000
customer-minutes; SAIFI 500/400 = 1.25, SAIDI 33,000/400 = 82.5, CAIDI 82.5/1.25 = 66.
B: 1 (planned), 100, 12,000; SAIFI 1, SAIDI 120, CAIDI 120.
D: 600/500 = 1.2, 45,000/500 = 90, CAIDI 75.
November: A has no interruption beginning but 400x60 = 24,000 customer-minutes: SAIFI 0, SAIDI 60, no CAIDI.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from cis.models import Account, Consumer, DistributionTransformer, Division, Feeder, FeederInterruption
from cis.web.site import install_site
from outage.errors import InvalidMonth, UnknownDivision
from outage.events import feeders_of
from outage.reliability import FeederIndices, Report, division_id_of, format_report, reliability
from outage.reliability_web import reliability_blueprint
from tests import factories

IST = ZoneInfo("Asia/Kolkata")
CLOCK = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)  # 1 Nov 01:30 in India


def ist(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=IST).astimezone(dt.UTC)


@dataclass
class Network:
    division: Division
    a: Feeder
    b: Feeder
    c: Feeder


def _accounts(session: Session, dtr: DistributionTransformer, count: int, status: str = "active") -> None:
    consumers = [Consumer(name=f"Consumer {n}", preferred_language="hi") for n in range(count)]
    session.add_all(consumers)
    session.flush()
    first = 7_000_000_000 + dtr.id * 1000 + (500 if status != "active" else 0)
    session.add_all(
        Account(
            account_no=f"{first + n}",
            consumer_id=c.id,
            dt_id=dtr.id,
            category="LMV-1U",
            sanctioned_load_kw=Decimal("2.00"),
            supply_type="LT-1PH",
            status=status,
            address="Kidwai Nagar, Kanpur",
            connected_on=dt.date(2015, 4, 1),
        )
        for n, c in enumerate(consumers)
    )
    session.flush()


def _second_feeder(session: Session, a: Feeder, code: str) -> tuple[Feeder, DistributionTransformer]:
    feeder = Feeder(substation_id=a.substation_id, code=code, name=f"Feeder {code}", kind="urban")
    session.add(feeder)
    session.flush()
    dtr = DistributionTransformer(feeder_id=feeder.id, code=f"DT{code}", name=f"DT {code}", capacity_kva=250)
    session.add(dtr)
    session.flush()
    return feeder, dtr


def _off(
    session: Session,
    feeder: Feeder,
    kind: str,
    started: dt.datetime,
    restored: dt.datetime | None,
    consumers: int | None,
    *,
    cancelled: dt.datetime | None = None,
) -> None:
    session.add(
        FeederInterruption(
            feeder_id=feeder.id,
            kind=kind,
            started_at=started,
            expected_restore_at=restored,
            restored_at=restored,
            cancelled_at=cancelled,
            consumers=consumers,
            created_at=started,
        )
    )


@pytest.fixture
def net(session: Session) -> Network:
    dtr_a = factories.network(session)
    a = session.get(Feeder, dtr_a.feeder_id)
    assert a is not None
    b, dtr_b = _second_feeder(session, a, f"RB{a.id}")
    _accounts(session, dtr_a, 400)
    _accounts(session, dtr_a, 3, status="temp_disconnected")
    _accounts(session, dtr_b, 100)
    c = factories.feeder_of(session, factories.account(session))
    division = session.get(Division, feeders_of(session, [a.id], None)[0][2])
    assert division is not None

    _off(session, a, "breakdown", ist(2026, 10, 5, 10, 0), ist(2026, 10, 5, 11, 30), 100)
    _off(session, a, "breakdown", ist(2026, 10, 6, 10, 0), ist(2026, 10, 6, 10, 3), 400)
    _off(session, a, "breakdown", ist(2026, 10, 31, 23, 0), ist(2026, 11, 1, 1, 0), 400)
    _off(session, b, "shutdown", ist(2026, 10, 12, 9, 0), ist(2026, 10, 12, 11, 0), None)
    _off(session, b, "roster", ist(2026, 10, 14, 2, 0), ist(2026, 10, 14, 5, 0), 100)
    _off(session, a, "shutdown", ist(2026, 10, 20, 9, 0), None, 400, cancelled=ist(2026, 10, 19, 18, 0))
    _off(session, a, "breakdown", ist(2026, 10, 25, 9, 0), None, 400)
    _off(session, a, "breakdown", ist(2026, 9, 25, 9, 0), ist(2026, 9, 25, 12, 0), 400)
    _off(session, c, "breakdown", ist(2026, 10, 7, 9, 0), ist(2026, 10, 7, 10, 0), 1)
    session.commit()
    return Network(division, a, b, c)


def _feeder(report: Report, feeder: Feeder) -> FeederIndices:
    return next(f for f in report.feeders if f.feeder_id == feeder.id)


def test_feeder_indices_match_the_hand_worked_figures(session: Session, net: Network) -> None:
    report = reliability(session, "2026-10", division_id=net.division.id)

    a, b = _feeder(report, net.a), _feeder(report, net.b)
    assert (a.served, a.interruptions, a.planned_interruptions, a.customers_interrupted) == (400, 2, 0, 500)
    assert a.customer_minutes == 33_000
    assert (a.saifi, a.saidi, a.caidi) == (pytest.approx(1.25), pytest.approx(82.5), pytest.approx(66.0))
    assert a.roster_hours == 0
    assert (b.served, b.interruptions, b.planned_interruptions, b.customers_interrupted) == (100, 1, 1, 100)
    assert (b.customer_minutes, b.planned_customer_minutes) == (12_000, 12_000)
    assert (b.saifi, b.saidi, b.caidi) == (pytest.approx(1.0), pytest.approx(120.0), pytest.approx(120.0))
    assert b.roster_hours == pytest.approx(3.0)


def test_division_sums_its_feeders_and_shows_the_planned_share(session: Session, net: Network) -> None:
    report = reliability(session, "2026-10", division_id=net.division.id)

    assert [d.division_code for d in report.divisions] == [net.division.code]
    d = report.divisions[0]
    assert (d.feeders, d.served, d.customers_interrupted, d.customer_minutes) == (2, 500, 600, 45_000)
    assert (d.interruptions, d.planned_interruptions, d.unplanned_interruptions) == (3, 1, 2)
    assert (d.planned_customers_interrupted, d.planned_customer_minutes) == (100, 12_000)
    assert (d.saifi, d.saidi, d.caidi) == (pytest.approx(1.2), pytest.approx(90.0), pytest.approx(75.0))
    assert {f.feeder_id for f in report.feeders} == {net.a.id, net.b.id}  # feeder C is another division's


def test_the_minutes_after_ist_midnight_belong_to_the_next_month(session: Session, net: Network) -> None:
    report = reliability(session, "2026-11", division_id=net.division.id)

    a = _feeder(report, net.a)
    assert (a.interruptions, a.customers_interrupted, a.customer_minutes) == (0, 0, 24_000)
    assert (a.saifi, a.saidi, a.caidi) == (0, pytest.approx(60.0), None)


def test_every_division_is_reported_without_a_filter(session: Session, net: Network) -> None:
    report = reliability(session, "2026-10")

    c = _feeder(report, net.c)
    assert (c.served, c.customers_interrupted, c.customer_minutes) == (1, 1, 60)
    codes = [d.division_code for d in report.divisions]
    assert net.division.code in codes
    assert c.division_code in codes


def test_a_malformed_month_or_an_unknown_division_is_refused(session: Session) -> None:
    with pytest.raises(InvalidMonth):
        reliability(session, "2026-13")
    with pytest.raises(UnknownDivision):
        division_id_of(session, "NOPE")


def test_the_cli_table_carries_the_indices(session: Session, net: Network) -> None:
    text = format_report(reliability(session, "2026-10", division_id=net.division.id))

    row = next(line for line in text.splitlines() if net.a.code in line)
    assert row.split()[-5:] == ["33,000", "1.250", "82.5", "66.0", "0.0"]


# --- the web page -------------------------------------------------------------------------------------------


@pytest.fixture
def client(session_factory: Callable[[], Session]) -> FlaskClient:
    app = Flask(__name__)
    app.config.update(TESTING=True)
    install_site(app)  # the layout the page extends
    app.register_blueprint(
        reliability_blueprint(session_factory, lambda: dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC))
    )
    return app.test_client()


def _cells(html: str, label: str) -> list[str]:
    row = re.search(rf"<tr><td[^>]*>[^<]*</td><td[^>]*>{re.escape(label)}</td>(.*?)</tr>", html, re.S)
    assert row is not None, label
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_the_page_shows_each_feeders_indices(client: FlaskClient, net: Network) -> None:
    response = client.get(f"/reliability?month=2026-10&division={net.division.code}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Supply reliability indices for 2026-10" in html
    # served, interruptions, planned, unplanned, customers interrupted, customer-minutes, SAIFI, SAIDI, CAIDI, roster h
    assert _cells(html, f"{net.a.code} {net.a.name}") == [
        "400", "2", "0", "2", "500", "33,000", "1.250", "82.5", "66.0", "0.0"
    ]  # fmt: skip
    assert _cells(html, f"{net.b.code} {net.b.name}") == [
        "100", "1", "1", "0", "100", "12,000", "1.000", "120.0", "120.0", "3.0"
    ]  # fmt: skip


def test_the_page_defaults_to_the_current_ist_month(client: FlaskClient, net: Network) -> None:
    # The clock says 31 Oct 20:00 UTC: 1 Nov in India.
    html = client.get(f"/reliability?division={net.division.code}").get_data(as_text=True)

    assert "Supply reliability indices for 2026-11" in html
    assert _cells(html, f"{net.a.code} {net.a.name}")[5:9] == ["24,000", "0.000", "60.0", "-"]


def test_the_json_gives_the_same_figures(client: FlaskClient, net: Network) -> None:
    body = client.get(f"/reliability.json?month=2026-10&division={net.division.code.lower()}").get_json()

    assert body["month"] == "2026-10"
    assert body["divisions"][0] | {"name": ""} == {
        "code": net.division.code,
        "name": "",
        "feeders": 2,
        "served": 500,
        "interruptions": 3,
        "planned_interruptions": 1,
        "unplanned_interruptions": 2,
        "customers_interrupted": 600,
        "planned_customers_interrupted": 100,
        "customer_minutes": 45_000,
        "planned_customer_minutes": 12_000,
        "roster_hours": 3.0,
        "saifi": 1.2,
        "saidi": 90.0,
        "caidi": 75.0,
    }


def test_a_bad_month_is_a_polite_400(client: FlaskClient) -> None:
    response = client.get("/reliability?month=bad")

    assert response.status_code == 400
    assert "&#39;bad&#39; is not a month: give it as YYYY-MM, for example 2026-11." in response.get_data(as_text=True)
    assert client.get("/reliability.json?month=bad").status_code == 400


def test_an_unknown_division_is_a_404(client: FlaskClient) -> None:
    response = client.get("/reliability?month=2026-10&division=NOPE")

    assert response.status_code == 404
    assert "No division NOPE is on record." in response.get_data(as_text=True)
