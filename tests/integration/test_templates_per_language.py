"""Templates compiled once per page language, their constant messages put in as text (cis/web/i18n.py): a page
reads the same as when every `_()` was called at render, in both languages, whatever it extends or includes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, render_template, render_template_string
from jinja2 import DictLoader

from cis.web.i18n import install_i18n

CATALOG = {
    "Bill history": "बिल इतिहास",
    "Paid 100%%": "100%% भुगतान",
    "Read <strong>this</strong>": "<strong>यह</strong> पढ़ें",
    "Hello %(name)s": "नमस्ते %(name)s",
    "Home": "मुख पृष्ठ",
    "Footer": "पाद",
}
TEMPLATES = {
    "base.html": '<html lang="{{ page_lang() }}"><main>{% block body %}{% endblock %}</main>'
    "<footer>{{ _('Footer') }}</footer>{% include 'part.html' %}</html>",
    "part.html": "<nav>{{ _(\"Home\") }}|{{ link(_('Home')) }}</nav>",
    "macros.html": "{% macro heading(text) %}<h2>{{ text }}</h2>{% endmacro %}",
    "page.html": "{% extends 'base.html' %}{% from 'macros.html' import heading %}{% block body %}"
    "<h1>{{ _('Bill history') }}</h1><p>{{ _('Paid 100%%') }}</p><p>{{ _('Read <strong>this</strong>') }}</p>"
    "<p>{{ _('Hello %(name)s', name=who) }}</p>{{ heading(_('Bill history')) }}"
    "<p>{{- _('Not in the catalog') -}}</p>{% endblock %}",
}


def _po(messages: dict[str, str]) -> str:
    body = "".join(f'\nmsgid "{k}"\nmsgstr "{v}"\n' for k, v in messages.items())
    return 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n' + body


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    (tmp_path / "area").mkdir()
    (tmp_path / "area" / "hi.po").write_text(_po(CATALOG), encoding="utf-8")
    made = Flask(__name__)
    install_i18n(made, catalogs=tmp_path)
    made.jinja_env.loader.inner = DictLoader(TEMPLATES)  # type: ignore[union-attr]
    made.jinja_env.globals["link"] = lambda text: f"[{text}]"

    @made.get("/page")
    def page() -> str:
        return render_template("page.html", who="<Asha & Co>")

    @made.get("/string")
    def string() -> str:
        return render_template_string("{{ _('Home') }}")

    return made


def _page(app: Flask, lang: str, path: str = "/page") -> str:
    client = app.test_client()
    client.set_cookie("lang", lang)
    return client.get(path).get_data(as_text=True)


def test_a_page_in_hindi_has_its_constant_messages_in_hindi_and_the_rest_as_at_render(app: Flask) -> None:
    page = _page(app, "hi")
    assert '<html lang="hi">' in page
    assert "<h1>बिल इतिहास</h1>" in page
    assert "<p>100% भुगतान</p>" in page  # %% is a per cent sign, as _() gave it
    assert "<p><strong>यह</strong> पढ़ें</p>" in page  # a message's own markup is kept, not escaped
    assert "<p>नमस्ते &lt;Asha &amp; Co&gt;</p>" in page  # variables are still escaped into their message
    assert "<h2>बिल इतिहास</h2>" in page  # in an expression: translated at render
    assert "<p>Not in the catalog</p>" in page  # whitespace control kept
    assert "<nav>मुख पृष्ठ|[मुख पृष्ठ]</nav>" in page  # included in the same language
    assert "<footer>पाद</footer>" in page  # what it extends, too


def test_the_same_templates_in_english_then_hindi_again_keep_each_language(app: Flask) -> None:
    english = _page(app, "en")
    assert "<h1>Bill history</h1>" in english
    assert "<p>Paid 100%</p>" in english
    assert "<nav>Home|[Home]</nav>" in english
    assert "<footer>Footer</footer>" in english
    assert "<p>Hello &lt;Asha &amp; Co&gt;</p>" in english
    assert "<h1>बिल इतिहास</h1>" in _page(app, "hi")
    assert _page(app, "en") == english


def test_templates_are_compiled_once_for_each_language(app: Flask) -> None:
    _page(app, "hi")
    _page(app, "en")
    _page(app, "hi")
    names = sorted(name for _, name in app.jinja_env.cache)  # type: ignore[union-attr]
    assert names == sorted(f"@{lang}/{t}" for lang in ("en", "hi") for t in TEMPLATES)


def test_a_template_from_a_string_translates_at_render(app: Flask) -> None:
    assert _page(app, "hi", "/string") == "मुख पृष्ठ"
    assert _page(app, "en", "/string") == "Home"


def test_the_language_must_be_installed_before_any_template_is_used() -> None:
    made = Flask(__name__)
    made.jinja_env.globals["x"] = 1  # Flask makes its template environment here
    with pytest.raises(RuntimeError, match="before anything uses the app's templates"):
        install_i18n(made)
