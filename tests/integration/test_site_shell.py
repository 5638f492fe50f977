"""The look and language every consumer page shares: Hindi or English by cookie or browser, the language switch,
the layout's landmarks and labels, the Hindi catalogs, Indian money and the FAQ (the whole app on SQLite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cis.complaints import CATEGORIES
from cis.web.catalogs import missing, page_messages
from cis.web.i18n import catalog_files, date_text, inr, merged_catalog
from cis.web.landing import CATEGORY_TITLES
from cis.web.site import faq, local_path
from tests.web_support import Site, build_site, running

DEVANAGARI = re.compile("[\u0900-\u097f]")
CALC = {"category": "LMV-1U", "load": "2", "units": "250", "days": "30"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("shell"))


@pytest.fixture
def app(site: Site) -> Iterator[Flask]:
    made = site.app()
    with running(made):
        yield made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def public_pages(site: Site) -> list[str]:
    return [
        "/",
        "/outages",
        "/reliability",
        "/calculator",
        "/complaints/status",
        f"/complaints/status?number={site.complaint}",
        "/faq",
        "/no-such-page",
    ]


class Page(HTMLParser):
    """What a test looks for in a page: landmarks, links, labels and the fields they name."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.mains: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.labels_for: set[str] = set()
        self.fields: list[dict[str, str | None]] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self._in_label = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "html":
            self.html_lang = found.get("lang")
        elif tag == "main":
            self.mains.append(found)
        elif tag == "a":
            self.links.append(found)
        elif tag == "label":
            if found.get("for"):
                self.labels_for.add(str(found["for"]))
        elif tag in ("input", "select", "textarea") and found.get("type") not in ("hidden", "submit", "button"):
            self.fields.append(found)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _get(client: FlaskClient, path: str, lang: str | None = None) -> tuple[int, str]:
    headers = {"Accept-Language": lang} if lang else {}
    response = client.get(path, headers=headers)
    return response.status_code, response.get_data(as_text=True)


# --- which language ----------------------------------------------------------------------------------------


def test_a_browser_asking_for_hindi_gets_the_page_in_devanagari(client: FlaskClient) -> None:
    status, html = _get(client, "/", "hi-IN,hi;q=0.9,en;q=0.8")

    assert status == 200
    page = Page(html)
    assert page.html_lang == "hi"
    assert "आपका बिजली खाता ऑनलाइन" in html
    assert "मुख्य सामग्री पर जाएँ" in html  # the skip link too
    assert "Your electricity account online" not in html


def test_without_accept_language_the_page_is_english(client: FlaskClient) -> None:
    status, html = _get(client, "/")

    assert status == 200
    assert Page(html).html_lang == "en"
    assert "Your electricity account online" in html
    assert not DEVANAGARI.search(html.replace("हिन्दी", ""))  # only the switch names Hindi in itself


def test_a_language_neither_hindi_nor_english_falls_back_to_english(client: FlaskClient) -> None:
    assert Page(_get(client, "/faq", "fr-FR,fr;q=0.9")[1]).html_lang == "en"


def test_the_cookie_overrides_the_browser(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    _, english = _get(client, "/outages", "hi")
    client.set_cookie("lang", "hi")
    _, hindi = _get(client, "/outages", "en")

    assert Page(english).html_lang == "en"
    assert "Power cuts now" in english
    assert Page(hindi).html_lang == "hi"
    assert "अभी बिजली कटौती" in hindi


def test_a_cookie_of_another_value_is_ignored(client: FlaskClient) -> None:
    client.set_cookie("lang", "xx")
    assert Page(_get(client, "/", "hi")[1]).html_lang == "hi"


def test_pages_chosen_by_language_tell_caches_so(client: FlaskClient) -> None:
    response = client.get("/outages")

    assert "public" in response.headers["Cache-Control"]
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


# --- the switch -------------------------------------------------------------------------------------------


def test_the_switch_remembers_the_language_for_a_year_and_goes_back(client: FlaskClient) -> None:
    response = client.get("/lang/hi", query_string={"next": "/calculator?units=5"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/calculator?units=5"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=hi;")
    for part in ("Max-Age=31536000", "HttpOnly", "SameSite=Lax", "Path=/", "Secure"):  # the site is on https
        assert part in cookie, part
    assert Page(_get(client, "/calculator")[1]).html_lang == "hi"
    client.get("/lang/en?next=/")
    assert Page(_get(client, "/calculator", "hi")[1]).html_lang == "en"


def test_the_switch_is_not_secure_only_on_a_plain_http_site(site: Site) -> None:
    with running(site.app(public_url="http://127.0.0.1:8080")) as client:
        cookie = client.get("/lang/hi?next=/").headers["Set-Cookie"]
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/path",
        "https://evil.com",
        "http:evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "javascript:alert(1)",
        "evil.com",
        " //evil.com",
        "/%0d%0aSet-Cookie:x=1",
        "/\r\nLocation: https://evil.com",
        "/" + "a" * 600,
    ],
)
def test_the_switch_never_sends_anyone_elsewhere(client: FlaskClient, target: str) -> None:
    response = client.get("/lang/hi", query_string={"next": target})

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith("//") and "\n" not in location)
    assert "evil.com" not in location or location.startswith("/%")


