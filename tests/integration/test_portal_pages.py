"""The portal's sign-in pages through the whole app (create_app on SQLite): register with a bill number and the OTP
from the console SMS store, sign in and out, recover a password, switch accounts; and what an attacker tries:
planted cookies, copied cookies, forms without their token, `next=` pointing elsewhere, guessing passwords."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cis.db import make_engine, make_session_factory
from cis.models import Account, AccountMobile, ConsumerSession
from cis.numbers import bill_no_for_id
from tests import factories
from tests.integration.test_staff_login import form_token
from tests.web_support import (
    PORTAL_PASSWORD,
    Site,
    build_site,
    console_sms,
    give_portal_password,
    portal_sign_in,
    running,
)

ACCOUNT = "4930000001"
MOBILE = "+919876548113"
BARE = "4930000004"  # its only mobile is not verified


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return build_site(tmp_path)


@pytest.fixture
def bills(site: Site) -> dict[str, str]:
    """On the web_support site, an account with a verified mobile and a bill of last week (the app's clock is the
    real one), and an account with only an unverified mobile; the bills' numbers."""
    engine = make_engine(site.url)
    with make_session_factory(engine)() as session:
        now = dt.datetime.now(dt.UTC)
        mine = factories.account(session, account_no=ACCOUNT, mobiles=(MOBILE,), name="Ramesh Verma")
        bill = factories.bill(session, mine, issued_at=now - dt.timedelta(days=7))
        bare = factories.account(session, account_no=BARE)
        bare_bill = factories.bill(session, bare, issued_at=now - dt.timedelta(days=7))
        session.add(
            AccountMobile(account_id=bare.id, e164="+919822233344", verified=False, added_via="ivr", added_at=now)
        )
        session.commit()
        numbers = {ACCOUNT: bill_no_for_id(bill.id), BARE: bill_no_for_id(bare_bill.id)}
    engine.dispose()
    return numbers


@pytest.fixture
def app(site: Site) -> Flask:
    return site.app()


@pytest.fixture
def client(app: Flask, bills: dict[str, str]) -> Iterator[FlaskClient]:
    with running(app) as client:
        yield client


def _text(response: object) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("portal_session")
    return cookie.value if cookie is not None else None


def _otp(site: Site, mobile: str = MOBILE) -> str:
    texts = console_sms(site, mobile)
    assert texts, f"no SMS reached {mobile}"
    return texts[-1].split(" ", 1)[0]


