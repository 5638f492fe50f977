"""The portal's complaint pages through the whole app (create_app), on PostgreSQL and SQLite: a signed-in consumer
lodges a complaint and gets its number by SMS, lists theirs, follows one's history, and confirms or rejects a
resolution; another account's number is a 404; a form without its token or sent twice does no harm; the pages
read in Hindi. The officers' side (resolving) is arranged in the database, as the console will do it."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Complaint, ComplaintEvent
from cis.web.catalogs import missing
from tests.conftest import own_postgres_database
from tests.factories import NOW
from tests.integration.test_staff_login import form_token
from tests.web_support import Site, build_site, console_sms, give_portal_password, portal_sign_in, running

DEVANAGARI = re.compile("[\u0900-\u097f]")
HINDI = {"Accept-Language": "hi-IN,hi;q=0.9"}


@pytest.fixture(scope="module")
def pg_site_db(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "portal_complaints") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    if request.param == "postgres":
        from cis.seed import reset

        engine: Engine = request.getfixturevalue("pg_site_db")
        reset(engine)
        return build_site(tmp_path, engine.url.render_as_string(hide_password=False))
    return build_site(tmp_path)


@pytest.fixture
def app(site: Site) -> Flask:
    give_portal_password(site, site.world.single)
    give_portal_password(site, site.world.pair[0])
    return site.app()


@pytest.fixture
def client(app: Flask, site: Site) -> Iterator[FlaskClient]:
    with running(app) as client:
        yield portal_sign_in(client, site.world.single)


def _text(response: object) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))  # type: ignore[attr-defined]


def _main(response: object) -> str:
    page = _text(response)
    return page[page.index("<main") : page.index("</main>")]


def _form(client: FlaskClient) -> dict[str, str]:
    """The lodge form's hidden fields, as the list page gives them (the form token and the one-time request id)."""
    page = client.get("/portal/complaints").get_data(as_text=True)
    request_id = re.search(r'name="request_id" value="([^"]+)"', page)
    assert request_id is not None
    return {"csrf_token": form_token(client, "/portal/complaints"), "request_id": request_id.group(1)}


def _lodge(client: FlaskClient, category: str = "meter", description: str = "Meter display blank since Monday") -> str:
    sent = client.post("/portal/complaints", data={**_form(client), "category": category, "description": description})
    assert sent.status_code == 303, _text(sent)
    location = sent.headers["Location"]
    assert location.startswith("/portal/complaints/")
    return location.rsplit("/", 1)[1]


def _engine(site: Site) -> Engine:
    return make_engine(site.url)


def _resolve(site: Site, number: str, *, ago: dt.timedelta = dt.timedelta(0)) -> None:
    """An officer's resolution as the console will record it: the row and its step (with an office note)."""
    engine = _engine(site)
    at = dt.datetime.now(dt.UTC) - ago
    try:
        with make_session_factory(engine)() as session:
            complaint = session.scalars(select(Complaint).where(Complaint.number == number)).one()
            complaint.status = "resolved"
            complaint.resolved_at = at
            complaint.resolution = "Meter replaced."
            note = "Meter replaced by JE Sharma"
            session.add(ComplaintEvent(complaint_id=complaint.id, step="resolved", actor="je.sd01", at=at, note=note))
            session.commit()
    finally:
        engine.dispose()


def _status(site: Site, number: str) -> str:
    engine = _engine(site)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(select(Complaint.status).where(Complaint.number == number)))
    finally:
        engine.dispose()


def _count(site: Site) -> int:
    engine = _engine(site)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Complaint)) or 0)
    finally:
        engine.dispose()


# --- lodge ----------------------------------------------------------------------------------------------------