def test_the_switch_refuses_an_evil_next_with_the_home_page(client: FlaskClient) -> None:
    assert client.get("/lang/hi?next=//evil.com").headers["Location"] == "/"
    assert client.get("/lang/en?next=https://evil.com/x").headers["Location"] == "/"


def test_an_unknown_language_is_not_found(client: FlaskClient) -> None:
    response = client.get("/lang/fr?next=/")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


def test_local_paths_are_kept_whole() -> None:
    assert local_path("/outages") == "/outages"
    assert local_path("/complaints/status?number=1234") == "/complaints/status?number=1234"
    assert local_path("") == "/"
    assert local_path(None) == "/"


def test_the_switch_links_back_to_the_page_it_is_on(client: FlaskClient, site: Site) -> None:
    _, html = _get(client, f"/complaints/status?number={site.complaint}")
    switches = [a for a in Page(html).links if str(a.get("href", "")).startswith("/lang/")]

    assert [(a["lang"], a["href"]) for a in switches] == [
        ("hi", f"/lang/hi?next=/complaints/status%3Fnumber%3D{site.complaint}"),
        ("en", f"/lang/en?next=/complaints/status%3Fnumber%3D{site.complaint}"),
    ]
    texts = "".join(Page(html).text)
    assert "हिन्दी" in texts
    assert "English" in texts


# --- the layout on every public page -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_every_public_page_has_the_layouts_landmarks_labels_and_helpline(
    client: FlaskClient, site: Site, lang: str
) -> None:
    pages = {path: _get(client, path, lang) for path in public_pages(site)}
    pages["/calculator (a result)"] = (
        200,
        client.post("/calculator", data=CALC, headers={"Accept-Language": lang}).get_data(as_text=True),
    )
    pages["/calculator (an error)"] = (
        400,
        client.post("/calculator", data={**CALC, "units": "-5"}, headers={"Accept-Language": lang}).get_data(
            as_text=True
        ),
    )

    for path, (_status, html) in pages.items():
        page = Page(html)
        assert page.html_lang == lang, path
        assert len(page.mains) == 1, path
        assert page.mains[0].get("id") == "content", path
        skip = page.links[0]
        assert skip.get("href") == "#content", path
        assert skip.get("class") == "skip-link", path
        assert any(a.get("href") == "tel:1912" for a in page.links), path
        assert any(a.get("href") == "/portal/login" for a in page.links), path
        assert any(a.get("href") == "/faq" for a in page.links), path
        for field in page.fields:
            assert field.get("id") in page.labels_for, (path, field)
        assert len(page.ids) == len(set(page.ids)), (path, sorted(page.ids))
        assert 'style="' not in html, path
        assert "<script" not in html, path


def test_the_home_page_leads_with_the_portal(client: FlaskClient) -> None:
    _, html = _get(client, "/")
    hrefs = [a.get("href") for a in Page(html).links]
    menu_end = hrefs.index("/portal/login")  # the menu's last link
    content = [h for h in hrefs[menu_end + 1 :] if h != "/"]

    assert content[:2] == ["/portal/login", "/portal/register"]
    assert "Sign in" in html
    assert "Register" in html


def test_the_menu_marks_the_page_it_is_on(client: FlaskClient) -> None:
    _, html = _get(client, "/calculator")
    current = [a for a in Page(html).links if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == ["/calculator"]


def test_a_field_in_error_is_tied_to_its_message(client: FlaskClient) -> None:
    response = client.post("/calculator", data={**CALC, "units": "-5"})
    html = response.get_data(as_text=True)
    units = next(f for f in Page(html).fields if f.get("id") == "units")

    assert response.status_code == 400
    assert units.get("aria-invalid") == "true"
    assert "units-error" in str(units.get("aria-describedby")).split()
    assert '<p class="error" id="units-error" role="alert">The units cannot be negative.</p>' in html


def test_public_pages_say_when_they_were_last_updated(client: FlaskClient) -> None:
    for path in ("/outages", "/faq", "/reliability", "/calculator"):
        html = _get(client, path)[1]
        assert re.search(r'<p class="last-updated">Last updated: <time datetime="[0-9-]+', html), path
    assert "अंतिम अद्यतन:" in _get(client, "/faq", "hi")[1]


def test_error_pages_are_in_the_page_language_and_repeat_nothing_sent(client: FlaskClient) -> None:
    status, html = _get(client, "/no-such-page?number=99999999", "hi")

    assert status == 404
    assert "यह पेज नहीं मिला" in html
    assert "इस पते पर कुछ नहीं है। कृपया लिंक जाँच लें।" in html
    assert "99999999" not in html


def test_the_stylesheet_is_served(client: FlaskClient) -> None:
    with client.get("/static/site/site.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        css = response.get_data(as_text=True)
    reused = (".table-cards", ".form-field", ".button", ".notice", ".timeline", ".card", "content: attr(data-label)")
    for rule in reused:
        assert rule in css, rule


# --- catalogs -----------------------------------------------------------------------------------------------


def test_every_page_string_has_hindi_in_some_catalog() -> None:
    """Every _() / gettext / N_ message of the web templates and views (python -m cis.web.catalogs lists the
    missing ones as .po entries to fill in)."""
    lacking = [f"{m.where}: {m.msgid}" for m in missing()]
    assert lacking == []
    assert len(page_messages()) > 100


def test_the_catalogs_have_no_broken_placeholders() -> None:
    placeholder = re.compile(r"%\([a-z_]+\)s")
    for path in catalog_files():
        text = path.read_text(encoding="utf-8")
        for msgid, msgstr in re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, re.M):
            assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(msgstr)), (path, msgid)


