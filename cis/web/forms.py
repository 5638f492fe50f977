"""Blank application forms to print and fill in by hand, for anyone (no sign-in): the list and each PDF.

GET /forms                   the forms, each with what it is for and a link to its PDF
GET /forms/<name>.pdf        one blank form in Hindi and English (`cis.forms_pdf`), e.g. /forms/new-connection.pdf

The forms are cis/data/application_forms.toml, the same fields the portal's online requests take.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template
from flask.typing import ResponseReturnValue

from cis.application_forms import Form, forms_updated, load_forms
from cis.forms_pdf import form_pdf
from cis.web.i18n import page_lang

PDF_MAX_AGE_S = 3600  # a blank form changes only with a release; an hour keeps a proxy from serving an old one long


def slug(key: str) -> str:
    """new_connection -> new-connection, as the form's address names it."""
    return key.replace("_", "-")


def forms_blueprint(*, portal_url: str | None = None, helpline: str = "1912") -> Blueprint:
    bp = Blueprint("forms", __name__, template_folder="templates")

    def found(name: str) -> Form:
        forms = load_forms()
        key = name.replace("-", "_")
        if name != slug(key) or key not in forms:
            abort(404)
        return forms[key]

    @bp.get("/forms")
    def index() -> ResponseReturnValue:
        lang = page_lang()
        shown = [
            {
                "slug": slug(f.key),
                "title": f.title.hi if lang == "hi" else f.title.en,
                "intro": f.intro.hi if lang == "hi" else f.intro.en,
                "kind": f.kind,
            }
            for f in load_forms().values()
        ]
        return render_template("forms/index.html", forms=shown, updated=forms_updated(), helpline=helpline)

    @bp.get("/forms/<name>.pdf")
    def pdf(name: str) -> ResponseReturnValue:
        the_form = found(name)
        response = make_response(form_pdf(the_form.key, portal_url=portal_url, helpline=helpline))
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="form-{slug(the_form.key)}.pdf"'
        response.headers["Cache-Control"] = f"public, max-age={PDF_MAX_AGE_S}"
        return response

    return bp