def test_lodging_a_complaint_shows_its_number_and_sends_it_by_sms_to_the_registered_mobile(
    client: FlaskClient, site: Site
) -> None:
    number = _lodge(client, "meter", "Meter display blank since Monday")

    page = _main(client.get(f"/portal/complaints/{number}"))
    assert f"Your complaint has been lodged. Its number is <strong>{number}</strong>." in page
    assert "We have sent it by SMS to your registered mobile ******3210." in page
    assert f"<h1>Complaint {number}</h1>" in page
    assert "Meter defective, burnt or stopped" in page
    assert "Meter display blank since Monday" in page
    texts = console_sms(site, site.world.single_mobile)
    assert any(f"complaint {number} for A/c {site.world.single} is registered" in t for t in texts), texts
    # The notice is said once: a reload shows the complaint without it.
    assert "has been lodged" not in _main(client.get(f"/portal/complaints/{number}"))
    engine = _engine(site)
    with engine.connect() as conn:
        assert conn.scalar(select(Complaint.channel).where(Complaint.number == number)) == "portal"
    engine.dispose()


def test_a_form_sent_twice_makes_one_complaint_and_one_sms(client: FlaskClient, site: Site) -> None:
    before = _count(site)
    form = {**_form(client), "category": "no_supply", "description": "No light since 6 pm"}

    first = client.post("/portal/complaints", data=form)
    again = client.post("/portal/complaints", data=form)

    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    number = first.headers["Location"].rsplit("/", 1)[1]
    assert _count(site) == before + 1
    assert f"Its number is <strong>{number}</strong>." in _main(client.get(first.headers["Location"]))
    texts = [t for t in console_sms(site, site.world.single_mobile) if f"complaint {number} " in t]
    assert len(texts) == 1


def test_an_open_complaint_of_the_same_kind_is_named_instead_of_a_second_one(client: FlaskClient, site: Site) -> None:
    before = _count(site)

    sent = client.post("/portal/complaints", data={**_form(client), "category": "voltage", "description": "Again"})

    # site.complaint is world.single's open voltage complaint.
    assert sent.headers["Location"] == f"/portal/complaints/{site.complaint}"
    page = _main(client.get(sent.headers["Location"]))
    assert f"You already have an open complaint of this kind, number <strong>{site.complaint}</strong>" in page
    assert _count(site) == before


def test_the_form_says_what_to_fix_at_each_field(client: FlaskClient, site: Site) -> None:
    before = _count(site)
    no_category = client.post("/portal/complaints", data={**_form(client), "category": "", "description": "x"})
    unknown = client.post("/portal/complaints", data={**_form(client), "category": "fire", "description": "x"})
    nowhere = client.post("/portal/complaints", data={**_form(client), "category": "dangerous_line"})
    too_long = client.post("/portal/complaints", data={**_form(client), "category": "meter", "description": "a" * 1001})

    for response in (no_category, unknown):
        assert response.status_code == 400
        page = _main(response)
        assert 'aria-describedby="category-error" aria-invalid="true"' in page
        error = "Please choose what the complaint is about."
        assert f'<p class="error" id="category-error" role="alert">{error}</p>' in page
    assert "Please say where it is: the street, a landmark, the pole number." in _main(nowhere)
    page = _main(too_long)
    assert "Please keep it within 1000 characters (you wrote 1001)." in page
    assert 'id="description-error"' in page
    assert _count(site) == before


def test_a_form_without_its_token_is_refused_and_lodges_nothing(client: FlaskClient, site: Site) -> None:
    before = _count(site)
    form = {k: v for k, v in _form(client).items() if k != "csrf_token"}

    refused = client.post("/portal/complaints", data={**form, "category": "meter", "description": "x"})
    wrong = client.post(
        "/portal/complaints", data={**form, "csrf_token": "forged", "category": "meter", "description": "x"}
    )

    assert refused.status_code == wrong.status_code == 400
    assert "The form had expired" in _main(refused)
    assert _count(site) == before


def test_the_pages_need_a_signed_in_consumer(app: Flask, site: Site) -> None:
    with running(app) as anonymous:
        assert anonymous.get("/portal/complaints").headers["Location"] == "/portal/login?next=/portal/complaints"
        shown = anonymous.get(f"/portal/complaints/{site.complaint}")
        assert shown.headers["Location"] == f"/portal/login?next=/portal/complaints/{site.complaint}"
        posted = anonymous.post("/portal/complaints", data={"category": "meter"})
        assert (posted.status_code, posted.headers["Location"]) == (303, "/portal/login")


# --- list and timeline ------------------------------------------------------------------------------------------