def test_the_complaint_category_titles_are_all_marked_for_translation() -> None:
    assert set(CATEGORY_TITLES) == {c.title for c in CATEGORIES.values()}


def test_the_catalogs_of_several_areas_are_merged(tmp_path: Path) -> None:
    for area, msgid, msgstr in (("one", "Bill", "बिल"), ("two", "Meter", "मीटर")):
        (tmp_path / area).mkdir()
        (tmp_path / area / "hi.po").write_text(
            f'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "{msgid}"\nmsgstr "{msgstr}"\n'
            f'\nmsgid "Untranslated"\nmsgstr ""\n',
            encoding="utf-8",
        )

    merged = merged_catalog(catalog_files(tmp_path))

    assert merged.gettext("Bill") == "बिल"
    assert merged.gettext("Meter") == "मीटर"
    assert merged.gettext("Untranslated") == "Untranslated"


# --- money, dates, FAQ --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_rupees_are_grouped_the_indian_way_in_both_languages(app: Flask, lang: str) -> None:
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        assert inr(12345600) == "₹1,23,456.00"
        assert inr(1234567890) == "₹1,23,45,678.90"
        assert inr(-25) == "−₹0.25"
        assert inr(0) == "₹0.00"


def test_the_calculator_in_hindi_groups_rupees_the_indian_way(client: FlaskClient) -> None:
    html = client.post("/calculator", data=CALC, headers={"Accept-Language": "hi"}).get_data(as_text=True)

    assert 'data-component="total">₹1,727.00<' in html
    assert "कुल" in html
    assert "ऊर्जा शुल्क" in html


def test_dates_are_written_in_the_page_language(app: Flask) -> None:
    import datetime as dt

    with app.test_request_context("/", headers={"Accept-Language": "hi"}):
        hindi = date_text(dt.date(2026, 11, 20))
    with app.test_request_context("/"):
        english = date_text(dt.date(2026, 11, 20))

    assert english == "20 Nov 2026"
    assert hindi.startswith("20 ")
    assert DEVANAGARI.search(hindi)


def test_the_faq_has_ten_to_fifteen_questions_in_both_languages() -> None:
    questions = faq().questions
    assert 10 <= len(questions) <= 15
    assert len({q.slug for q in questions}) == len(questions)
    for q in questions:
        for lang in ("hi", "en"):
            assert q.question[lang].strip(), q.slug
            assert q.answer[lang].strip(), q.slug
        assert DEVANAGARI.search(q.question["hi"]), q.slug
        assert DEVANAGARI.search(q.answer["hi"]), q.slug
        assert not DEVANAGARI.search(q.question["en"] + q.answer["en"]), q.slug


def test_the_faq_page_answers_in_the_page_language(client: FlaskClient) -> None:
    _, english = _get(client, "/faq")
    _, hindi = _get(client, "/faq", "hi")

    assert "How do I register on the consumer portal?" in english
    assert "उपभोक्ता पोर्टल पर पंजीकरण कैसे करें?" in hindi
    assert "How do I register on the consumer portal?" not in hindi
    assert english.count("<details") == len(faq().questions)


def test_the_shared_field_macros_tie_hints_and_errors_to_their_fields(app: Flask) -> None:
    from flask import render_template_string

    source = (
        '{% from "site/forms.html" import field, select_field, textarea_field %}'
        '{{ field("mobile", "Mobile", value="98<x>", hint="10 digits", error="Give 10 digits.",'
        ' attrs={"maxlength": 10}) }}'
        '{{ select_field("kind", "Kind", [("a", "A"), ("b", "B")], selected="b") }}'
        '{{ textarea_field("text", "What happened", error="Too long.") }}'
    )
    with app.test_request_context("/"):
        html = render_template_string(source)
    page = Page(html)
    mobile, kind, text = page.fields

    assert page.labels_for == {"mobile", "kind", "text"}
    assert mobile["aria-describedby"] == "mobile-hint mobile-error"
    assert mobile["aria-invalid"] == "true"
    assert mobile["value"] == "98<x>"  # escaped in the markup, whole in the field
    assert mobile["maxlength"] == "10"
    assert "aria-describedby" not in kind
    assert '<option value="b" selected>B</option>' in html
    assert text["aria-describedby"] == "text-error"
    assert '<p class="error" id="mobile-error" role="alert">Give 10 digits.</p>' in html
