"""What every consumer page shares: the layout's stylesheet, the language switch and the FAQ.

GET /lang/<hi|en>?next=/path   remembers the language in the `lang` cookie for a year, back to `next` (a path
                               on this site only: anything else goes to /)
GET /faq                       questions consumers ask, in the page's language (cis/data/faq.toml)
/static/site/...               the layout's stylesheet (cis/web/static/site)
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from cis.web.i18n import LANG_COOKIE, LANGS, install_i18n, page_lang

ONE_YEAR_S = 365 * 24 * 3600
MAX_NEXT = 512


@dataclass(frozen=True)
class Question:
    slug: str
    question: dict[str, str]  # by language
    answer: dict[str, str]


@dataclass(frozen=True)
class Faq:
    updated: dt.date
    questions: tuple[Question, ...]


@cache
def faq() -> Faq:
    """The questions of cis/data/faq.toml, in file order; each has Hindi and English text."""
    data = tomllib.loads((resources.files("cis") / "data" / "faq.toml").read_text(encoding="utf-8"))
    questions = tuple(
        Question(
            slug=item["slug"],
            question={"hi": item["question_hi"], "en": item["question_en"]},
            answer={"hi": item["answer_hi"], "en": item["answer_en"]},
        )
        for item in data["question"]
    )
    return Faq(updated=data["updated"], questions=questions)


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site ('/outages?x=1'), else '/': never a way to send someone elsewhere."""
    if not target or len(target) > MAX_NEXT:
        return "/"
    target = target.strip()
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def site_blueprint() -> Blueprint:
    bp = Blueprint(
        "site", __name__, template_folder="templates", static_folder="static/site", static_url_path="/static/site"
    )

    @bp.get("/lang/<code>")
    def switch_language(code: str) -> ResponseReturnValue:
        if code not in LANGS:
            abort(404)
        response = redirect(local_path(request.args.get("next")), code=303)
        secure = request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE", False)
        response.set_cookie(
            LANG_COOKIE, code, max_age=ONE_YEAR_S, samesite="Lax", httponly=True, secure=bool(secure), path="/"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/faq")
    def questions() -> ResponseReturnValue:
        found = faq()
        return render_template("site/faq.html", questions=found.questions, updated=found.updated, lang=page_lang())

    return bp


def install_site(app: Flask, *, site_name: str = "") -> None:
    """What every consumer page needs from `app`: Flask-Babel with the merged catalogs, and the site blueprint
    (the layout's stylesheet, /lang and /faq). Pages then extend "site/base.html"."""
    install_i18n(app, site_name=site_name)
    app.register_blueprint(site_blueprint())