def test_my_complaints_are_listed_newest_first_with_their_words(client: FlaskClient, site: Site) -> None:
    number = _lodge(client, "billing", "Bill not received for October")

    page = _main(client.get("/portal/complaints"))

    rows = re.findall(r'<th scope="row"><a href="/portal/complaints/(\d+)">', page)
    assert rows == [number, site.complaint]
    assert '<table class="table-cards complaints" aria-labelledby="mine-title">' in page
    assert '<td data-label="Category">Wrong bill or bill not received</td>' in page
    assert '<td data-label="Status">Open</td>' in page
    assert re.search(r'<td data-label="Due or resolved">Due by \d+ \w+ 20\d\d, \d+:\d\d [AP]M IST</td>', page)
    # The site's complaint was lodged on the test clock's day: overdue by the app's real clock once that is past.
    overdue = dt.datetime.now(dt.UTC) > NOW + dt.timedelta(hours=23)
    due = "Overdue: was due by" if overdue else "Due by"
    assert f"{due} 21 Nov 2026, 2:30 PM IST" in page
    assert '<td data-label="Lodged"><time datetime="2026-11-20T09:00:00+00:00">20 Nov 2026, 2:30 PM IST</time>' in page


def test_the_list_is_paged_ten_at_a_time(client: FlaskClient, site: Site) -> None:
    engine = _engine(site)
    uow = UnitOfWork(make_session_factory(engine))
    start = NOW  # after the site's complaint (lodged an hour before NOW)
    for n in range(11):  # meter complaints, each closed before the next: one open of a kind at a time
        receipt = register_complaint(
            uow,
            RegisterComplaint(channel="ivr", category="meter", account_no=site.world.single),
            now=start + dt.timedelta(days=n),
        )
        with engine.begin() as conn:
            conn.execute(update(Complaint).where(Complaint.number == receipt.number).values(status="closed"))
    engine.dispose()

    first = _main(client.get("/portal/complaints"))
    second = _main(client.get("/portal/complaints?page=2"))
    past = _main(client.get("/portal/complaints?page=9"))
    junk = client.get("/portal/complaints?page=1e999999")

    assert len(re.findall(r'<th scope="row">', first)) == 10
    assert "Page 1 of 2" in first
    assert 'href="/portal/complaints?page=2" rel="next">Older complaints' in first
    assert len(re.findall(r'<th scope="row">', second)) == 2
    assert 'href="/portal/complaints?page=1" rel="prev">Newer complaints' in second
    assert site.complaint in second  # the oldest
    assert "There are no complaints on this page." in past
    assert junk.status_code == 200


def test_a_complaints_timeline_reads_in_words_with_times_in_ist(client: FlaskClient, site: Site) -> None:
    page = _main(client.get(f"/portal/complaints/{site.complaint}"))

    timeline = page[page.index('<ol class="timeline"') : page.index("</ol>")]
    steps = re.findall(r'<span class="step">([^<]+)</span> <time datetime="([^"]+)">([^<]+)</time>', timeline)
    assert steps == [
        ("Complaint lodged through the 1912 call centre", "2026-11-20T09:00:00+00:00", "20 Nov 2026, 2:30 PM IST"),
        ("Assigned to the Junior Engineer", "2026-11-20T09:00:00+00:00", "20 Nov 2026, 2:30 PM IST"),
    ]
    assert "<dt>To be resolved by</dt><dd>21 Nov 2026, 2:30 PM IST" in page
    assert ("(overdue)" in page) == (dt.datetime.now(dt.UTC) > NOW + dt.timedelta(hours=23))
    assert "<dt>With</dt><dd>Junior Engineer</dd>" in page
    assert "Was it really fixed?" not in page


