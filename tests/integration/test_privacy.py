"""Issue 12, abuse limits and privacy: what anonymous callers may see, and what only the admin may.

Each test asks the whole app as a stranger (or a member of staff) would, and checks the page or JSON they get.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert

from cis.db import make_engine, make_session_factory
from cis.models import ConsoleSms
from sms.providers import ConsoleProvider, OutgoingSms
from tests.factories import NOW
from tests.integration.test_staff_login import sign_in
from tests.web_support import DLT_ENTITY, TWILIO_SID, Site, build_site, running, signed_in

OTP_TEXT = (
    "482913 is your OTP to link a new mobile to A/c 7100000001. Valid for 10 minutes. "
    "Do not share it with anyone. -Urja Mitra"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("privacy"))


@pytest.fixture
def client(site: Site) -> Iterator[FlaskClient]:
    with running(site.app()) as c:
        yield c


# --- the account look-up ------------------------------------------------------------------------------------


def test_an_anonymous_account_lookup_shows_what_a_bill_shows_and_nothing_of_the_consumer(
    site: Site, client: FlaskClient
) -> None:
    response = client.get(f"/api/accounts/{site.world.single}")

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"account", "sanctioned_load_kw", "latest_bill", "amount_due_paise"}
    assert body["account"] == {
        "account_no": site.world.single,
        "category": "LMV-1U",
        "status": "active",
        "feeder_name": body["account"]["feeder_name"],
    }
    assert body["latest_bill"]["cycle"] == "2026-10"
    assert body["amount_due_paise"] > 0
    text = response.get_data(as_text=True)
    for private in ("Ramesh", "Verma", "रमेश", "\\u0930", "Kidwai", "208011", "9876543210", '"name', "mobile"):
        assert private not in text, private
    assert "last_payment" not in body  # when and how much someone pays is theirs
    assert "preferred_language" not in text


# --- complaint status ----------------------------------------------------------------------------------------


def test_the_public_complaint_status_names_no_account(site: Site, client: FlaskClient) -> None:
    response = client.get(f"/api/complaints/{site.complaint}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == site.complaint
    assert body["status"] == "open"
    assert body["category"] == "voltage"
    assert set(body) == {
        "number",
        "category",
        "status",
        "registered_at",
        "sla_due_at",
        "escalation_level",
        "resolved_at",
    }
    assert site.world.single not in response.get_data(as_text=True)


def test_the_complaint_status_page_shows_where_it_stands_and_no_account(site: Site, client: FlaskClient) -> None:
    response = client.get("/complaints/status", query_string={"number": site.complaint})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert site.complaint in page
    assert "Low or fluctuating voltage" in page
    assert "Junior Engineer" in page
    assert "IST" in page
    assert site.world.single not in page
    assert "Ramesh" not in page
    mistyped = site.complaint[:-1] + str((int(site.complaint[-1]) + 1) % 10)
    missing = client.get("/complaints/status", query_string={"number": mistyped})
    assert missing.status_code == 404
    assert f"No complaint has the number {mistyped}" in missing.get_data(as_text=True)


# --- the SMS console ------------------------------------------------------------------------------------------


def _console_holds_an_otp(site: Site) -> None:
    engine = make_engine(site.url)
    with make_session_factory(engine)() as session:
        session.execute(
            insert(ConsoleSms),
            [
                {
                    "outbox_id": None,
                    "recipient": site.world.single_mobile,
                    "sender": "URJAMT",
                    "template": "otp.register",
                    "dlt_template_id": "1107170000000000302",
                    "text": OTP_TEXT,
                    "segments": 1,
                    "sent_at": NOW,
                }
            ],
        )
        session.commit()
    engine.dispose()


@pytest.mark.parametrize("path", ["/sms/console", "/sms/console.json", "/sms/console.json?to=9876543210"])
def test_the_sms_console_is_not_for_strangers(site: Site, client: FlaskClient, path: str) -> None:
    _console_holds_an_otp(site)

    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert site.world.single_mobile not in response.get_data(as_text=True)
    assert "482913" not in response.get_data(as_text=True)


def test_the_sms_console_is_not_for_the_outage_desk(site: Site, client: FlaskClient) -> None:
    signed_in(client, "desk.d1")

    for path in ("/sms/console", "/sms/console.json"):
        response = client.get(path)
        assert response.status_code == 403
        assert "482913" not in response.get_data(as_text=True)


def test_the_admin_sees_the_console_with_otp_codes_blanked(site: Site, client: FlaskClient) -> None:
    _console_holds_an_otp(site)
    signed_in(client, "admin")

    page = client.get("/sms/console")
    body = client.get("/sms/console.json", query_string={"to": site.world.single_mobile}).get_json()

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "482913" not in html
    assert "****** is your OTP to link a new mobile to A/c 7100000001." in html
    assert site.world.single_mobile in html  # the admin sees who got what
    otps = [m for m in body["messages"] if m["template"] == "otp.register"]
    assert otps
    assert all(m["text"].startswith("****** is your OTP") for m in otps)
    assert "482913" not in json.dumps(body)


def test_the_console_provider_prints_no_otp_and_no_full_number(site: Site) -> None:
    engine = make_engine(site.url)
    out = io.StringIO()
    provider = ConsoleProvider(make_session_factory(engine), stream=out, clock=lambda: NOW)
    message = OutgoingSms(
        ref="otp-1",
        to="+919876543210",
        text=OTP_TEXT,
        sender="URJAMT",
        template_key="otp.register",
        dlt_template_id="1107170000000000302",
        entity_id=DLT_ENTITY,
        segments=1,
    )
    provider.send_batch([message])
    engine.dispose()

    printed = out.getvalue()
    assert "482913" not in printed
    assert "9876543210" not in printed
    assert printed == "[sms URJAMT -> +91*******210] " + OTP_TEXT.replace("482913", "******") + "\n"


# --- the landing page and the system page ---------------------------------------------------------------------


def test_the_home_page_is_for_consumers_and_shows_no_configuration(site: Site, client: FlaskClient) -> None:
    response = client.get("/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for link in ('href="/outages"', 'href="/reliability"', 'href="/calculator"', 'href="/complaints/status"'):
        assert link in page
    assert 'href="tel:1912"' in page
    assert "How to pay" in page
    for secret in (Path(site.url.removeprefix("sqlite:///")).name, "sqlite", TWILIO_SID, DLT_ENTITY, "127.0.0.1"):
        assert secret not in page, secret
    assert "Configuration" not in page


def test_the_system_page_is_for_the_admin_only(site: Site, client: FlaskClient) -> None:
    stranger = client.get("/admin/system")
    assert stranger.status_code == 302
    assert stranger.headers["Location"] == "/login?next=/admin/system"

    signed_in(client, "desk.d1")
    assert client.get("/admin/system").status_code == 403


def test_the_admin_lands_on_the_system_page_with_the_configuration(site: Site, client: FlaskClient) -> None:
    status, location, _ = sign_in(client, "admin")
    page = client.get("/admin/system")

    html = page.get_data(as_text=True)
    assert (status, location) == (302, "/admin/system")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "Parts of the system" in html
    assert TWILIO_SID in html
    assert DLT_ENTITY in html
    assert "twilio-auth-token" not in html  # secrets stay masked even for the admin