def test_register_with_a_bill_number_and_the_otp_then_choose_a_password_and_you_are_signed_in(
    client: FlaskClient, site: Site, bills: dict[str, str]
) -> None:
    assert client.get("/portal/").headers["Location"] == "/portal/login?next=/portal/"
    form = {"account": ACCOUNT, "bill": bills[ACCOUNT], "csrf_token": form_token(client, "/portal/register")}
    sent = client.post("/portal/register", data=form)
    assert sent.headers["Location"] == "/portal/register/verify"

    page = _text(client.get("/portal/register/verify"))
    assert "We have sent an OTP by SMS to your mobile ******8113. It is valid for 10 minutes." in page
    [sms] = console_sms(site, MOBILE)
    assert f"set the Urja Mitra portal password of A/c {ACCOUNT}" in sms
    code = sms.split(" ", 1)[0]
    done = client.post(
        "/portal/register/verify",
        data={
            "code": code,
            "password": PORTAL_PASSWORD,
            "repeat": PORTAL_PASSWORD,
            "csrf_token": form_token(client, "/portal/register/verify"),
        },
    )

    assert (done.status_code, done.headers["Location"]) == (303, "/portal/")
    [cookie] = [c for c in done.headers.getlist("Set-Cookie") if c.startswith("portal_session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # the site is served over https
    home = _text(client.get("/portal/"))
    assert "My account" in home
    assert f"<dd>{ACCOUNT}</dd>" in home
    assert "Ra**** Ve***" in home
    assert "Ramesh" not in home
    for section in ("/portal/bills", "/portal/complaints", "/portal/requests", "/portal/mobiles"):
        assert f'href="{section}"' in home
    # The password works from another browser too.
    with running(site.app()) as other:
        portal_sign_in(other, ACCOUNT)


def test_a_wrong_otp_and_unmatched_passwords_are_told_at_their_fields(
    client: FlaskClient, site: Site, bills: dict[str, str]
) -> None:
    form = {"account": ACCOUNT, "bill": bills[ACCOUNT], "csrf_token": form_token(client, "/portal/register")}
    client.post("/portal/register", data=form)
    code = _otp(site)
    token = form_token(client, "/portal/register/verify")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    mismatch = client.post(
        "/portal/register/verify",
        data={"code": code, "password": "one passphrase", "repeat": "another", "csrf_token": token},
    )
    bad_code = client.post(
        "/portal/register/verify",
        data={"code": wrong, "password": PORTAL_PASSWORD, "repeat": PORTAL_PASSWORD, "csrf_token": token},
    )
    weak = client.post(
        "/portal/register/verify",
        data={"code": code, "password": "password", "repeat": "password", "csrf_token": token},
    )

    assert mismatch.status_code == 400
    assert 'id="repeat-error" role="alert">The two passwords are not the same.' in _text(mismatch)
    assert 'aria-describedby="repeat-error" aria-invalid="true"' in _text(mismatch)
    assert "The OTP is not correct or has expired." in _text(bad_code)
    assert 'aria-describedby="code-hint code-error"' in _text(bad_code)
    assert "too common" in _text(weak)
    assert _cookie(client) is None


def test_an_account_without_a_verified_mobile_is_told_how_to_register_one(
    client: FlaskClient, site: Site, bills: dict[str, str]
) -> None:
    form = {"account": BARE, "bill": bills[BARE], "csrf_token": form_token(client, "/portal/register")}
    page = client.post("/portal/register", data=form)
    assert page.status_code == 409
    assert f"send the SMS REG {BARE} from your mobile" in _text(page)
    assert "sub-division office" in _text(page)
    assert console_sms(site, "+919822233344") == []


def test_an_unknown_account_and_a_wrong_bill_number_get_the_same_page(
    client: FlaskClient, site: Site, bills: dict[str, str]
) -> None:
    token = form_token(client, "/portal/register")
    unknown = client.post(
        "/portal/register", data={"account": "9999999999", "bill": bills[ACCOUNT], "csrf_token": token}
    )
    wrong = client.post("/portal/register", data={"account": ACCOUNT, "bill": bills[BARE], "csrf_token": token})

    def scrubbed(page: object) -> str:
        return re.sub(r'value="[^"]*"', "", _text(page))

    assert unknown.status_code == wrong.status_code == 400
    assert scrubbed(unknown) == scrubbed(wrong)
    assert "do not match a bill of the last 12 months" in _text(unknown)


def test_the_cookie_changes_at_sign_in_and_a_planted_one_opens_nothing(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    client.set_cookie("portal_session", "planted-by-an-attacker", domain="localhost")
    assert client.get("/portal/").status_code == 303  # a planted token names no session

    portal_sign_in(client, ACCOUNT)
    first = _cookie(client)
    assert first not in (None, "planted-by-an-attacker")
    portal_sign_in(client, ACCOUNT)  # signing in again: a new token, and the old one is ended
    second = _cookie(client)
    assert second != first
    with running(site.app()) as other:
        other.set_cookie("portal_session", first or "", domain="localhost")
        assert other.get("/portal/").status_code == 303


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    portal_sign_in(client, ACCOUNT)
    copied = _cookie(client)
    home = client.get("/portal/")
    token = re.search(
        r'action="/portal/logout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
        home.get_data(as_text=True),
    )
    assert token is not None

    out = client.post("/portal/logout", data={"csrf_token": token.group(1)})

    assert (out.status_code, out.headers["Location"]) == (303, "/portal/login")
    assert _cookie(client) is None
    with running(site.app()) as thief:
        thief.set_cookie("portal_session", copied or "", domain="localhost")
        refused = thief.get("/portal/")
        assert refused.status_code == 303
        assert any(c.startswith("portal_session=;") for c in refused.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/portal/login", {"account": "7100000001", "password": PORTAL_PASSWORD}),
        ("/portal/register", {"account": ACCOUNT, "bill": "100000000016"}),
        ("/portal/login/otp", {"mobile": MOBILE}),
        ("/portal/forgot", {"account": ACCOUNT, "mobile": MOBILE}),
    ],
)
def test_a_form_without_its_token_is_refused_and_does_nothing(
    client: FlaskClient, site: Site, path: str, data: dict[str, str]
) -> None:
    give_portal_password(site, "7100000001")
    client.get(path)  # the browser has a form token, but this post does not carry it (another site's form)
    refused = client.post(path, data=data)
    assert refused.status_code == 400
    assert "The form had expired" in _text(refused)
    assert _cookie(client) is None
    assert console_sms(site, MOBILE) == []


def test_signing_out_and_switching_need_the_token_too(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    portal_sign_in(client, ACCOUNT)
    assert client.post("/portal/logout").status_code == 400
    assert client.post("/portal/switch", data={"account": ACCOUNT}).status_code == 400
    assert client.get("/portal/").status_code == 200  # still signed in


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/portal/", "/\\evil.example", "http:/portal/", " https://evil.example"],
)
def test_next_never_leaves_the_site(client: FlaskClient, site: Site, target: str) -> None:
    give_portal_password(site, ACCOUNT)
    page = client.get("/portal/login", query_string={"next": target})
    assert 'name="next"' not in page.get_data(as_text=True)  # not carried into the form
    data = {
        "account": ACCOUNT,
        "password": PORTAL_PASSWORD,
        "next": target,
        "csrf_token": form_token(client, "/portal/login"),
    }
    signed_in = client.post("/portal/login", data=data)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, "/portal/")


def test_next_leads_back_to_the_page_asked_for(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    asked = client.get("/portal/switch")
    assert asked.headers["Location"] == "/portal/login?next=/portal/switch"
    page = client.get(asked.headers["Location"])
    assert 'name="next" value="/portal/switch"' in page.get_data(as_text=True)
    data = {
        "account": ACCOUNT,
        "password": PORTAL_PASSWORD,
        "next": "/portal/switch",
        "csrf_token": form_token(client, "/portal/login"),
    }
    assert client.post("/portal/login", data=data).headers["Location"] == "/portal/switch"


def test_five_wrong_passwords_lock_the_account_and_the_page_offers_an_otp(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    token = form_token(client, "/portal/login")
    for n in range(5):
        wrong = client.post("/portal/login", data={"account": ACCOUNT, "password": f"guess {n}", "csrf_token": token})
        assert wrong.status_code == 401
        assert "The account number or password is not correct." in _text(wrong)
    locked = client.post("/portal/login", data={"account": ACCOUNT, "password": PORTAL_PASSWORD, "csrf_token": token})
    assert locked.status_code == 429
    assert "paused for 15 minutes" in _text(locked)
    assert 'href="/portal/login/otp"' in locked.get_data(as_text=True)
    assert _cookie(client) is None
    # An unknown account answers exactly as a wrong password does.
    unknown = client.post("/portal/login", data={"account": "9999999999", "password": "guess", "csrf_token": token})
    assert (unknown.status_code, "The account number or password is not correct." in _text(unknown)) == (401, True)


def test_a_mobile_signs_in_by_otp_and_switches_between_its_accounts(client: FlaskClient, site: Site) -> None:
    first, second = site.world.pair
    sent = client.post(
        "/portal/login/otp", data={"mobile": "98123 45678", "csrf_token": form_token(client, "/portal/login/otp")}
    )
    assert sent.headers["Location"] == "/portal/login/otp/verify"
    page = _text(client.get("/portal/login/otp/verify"))
    assert "If the details match our records, we have sent an OTP by SMS." in page
    code = _otp(site, site.world.pair_mobile)
    done = client.post(
        "/portal/login/otp/verify", data={"code": code, "csrf_token": form_token(client, "/portal/login/otp/verify")}
    )
    assert done.headers["Location"] == "/portal/"

    home = _text(client.get("/portal/"))
    assert f"<dd>{first}</dd>" in home
    assert "switch account" in home
    choices = _text(client.get("/portal/switch"))
    assert f'value="{first}" checked' in choices
    assert f'value="{second}"' in choices
    token = form_token(client, "/portal/switch")
    switched = client.post("/portal/switch", data={"account": second, "csrf_token": token})
    assert switched.headers["Location"] == "/portal/"
    assert f"<dd>{second}</dd>" in _text(client.get("/portal/"))
    refused = client.post("/portal/switch", data={"account": site.world.single, "csrf_token": token})
    assert refused.status_code == 400
    assert "Please choose one of the accounts listed." in _text(refused)


def test_an_unknown_mobile_sees_the_same_otp_page_and_no_sms_is_sent(client: FlaskClient, site: Site) -> None:
    token = form_token(client, "/portal/login/otp")
    sent = client.post("/portal/login/otp", data={"mobile": site.world.stranger_mobile, "csrf_token": token})
    assert sent.headers["Location"] == "/portal/login/otp/verify"
    assert "If the details match our records" in _text(client.get("/portal/login/otp/verify"))
    verify_token = form_token(client, "/portal/login/otp/verify")
    answer = client.post("/portal/login/otp/verify", data={"code": "123456", "csrf_token": verify_token})
    assert answer.status_code == 400
    assert "The OTP is not correct or has expired." in _text(answer)
    assert console_sms(site, site.world.stranger_mobile) == []


def test_a_forgotten_password_is_replaced_by_otp_and_signs_in(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    with running(site.app()) as elsewhere:
        portal_sign_in(elsewhere, ACCOUNT)
        sent = client.post(
            "/portal/forgot",
            data={"account": ACCOUNT, "mobile": MOBILE, "csrf_token": form_token(client, "/portal/forgot")},
        )
        assert sent.headers["Location"] == "/portal/forgot/verify"
        new = "a brand new passphrase"
        data = {
            "code": _otp(site),
            "password": new,
            "repeat": new,
            "csrf_token": form_token(client, "/portal/forgot/verify"),
        }
        assert client.post("/portal/forgot/verify", data=data).headers["Location"] == "/portal/"
        assert client.get("/portal/").status_code == 200
        assert elsewhere.get("/portal/").status_code == 303  # the other browser was signed out
    with running(site.app()) as later:
        portal_sign_in(later, ACCOUNT, new)


def test_portal_pages_are_never_cached(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    assert client.get("/portal/login").headers["Cache-Control"] == "no-store"
    portal_sign_in(client, ACCOUNT)
    assert client.get("/portal/").headers["Cache-Control"] == "no-store"


def test_sessions_are_kept_as_hashes_only(client: FlaskClient, site: Site) -> None:
    give_portal_password(site, ACCOUNT)
    portal_sign_in(client, ACCOUNT)
    token = _cookie(client)
    engine = make_engine(site.url)
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(ConsumerSession.token_hash)).all()
        account_id = session.scalar(select(Account.id).where(Account.account_no == ACCOUNT))
        assert session.scalar(select(ConsumerSession.account_id)) == account_id
    engine.dispose()
    assert token is not None
    assert token not in stored
    assert len(stored) == 1


def test_the_pages_and_their_errors_read_in_hindi(client: FlaskClient, site: Site) -> None:
    hindi = {"Accept-Language": "hi-IN,hi;q=0.9"}
    page = _text(client.get("/portal/login", headers=hindi))
    assert '<html lang="hi">' in page
    assert "पोर्टल पर साइन इन करें" in page
    assert "इसके बजाय अपने मोबाइल पर OTP से साइन इन करें" in page
    token = form_token(client, "/portal/login")
    wrong = client.post(
        "/portal/login", data={"account": ACCOUNT, "password": "guess", "csrf_token": token}, headers=hindi
    )
    assert "खाता संख्या या पासवर्ड सही नहीं है।" in _text(wrong)
    register = _text(client.get("/portal/register", headers=hindi))
    assert "पिछले 12 महीनों के किसी भी बिल" in register