def test_another_accounts_complaint_is_not_found(app: Flask, client: FlaskClient, site: Site) -> None:
    with running(app) as other:
        portal_sign_in(other, site.world.pair[0])
        theirs = _lodge(other, "voltage", "Fan runs slow")
    _resolve(site, theirs)

    shown = client.get(f"/portal/complaints/{theirs}")
    token = form_token(client, "/portal/complaints")
    confirmed = client.post(f"/portal/complaints/{theirs}/confirm", data={"csrf_token": token})
    rejected = client.post(f"/portal/complaints/{theirs}/reject", data={"csrf_token": token, "reason": "Not fixed"})
    mistyped = client.get("/portal/complaints/12345")
    junk = client.get("/portal/complaints/" + "9" * 5000)

    for response in (shown, confirmed, rejected, mistyped, junk):
        assert response.status_code == 404
        assert "Complaint not found" in _main(response)
    assert "Fan runs slow" not in _main(shown)
    assert _status(site, theirs) == "resolved"
    assert theirs not in _main(client.get("/portal/complaints"))


# --- was it really fixed? ---------------------------------------------------------------------------------------


def test_rejecting_a_resolution_reopens_it_with_a_senior_officer_and_a_new_due_time(
    client: FlaskClient, site: Site
) -> None:
    number = _lodge(client, "meter", "Meter burnt")
    _resolve(site, number)
    page = _main(client.get(f"/portal/complaints/{number}"))
    assert "Was it really fixed?" in page
    assert '<dt>What was done</dt><dd class="said">Meter replaced.</dd>' in page
    assert "What was done: Meter replaced by JE Sharma" in page
    listed = _main(client.get("/portal/complaints"))
    assert "Resolved: please tell us if it is fixed" in listed
    token = form_token(client, f"/portal/complaints/{number}")

    empty = client.post(f"/portal/complaints/{number}/reject", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 400
    assert 'aria-describedby="reason-hint reason-error" aria-invalid="true"' in _main(empty)
    assert "Please tell us what is still wrong." in _main(empty)
    assert _status(site, number) == "resolved"

    done = client.post(
        f"/portal/complaints/{number}/reject", data={"csrf_token": token, "reason": "Display still blank"}
    )
    assert (done.status_code, done.headers["Location"]) == (303, f"/portal/complaints/{number}")
    assert _status(site, number) == "reopened"
    page = _main(client.get(done.headers["Location"]))
    assert re.search(
        r"We are sorry it is not fixed\. The complaint is reopened and is now with the Sub-Divisional Officer, to be "
        r"resolved by \d+ \w+ 20\d\d, \d+:\d\d [AP]M IST\.",
        page,
    )
    assert "<dt>Status</dt><dd><strong>Reopened</strong></dd>" in page
    assert "You said it was not fixed: reopened" in page
    assert "What you said: Display still blank" in page
    assert "Moved up to the Sub-Divisional Officer" in page
    assert "Was it really fixed?" not in page


def test_confirming_a_resolution_closes_it(client: FlaskClient, site: Site) -> None:
    number = _lodge(client, "billing", "Bill not received")
    _resolve(site, number)
    token = form_token(client, f"/portal/complaints/{number}")

    done = client.post(f"/portal/complaints/{number}/confirm", data={"csrf_token": token})

    assert done.status_code == 303
    assert _status(site, number) == "closed"
    page = _main(client.get(done.headers["Location"]))
    assert "Thank you. You confirmed it is fixed, and the complaint is closed." in page
    assert "You confirmed it was fixed: closed" in page
    # Rejecting afterwards changes nothing.
    late = client.post(f"/portal/complaints/{number}/reject", data={"csrf_token": token, "reason": "Wrong again"})
    assert late.status_code == 409
    assert "This complaint is not waiting for your answer any more." in _main(late)
    assert _status(site, number) == "closed"


def test_only_a_resolution_within_the_window_can_be_answered(client: FlaskClient, site: Site) -> None:
    old = _lodge(client, "meter", "Meter stopped")
    _resolve(site, old, ago=dt.timedelta(days=8))
    token = form_token(client, f"/portal/complaints/{old}")

    page = _main(client.get(f"/portal/complaints/{old}"))
    late = client.post(f"/portal/complaints/{old}/reject", data={"csrf_token": token, "reason": "Still stopped"})
    open_one = client.post(f"/portal/complaints/{site.complaint}/confirm", data={"csrf_token": token})

    assert "Was it really fixed?" not in page
    assert "It was resolved more than 7 days ago. If the problem is back, please lodge a new complaint." in page
    assert late.status_code == 409
    assert "so it can no longer be reopened" in _main(late)
    assert _status(site, old) == "resolved"
    assert open_one.status_code == 409
    assert _status(site, site.complaint) == "open"


def test_rejecting_when_a_newer_complaint_of_the_kind_is_open_points_to_it(client: FlaskClient, site: Site) -> None:
    older = _lodge(client, "meter", "Meter burnt")
    _resolve(site, older)
    newer = _lodge(client, "meter", "Meter burnt again")
    token = form_token(client, f"/portal/complaints/{older}")

    refused = client.post(f"/portal/complaints/{older}/reject", data={"csrf_token": token, "reason": "Not fixed"})

    assert refused.status_code == 409
    page = _main(refused)
    assert f"You have lodged a newer complaint of this kind, number {newer}, which is being worked on." in page
    assert f'href="/portal/complaints/{newer}"' in page
    assert _status(site, older) == "resolved"


def test_answers_without_the_form_token_are_refused(client: FlaskClient, site: Site) -> None:
    number = _lodge(client, "meter", "Meter burnt")
    _resolve(site, number)

    confirm = client.post(f"/portal/complaints/{number}/confirm")
    reject = client.post(f"/portal/complaints/{number}/reject", data={"reason": "Not fixed", "csrf_token": "x"})

    assert confirm.status_code == reject.status_code == 400
    assert _status(site, number) == "resolved"


# --- the public status page -------------------------------------------------------------------------------------


def test_the_public_status_page_shows_the_steps_but_no_channel_names_or_notes(client: FlaskClient, site: Site) -> None:
    number = _lodge(client, "meter", "Meter burnt near house 12")
    _resolve(site, number)
    token = form_token(client, f"/portal/complaints/{number}")
    client.post(f"/portal/complaints/{number}/reject", data={"csrf_token": token, "reason": "Neighbour Gupta says no"})

    with running(site.app()) as anyone:
        page = _main(anyone.get(f"/complaints/status?number={number}"))

    steps = re.findall(r'<span class="step">([^<]+)</span>', page)
    assert steps == [
        "Complaint lodged",
        "Assigned to the Junior Engineer",
        "Resolved",
        "The consumer said it was not fixed: reopened",
        "Moved up to the Sub-Divisional Officer",
    ]
    assert len(re.findall(r'<time datetime="[^"]+">[^<]+ IST</time>', page)) == 5
    for private in ("portal", "Sharma", "Meter replaced", "Gupta", "house 12", site.world.single, "3210"):
        assert private not in page


def test_the_json_api_does_not_say_whose_mobile_got_the_sms(client: FlaskClient, site: Site) -> None:
    body = client.post("/api/complaints", json={"category": "meter", "account_no": site.world.single}).get_json()

    assert body["number"]
    assert "acknowledged_to" not in body
    assert "3210" not in str(body)


# --- Hindi ------------------------------------------------------------------------------------------------------


def test_the_pages_read_in_hindi_with_no_string_left_untranslated(client: FlaskClient, site: Site) -> None:
    number = _lodge(client, "meter", "Meter burnt")
    _resolve(site, number)

    listed = _main(client.get("/portal/complaints", headers=HINDI))
    shown = _main(client.get(f"/portal/complaints/{number}", headers=HINDI))
    refused = _main(client.post("/portal/complaints", data={**_form(client), "category": ""}, headers=HINDI))

    assert "<h1>मेरी शिकायतें</h1>" in listed
    assert "मीटर खराब, जला हुआ या बंद" in listed
    assert "नई शिकायत दर्ज करें" in listed
    assert "क्या समस्या सच में ठीक हो गई?" in shown
    assert "वेब पोर्टल पर शिकायत दर्ज हुई" in shown
    assert "अवर अभियंता (जेई) को सौंपी गई" in shown
    assert "कृपया चुनें कि शिकायत किस बारे में है।" in refused
    for page in (listed, shown):
        assert DEVANAGARI.search(page)
        for english in ("Lodge", "Complaint", "Status", "Category", "Was it", "Assigned", "Resolved"):
            assert english not in page, english
    ours = [m for m in missing() if "complaint" in m.where]
    assert ours == []
