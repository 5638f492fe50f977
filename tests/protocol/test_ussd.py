"""The USSD gateway webhook, posted the way an Africa's Talking-style gateway posts it."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ivr.turns import Amount, Gather, Hangup, Number, Say, Transfer, Turn
from ivr.ussd import fits, ussd_blueprint
from prompts.catalog import catalog

SECRET = "gateway-shared-secret"
SESSION = "ATUid_5f2b9c0e7d"
PHONE = "+919876543210"
CODE = "*555*1912#"

MAIN = Turn("en", (Say("welcome.greeting"), Say("welcome.other_language"), Say("menu.main")), Gather())
BILL = Turn("en", (Say("bill.amount_due"), Amount(1_72_750), Say("bill.options")), Gather())


class FakeDialog:
    """Answers the first request with the main menu and every later one with `next_turn`."""

    def __init__(self) -> None:
        self.handled: list[dict[str, Any]] = []
        self.hangups: list[tuple[str, str, int | None]] = []
        self.next_turn = BILL
        self.broken = False

    def handle(self, **kwargs: Any) -> Turn:
        self.handled.append(kwargs)
        if self.broken:
            raise RuntimeError("redis is down")
        return MAIN if kwargs["digits"] is None else self.next_turn

    def hangup(self, channel: str, call_ref: str, duration_s: int | None = None) -> None:
        self.hangups.append((channel, call_ref, duration_s))


@pytest.fixture
def dialog() -> FakeDialog:
    return FakeDialog()


def make_client(dialog: FakeDialog, secret: str | None = SECRET) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(ussd_blueprint(dialog, secret=secret, catalog=catalog()))
    return app.test_client()


@pytest.fixture
def client(dialog: FakeDialog) -> FlaskClient:
    return make_client(dialog)


def post(client: FlaskClient, text: str, *, headers: dict[str, str] | None = None, **form: str) -> TestResponse:
    data = {"sessionId": SESSION, "serviceCode": CODE, "phoneNumber": PHONE, "networkCode": "40445", "text": text}
    data.update(form)
    return client.post("/ussd", data=data, headers={"X-USSD-Secret": SECRET} if headers is None else headers)


def body(response: TestResponse) -> str:
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_first_request_opens_the_session_with_the_main_menu(client: FlaskClient, dialog: FakeDialog) -> None:
    screen = body(post(client, ""))
    assert screen == (
        "CON Urja Mitra\n9 Hindi\n1 Bill\n2 Pay bill\n3 Complaint\n4 Complaint status\n5 Meter reading\n0 Agent"
    )
    assert dialog.handled == [
        {
            "channel": "ussd",
            "call_ref": SESSION,
            "caller": PHONE,
            "digits": None,
            "lang": None,
            "called": CODE,
            "request_key": "",
        },
    ]


def test_each_request_passes_only_the_newest_input(client: FlaskClient, dialog: FakeDialog) -> None:
    body(post(client, ""))
    body(post(client, "1"))
    body(post(client, "1*2"))
    body(post(client, "1*2*1234567890"))
    assert [call["digits"] for call in dialog.handled] == [None, "1", "2", "1234567890"]


def test_a_final_turn_ends_the_session(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.next_turn = Turn("en", (Say("common.goodbye"),), Hangup())
    assert body(post(client, "1")) == "END Thank you for using Urja Mitra."


def test_transfer_ends_the_session_pointing_to_1912(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.next_turn = Turn("en", (Say("account.closed"),), Transfer())
    screen = body(post(client, "0"))
    assert screen.startswith("END ")
    assert "1912" in screen


def test_hindi_screens_that_fit_are_shown_in_hindi(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.next_turn = Turn("hi", (Say("complaint.choose"),), Gather())
    screen = body(post(client, "3"))
    assert screen == "CON " + catalog()["complaint.choose"].screen_text("hi")
    assert fits(screen.removeprefix("CON "))


def test_a_hindi_screen_too_long_for_one_screen_comes_in_hindi_pages(client: FlaskClient, dialog: FakeDialog) -> None:
    items = (Say("explain.this_bill"), Number(245), Say("common.units"), Say("common.is"))
    items += (Say("explain.last_year"), Number(210), Say("common.units"), Say("common.was"))
    items += (Say("explain.arrears"), Amount(50_000), Say("explain.late_fee"), Amount(1_250), Say("explain.estimated"))
    dialog.next_turn = Turn("hi", (*items, Say("common.next")), Gather())

    pages = [body(post(client, text)) for text in ("1*1", "1*1*#", "1*1*#*#", "1*1*#*#*#")]

    assert pages[:3] == [
        "CON इस बिल में खपत 245 यूनिट\nपिछले वर्ष 210 यूनिट\nपिछला बकाया रु 500.00\n# आगे",
        "CON विलंब शुल्क रु 12.50\n# आगे",
        "CON अनुमानित रीडिंग। सही बिल हेतु मेनू के 5 से रीडिंग दें।\n8 मुख्य मेनू\n0 सहायता",
    ]
    assert pages[3] == pages[2]  # past the last page: the last page again
    assert all(fits(page.removeprefix("CON ")) for page in pages)
    # Each "#" asked the dialog for the request that showed the screen; none advanced it.
    assert [(h["digits"], h["request_key"]) for h in dialog.handled] == [("1", "1*1")] * 4


def test_a_hash_on_a_screen_of_one_page_shows_it_again_without_advancing(
    client: FlaskClient, dialog: FakeDialog
) -> None:
    first = body(post(client, "2"))
    again = body(post(client, "2*#"))
    assert again == first
    assert [(h["digits"], h["request_key"]) for h in dialog.handled] == [("2", "2"), ("2", "2")]


def test_a_hash_on_the_first_screen_asks_for_the_first_screen_again(client: FlaskClient, dialog: FakeDialog) -> None:
    assert body(post(client, "#")) == body(post(client, ""))
    assert [(h["digits"], h["request_key"]) for h in dialog.handled] == [(None, ""), (None, "")]


def test_the_hindi_main_menu_fits_a_ussd_screen(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.next_turn = Turn("hi", MAIN.items, Gather())
    assert body(post(client, "9")).startswith("CON ऊर्जा मित्र\n")


def test_a_repeated_request_gets_the_same_screen_without_advancing_twice(
    client: FlaskClient, dialog: FakeDialog
) -> None:
    first = body(post(client, "1"))
    dialog.next_turn = Turn("en", (Say("common.goodbye"),), Hangup())
    assert body(post(client, "1")) == first
    assert len(dialog.handled) == 1
    assert body(post(client, "1*8")) == "END Thank you for using Urja Mitra."


def test_missing_secret_is_refused_and_changes_nothing(client: FlaskClient, dialog: FakeDialog) -> None:
    assert post(client, "", headers={}).status_code == 403
    assert dialog.handled == []


def test_wrong_secret_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    assert post(client, "1", headers={"X-USSD-Secret": SECRET + "x"}).status_code == 403
    assert dialog.handled == []


def test_secret_as_basic_auth_password_is_accepted(client: FlaskClient, dialog: FakeDialog) -> None:
    credentials = base64.b64encode(f"gateway:{SECRET}".encode()).decode()
    assert body(post(client, "", headers={"Authorization": f"Basic {credentials}"})).startswith("CON ")
    wrong = base64.b64encode(b"gateway:guess").decode()
    assert post(client, "1", headers={"Authorization": f"Basic {wrong}"}).status_code == 403
    assert len(dialog.handled) == 1


def test_without_a_configured_secret_everything_is_refused(
    dialog: FakeDialog, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(dialog, secret=None)
    with caplog.at_level(logging.ERROR, logger="ivr.ussd"):
        assert post(client, "", headers={"X-USSD-Secret": ""}).status_code == 403
    assert dialog.handled == []
    assert "no shared secret" in caplog.text


def test_failure_inside_the_dialog_ends_with_an_apology(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.broken = True
    screen = body(post(client, "2"))
    assert screen == "END " + catalog()["common.sorry_error"].screen_text("en")
    assert "1912" in screen


@pytest.mark.parametrize(
    "session",
    [
        pytest.param("ATUid_1\n2026-12-07 03:00:00,000 1 ivr.ussd INFO payment received", id="newline"),
        pytest.param("ATUid_" + "9" * 1_000_000, id="megabyte"),
    ],
)
def test_a_session_id_cannot_forge_or_flood_a_log_line(
    client: FlaskClient, dialog: FakeDialog, caplog: pytest.LogCaptureFixture, session: str
) -> None:
    dialog.broken = True  # the failure is logged with the session id

    with caplog.at_level(logging.INFO, logger="ivr.ussd"):
        post(client, "", sessionId=session)

    assert not any(line.startswith("2026-12-07") for line in caplog.text.splitlines())
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 500 for r in caplog.records)


def test_request_without_a_session_is_rejected(client: FlaskClient, dialog: FakeDialog) -> None:
    assert post(client, "", sessionId="").status_code == 400
    assert dialog.handled == []


def test_end_notification_closes_the_call_record(client: FlaskClient, dialog: FakeDialog) -> None:
    form = {"sessionId": SESSION, "phoneNumber": PHONE, "status": "Success", "durationInMillis": "41500"}
    response = client.post("/ussd/end", data=form, headers={"X-USSD-Secret": SECRET})
    assert response.status_code == 200
    assert dialog.hangups == [("ussd", SESSION, 42)]


def test_unauthenticated_end_notification_changes_nothing(client: FlaskClient, dialog: FakeDialog) -> None:
    response = client.post("/ussd/end", data={"sessionId": SESSION, "status": "Success"})
    assert response.status_code == 403
    assert dialog.hangups == []
