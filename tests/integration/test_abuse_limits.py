"""Issue 12, abuse limits: per client address on the web, per mobile on SMS and USSD, each refused in its own
channel's form (JSON or a page with Retry-After, one SMS a window, a USSD END screen in the session's language).

Limits are settings; most tests set small ones so a handful of requests reach them. Counts live in Redis when
URJA_REDIS_URL is set and in the process's memory without: the look-up test runs on both.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from cis.db import make_engine
from cis.models import Outbox, SmsOptOut
from tests.integration.test_staff_login import form_token
from tests.protocol.fake_sms_gateway import signed_headers
from tests.web_support import GATEWAY_SECRET, PUBLIC, TWILIO_TOKEN, USSD_SECRET, Site, build_site, running

_serial = itertools.count(1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("limits"))


def _fresh_mobile() -> str:
    return f"+9199{next(_serial):08d}"


# --- per client address --------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_account_lookups_from_one_address_stop_at_the_default_limit(
    site: Site, storage: str, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_url") if storage == "redis" else None
    with running(site.app(redis_url=redis_url)) as client:
        answers = [client.get(f"/api/accounts/{site.world.single}") for _ in range(31)]
        other = client.get(f"/api/accounts/{site.world.single}", environ_base={"REMOTE_ADDR": "10.9.8.7"})

    assert [a.status_code for a in answers[:30]] == [200] * 30  # the default: 30 a minute
    refused = answers[30]
    assert refused.status_code == 429
    assert refused.get_json() == {
        "error": "TooManyRequests",
        "message": "Too many requests from your address. Please try again in 1 minute.",
    }
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert other.status_code == 200  # another address has its own count


def test_with_redis_unreachable_the_counts_fall_back_to_memory_and_requests_are_answered(site: Site) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with running(site.app(redis_url=f"redis://127.0.0.1:{closed}/0", limit_accounts="2 per minute")) as client:
        codes = [client.get(f"/api/accounts/{site.world.single}").status_code for _ in range(3)]
        mobile = _fresh_mobile()
        sms = _twilio(client, mobile, "HELP")

    assert codes == [200, 200, 429]
    assert sms == 200
    assert [t for t, _ in _replies(site, mobile)] == ["reply.help"]


def test_complaint_status_by_api_and_page_share_one_count_and_refuse_in_their_own_form(site: Site) -> None:
    with running(site.app(limit_complaint_status="3 per minute")) as client:
        answered = [
            client.get(f"/api/complaints/{site.complaint}").status_code,
            client.get("/complaints/status", query_string={"number": site.complaint}).status_code,
            client.get(f"/api/complaints/{site.complaint}").status_code,
        ]
        api = client.get(f"/api/complaints/{site.complaint}")
        page = client.get("/complaints/status", query_string={"number": site.complaint})
        in_hindi = client.get(
            "/complaints/status", query_string={"number": site.complaint}, headers={"Accept-Language": "hi"}
        )

    assert answered == [200, 200, 200]
    assert api.status_code == 429
    assert api.get_json()["error"] == "TooManyRequests"
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Too many requests came from your address in a short time. Please try again in 1 minute." in html
    assert "कृपया 1 मिनट बाद फिर से प्रयास करें" in in_hindi.get_data(as_text=True)
    assert site.complaint not in html
    assert int(page.headers["Retry-After"]) > 0


def test_complaint_registration_is_limited_per_address(site: Site) -> None:
    form = {"category": "no_supply", "account_no": site.world.no_bill, "text": "No light"}
    with running(site.app(limit_complaints="2 per minute")) as client:
        first = client.post("/api/complaints", json=form, headers={"Idempotency-Key": "limits-1"})
        again = client.post("/api/complaints", json=form, headers={"Idempotency-Key": "limits-1"})
        third = client.post("/api/complaints", json=form, headers={"Idempotency-Key": "limits-2"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert third.status_code == 429
    assert "Please try again in" in third.get_json()["message"]
    assert "Retry-After" in third.headers


def test_staff_sign_in_attempts_are_limited_per_address(site: Site) -> None:
    with running(site.app(limit_login="3 per minute")) as client:
        token = form_token(client)
        tries = [
            client.post("/login", data={"username": "admin", "password": "wrong", "csrf_token": token})
            for _ in range(4)
        ]
        form = client.get("/login")

    assert [t.status_code for t in tries] == [401, 401, 401, 429]
    assert "Too many requests" in tries[3].get_data(as_text=True)
    assert form.status_code == 200  # the form itself is not counted


def test_the_calculator_page_and_its_api_share_one_limit(site: Site) -> None:
    query = {"category": "LMV-1U", "load": "2", "units": "250", "days": "30"}
    with running(site.app(limit_calculator="2 per minute")) as client:
        page = client.get("/calculator")
        api = client.get("/api/calc", query_string=query)
        refused_api = client.get("/api/calc", query_string=query)
        refused_page = client.post("/calculator", data=query)

    assert (page.status_code, api.status_code) == (200, 200)
    assert refused_api.status_code == 429
    assert refused_api.get_json()["error"] == "TooManyRequests"
    assert refused_page.status_code == 429
    assert "Too many requests" in refused_page.get_data(as_text=True)


def test_the_reliability_report_which_counts_every_account_is_limited_too(site: Site) -> None:
    with running(site.app(limit_reports="2 per minute")) as client:
        answered = [client.get("/reliability").status_code, client.get("/reliability.json").status_code]
        page = client.get("/reliability", query_string={"month": "2026-10"})
        api = client.get("/reliability.json")

    assert answered == [200, 200]
    assert page.status_code == 429
    assert "Too many requests" in page.get_data(as_text=True)
    assert api.status_code == 429
    assert api.get_json()["error"] == "TooManyRequests"


def test_without_a_trusted_proxy_a_forwarded_for_header_does_not_change_the_count(site: Site) -> None:
    with running(site.app(limit_accounts="2 per minute")) as client:
        codes = [
            client.get(f"/api/accounts/{site.world.single}", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(3)
        ]

    assert codes == [200, 200, 429]


def test_behind_one_trusted_proxy_each_client_is_counted_and_cannot_pose_as_another(site: Site) -> None:
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    with running(site.app(limit_accounts="2 per minute", trusted_proxies=1)) as client:

        def lookup(forwarded: str) -> int:
            headers = {"X-Forwarded-For": forwarded}
            return client.get(f"/api/accounts/{site.world.single}", headers=headers, environ_base=proxy).status_code

        first_client = [lookup("203.0.113.5") for _ in range(2)]
        # The client writes its own X-Forwarded-For; the proxy appends the address it saw: only that counts.
        spoofing = lookup("198.51.100.77, 203.0.113.5")
        second_client = lookup("203.0.113.6")

    assert first_client == [200, 200]
    assert spoofing == 429
    assert second_client == 200


# --- per mobile: SMS ------------------------------------------------------------------------------------------


def _twilio(client: FlaskClient, sender: str, body: str) -> int:
    form = {"MessageSid": f"SM{next(_serial):032d}", "From": sender, "To": "+911800180000", "Body": body}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/sms/twilio/inbound", form)
    return client.post("/sms/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}).status_code


def _gateway(client: FlaskClient, sender: str, body: str) -> dict[str, str | None]:
    raw = json.dumps({"id": f"gw-{next(_serial)}", "from": sender.lstrip("+"), "to": "URJAMT", "text": body}).encode()
    response = client.post("/sms/gateway/inbound", data=raw, headers=signed_headers(GATEWAY_SECRET, raw))
    assert response.status_code == 200
    return dict(response.get_json())


def _replies(site: Site, mobile: str) -> list[tuple[str, dict[str, object]]]:
    engine = make_engine(site.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Outbox.template, Outbox.payload).where(Outbox.recipient == mobile).order_by(Outbox.id)
            ).all()
    finally:
        engine.dispose()
    return [(template, dict(payload)) for template, payload in rows]


@pytest.fixture
def sms_client(site: Site) -> Iterator[FlaskClient]:
    with running(site.app(limit_sms="3 per 10 minutes")) as client:
        yield client


def test_a_mobile_over_its_sms_limit_is_told_once_and_then_not_answered(site: Site, sms_client: FlaskClient) -> None:
    flooder, neighbour = _fresh_mobile(), _fresh_mobile()

    codes = [_twilio(sms_client, flooder, "HELP") for _ in range(6)]
    _twilio(sms_client, neighbour, "HELP")

    assert codes == [200] * 6  # Twilio always gets its 200: nothing to retry
    replies = _replies(site, flooder)
    assert [t for t, _ in replies] == ["reply.help"] * 3 + ["reply.slow_down"]
    assert replies[3][1] == {"minutes": 10}
    assert [t for t, _ in _replies(site, neighbour)] == ["reply.help"]


def test_a_stop_over_the_limit_is_still_carried_out_without_a_reply(site: Site, sms_client: FlaskClient) -> None:
    mobile = _fresh_mobile()

    for _ in range(4):
        _twilio(sms_client, mobile, "HELP")
    _twilio(sms_client, mobile, "STOP")

    engine = make_engine(site.url)
    try:
        with engine.connect() as conn:
            opted_out = conn.scalar(select(SmsOptOut.e164).where(SmsOptOut.e164 == mobile))
    finally:
        engine.dispose()
    assert opted_out == mobile
    assert [t for t, _ in _replies(site, mobile)] == ["reply.help"] * 3 + ["reply.slow_down"]


def test_the_gateway_hears_which_message_got_the_one_notice(site: Site, sms_client: FlaskClient) -> None:
    flooder = _fresh_mobile()

    answers = [_gateway(sms_client, flooder, "BILL")["reply_template"] for _ in range(5)]

    assert answers[3:] == ["reply.slow_down", None]
    assert [t for t, _ in _replies(site, flooder)][-1] == "reply.slow_down"
    assert len(_replies(site, flooder)) == 4


def test_asking_for_otps_by_sms_has_its_own_lower_limit(site: Site) -> None:
    asker = _fresh_mobile()
    with running(site.app(limit_otp="1 per hour")) as client:
        _twilio(client, asker, f"REG {site.world.single}")
        _twilio(client, asker, f"REG {site.world.single}")
        _twilio(client, asker, "HELP")  # other commands still count only against the SMS limit

    assert [t for t, _ in _replies(site, asker)] == ["reply.otp_sent", "reply.slow_down", "reply.help"]
    assert _replies(site, asker)[1][1] == {"minutes": 60}


# --- per mobile: USSD -----------------------------------------------------------------------------------------


def _ussd(client: FlaskClient, session: str, mobile: str, text: str) -> str:
    form = {"sessionId": session, "serviceCode": "*1912#", "phoneNumber": mobile, "text": text}
    response = client.post("/ussd", data=form, headers={"X-USSD-Secret": USSD_SECRET})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_ussd_session_over_its_limit_ends_in_hindi_when_the_caller_chose_hindi(site: Site) -> None:
    mobile, session = site.world.single_mobile, f"ATUid_limits_{time.time_ns()}"
    with running(site.app(limit_ussd="3 per 10 minutes")) as client:
        screens = [_ussd(client, session, mobile, text) for text in ("", "9", "9*1", "9*1*8")]

    assert screens[0].startswith("CON ")
    assert "बिल" in screens[1]  # 9: the menu in Hindi
    assert screens[2].startswith("CON ")
    assert screens[3] == "END बहुत अधिक अनुरोध। कृपया कुछ मिनट बाद फिर प्रयास करें। सहायता: 1912"


def test_a_new_ussd_session_over_the_limit_ends_in_english(site: Site) -> None:
    mobile = site.world.pair_mobile
    with running(site.app(limit_ussd="1 per 10 minutes")) as client:
        first = _ussd(client, f"ATUid_a_{time.time_ns()}", mobile, "")
        second = _ussd(client, f"ATUid_b_{time.time_ns()}", mobile, "")
        other = _ussd(client, f"ATUid_c_{time.time_ns()}", site.world.outage_mobile, "")

    assert first.startswith("CON ")
    assert second == "END Too many requests. Please try again in a few minutes. Help: 1912"
    assert other.startswith("CON ")
