"""Hindi and English on every web page: the locale of a request, the merged Hindi catalog, money and dates.

The locale is the `lang` cookie ("hi" or "en", set by GET /lang/<code>), else the best match of the browser's
Accept-Language, else English. It is returned as hi_IN / en_IN so that Babel groups rupees the Indian way
(₹1,23,456.00; the bare "en" would give ₹123,456.00); gettext falls back from hi_IN to the Hindi catalog.

Every area of the site keeps its Hindi text in a catalog of its own, cis/web/translations/<area>/hi.po, so that
no two features edit one file. When the app starts they are all read and merged into one gettext catalog,
compiled in memory: no compiled .mo file is kept in the repository and no `pybabel compile` step is needed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_app_context, request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import Babel, Domain, get_locale
from jinja2 import BaseLoader, pass_eval_context
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.nodes import EvalContext
from markupsafe import Markup
from werkzeug.wrappers import Response

LANGS = ("hi", "en")
LOCALES = {"hi": "hi_IN", "en": "en_IN"}
LANG_COOKIE = "lang"
LANG_NAMES = {"hi": "हिन्दी", "en": "English"}  # each language named in itself, for the toggle
IST = ZoneInfo("Asia/Kolkata")
MINUS = "\u2212"
TRANSLATIONS = "translations"


def N_(message: str) -> str:  # the name gettext's extractors know
    """Mark `message` for the catalogs where it is defined; translate it with `_()` where it is shown."""
    return message


def page_locale() -> Locale | None:
    """Flask-Babel's `get_locale()`, read straight from where it keeps it once chosen for this request.

    A page asks for its locale a few hundred times (every message, amount and date); each `get_locale()` goes
    through several context-local lookups. The chosen locale is where Flask-Babel stores it (so `force_locale`
    still holds); the first call of a request, or one outside any, goes the long way.
    """
    try:
        return g._flask_babel.babel_locale  # type: ignore[no-any-return]
    except (AttributeError, RuntimeError):
        return get_locale()


def page_lang() -> str:
    """'hi' or 'en': the language of the page being answered."""
    locale = page_locale()
    return "hi" if locale is not None and locale.language == "hi" else "en"


def select_locale() -> str:
    """The cookie's language, else the browser's best match, else English; as hi_IN / en_IN."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen not in LANGS:
        chosen = request.accept_languages.best_match(LANGS, default="en")
    return LOCALES[chosen or "en"]


def catalog_files(root: Path | None = None) -> list[Path]:
    """Every area's Hindi catalog: translations/<area>/hi.po under cis/web (or `root`), in a fixed order."""
    base = root or Path(str(resources.files("cis.web") / TRANSLATIONS))
    return sorted(base.glob("*/hi.po"))


def merged_catalog(files: Iterable[Path]) -> Translations:
    """One gettext catalog holding the translated messages of all `files`, compiled in memory.

    A message two areas both translate takes the text of the area read first (areas in name order); the
    completeness test in tests/integration/test_site_shell.py makes sure every message has a text somewhere.
    """
    from babel.messages.catalog import Catalog

    merged = Catalog(locale="hi", domain="messages")
    for path in files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="hi")
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            if merged.get(message.id, message.context) is None:
                merged.add(message.id, message.string, context=message.context)
    buffer = BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


class _CatalogDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, but answering from the catalog merged at start instead of .mo files on disk."""

    def __init__(self, hindi: Translations) -> None:
        super().__init__()
        self._hindi = hindi
        self._none = NullTranslations()
        self._texts: dict[tuple[str, str | None], PageText] = {}

    def get_translations(self) -> Translations | NullTranslations:
        return self._hindi if page_lang() == "hi" else self._none

    def page_text(self) -> PageText:
        """The page's `PageText`, one kept per locale: a page asks for it at every message made in Python."""
        locale = page_locale()
        key = (locale.language, locale.territory) if locale is not None else ("en", "IN")
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = PageText(self._hindi if key[0] == "hi" else self._none, locale)
        return found


class _SiteBabel(Babel):  # type: ignore[misc]
    """Flask-Babel with one domain object for the app's life (its own makes a new one for every request)."""

    def __init__(self, hindi: Translations) -> None:
        self._domain = _CatalogDomain(hindi)
        super().__init__()

    @property
    def domain_instance(self) -> Domain:
        return self._domain


# The page locales whose rupees and whole numbers are written 1,23,45,678.90 with Latin digits: Babel's own
# formatting gives exactly that for both, at some 40 times the cost, and a bill page writes a hundred amounts.
INDIAN_GROUPING = frozenset({"en_IN", "hi_IN"})


def indian_digits(whole: int) -> str:
    """12345678 -> '1,23,45,678': the last three digits, then pairs (a non-negative integer)."""
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs = [head[max(0, end - 2) : end] for end in range(len(head), 0, -2)]
    return ",".join(reversed(pairs)) + "," + tail


def inr(paise: int | None) -> str:
    """'₹1,23,456.00' from paise, grouped the Indian way; '−₹0.25' with a real minus sign; '' for None."""
    return _page_formats().inr(paise)


def number(value: int | float | Decimal, places: int | None = None) -> str:
    """1,23,45,678 (Indian grouping) in the page's locale; with `places`, that many digits after the point."""
    return _page_formats().number(value, places)


def date_text(day: dt.date | dt.datetime | None) -> str:
    """'20 Nov 2026' or '20 नव॰ 2026' (a moment is shown as its IST date)."""
    return _page_formats().date_text(day)


@functools.lru_cache(maxsize=4096)
def _date_in(day: dt.date, locale: str) -> str:
    # Few distinct days are shown (bill, due and payment dates), each many times: Babel formats each once.
    return str(format_date(day, "d MMM y", locale=Locale.parse(locale)))


class PageText:
    """The page's language, looked up once: its catalog, and money, numbers and dates written in its locale.

    `inr`, `number` and `date_text` above look the locale up again at every call, and a "my account" page makes
    some 250 of them. Templates get one of these per render (`_`, `gettext`, `inr`, `number`, `date_text` in
    their context, from `install_i18n`'s context processor); Python code that writes many rows makes one with
    `page_text()`. Each method gives exactly what the function of the same name gives.
    """

    __slots__ = ("_indian", "_locale_id", "catalog", "locale")

    def __init__(self, catalog: NullTranslations, locale: Locale | None) -> None:
        self.catalog = catalog
        self.locale = locale or Locale.parse("en_IN")
        self._locale_id = str(self.locale)
        self._indian = self._locale_id in INDIAN_GROUPING

    def gettext(self, string: str, **variables: Any) -> str:
        text = self.catalog.ugettext(string)
        return text % variables if variables else text

    def pgettext(self, context: str, string: str, **variables: Any) -> str:
        text = self.catalog.upgettext(context, string)
        return text % variables if variables else text

    def inr(self, paise: int | None) -> str:
        if paise is None:
            return ""
        if self._indian:
            rupees, rest = divmod(abs(paise), 100)
            return f"{MINUS if paise < 0 else ''}₹{indian_digits(rupees)}.{rest:02d}"
        text = format_currency(Decimal(paise) / 100, "INR", locale=self.locale)
        return MINUS + text.lstrip("-") if paise < 0 else text

    def number(self, value: int | float | Decimal, places: int | None = None) -> str:
        if places is None and isinstance(value, int) and self._indian:
            return ("-" if value < 0 else "") + indian_digits(abs(value))
        if places is None:
            return str(format_decimal(value, locale=self.locale))
        pattern = "#,##,##0" + ("." + "0" * places if places else "")
        return str(format_decimal(value, format=pattern, locale=self.locale, decimal_quantization=True))

    def date_text(self, day: dt.date | dt.datetime | None) -> str:
        if day is None:
            return ""
        if isinstance(day, dt.datetime):
            day = day.astimezone(IST).date() if day.tzinfo else day.date()
        return _date_in(day, self._locale_id)


I18N_EXTENSION = "urja.i18n"
_NO_CATALOG = NullTranslations()


def _page_formats() -> PageText:
    """The app's kept `PageText` for this page; outside an app with the site's i18n, one made for the call (the
    catalog is not needed for money, numbers and dates)."""
    domain = current_app.extensions.get(I18N_EXTENSION) if has_app_context() else None
    return domain.page_text() if isinstance(domain, _CatalogDomain) else PageText(_NO_CATALOG, page_locale())


def page_text() -> PageText:
    """The page being answered's language, looked up once (see `PageText`)."""
    domain: _CatalogDomain = current_app.extensions[I18N_EXTENSION]
    return domain.page_text()


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's `gettext` (the message in the page's language, `variables` put in), through the app's one
    domain without Flask-Babel's context lookups."""
    return page_text().gettext(string, **variables)


def pgettext(context: str, string: str, **variables: Any) -> str:
    """Flask-Babel's `pgettext`, as `gettext` here."""
    return page_text().pgettext(context, string, **variables)


def moment_text(moment: dt.datetime | None) -> str:
    """'20 Nov 2026, 3:30 pm IST' in the page's language; a naive moment is taken as UTC."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    text = format_datetime(moment, "d MMM y, h:mm a", tzinfo=IST, locale=get_locale() or Locale.parse("en_IN"))
    return f"{text} IST"


# --- templates compiled once per language ---------------------------------------------------------------------
# A page's constant messages, `{{ _("Bill history") }}`, are the same for every page in one language: each
# template is compiled once per language (its name carries the language, "@hi/account/bills.html") with those
# messages already in it, so that a page does not call `_()` a hundred times to find the same texts again. A
# message with variables, or one used inside an expression (`nav_link("/", _("Home"))`), is still translated
# when the page is made.

LANG_PREFIX = "@"


def _language_of(name: str | None) -> str | None:
    if name and name.startswith(LANG_PREFIX) and "/" in name:
        return name[len(LANG_PREFIX) : name.index("/")]
    return None


def _bare(name: str) -> str:
    return name[name.index("/") + 1 :] if _language_of(name) is not None else name


class _LanguageLoader(BaseLoader):
    """The app's template loader, for names that carry a language: '@hi/account/bills.html' is the template
    'account/bills.html' (its file, its source, whether it changed)."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment: Any, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        return self.inner.get_source(environment, _bare(template))

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


class PageLanguageEnvironment(FlaskEnvironment):  # type: ignore[misc]
    """Flask's template environment, asking for each template in the page's language: `render_template("x.html")`
    gets '@hi/x.html' on a Hindi page, and what it extends, includes or imports comes in the same language."""

    def __init__(self, app: Flask, **options: Any) -> None:
        super().__init__(app, **options)
        self.loader = _LanguageLoader(self.loader)

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Any:
        if isinstance(name, str) and parent is None and _language_of(name) is None:
            name = f"{LANG_PREFIX}{page_lang()}/{name}"
        return super().get_template(name, parent, globals)

    def join_path(self, template: str, parent: str) -> str:
        language = _language_of(parent)
        if language is None or _language_of(template) is not None:
            return template
        return f"{LANG_PREFIX}{language}/{template}"


_CONSTANT_MESSAGE = ("variable_begin", "name", "lparen", "string", "rparen", "variable_end")


class ConstantMessages(Extension):
    """Puts each `{{ _("a constant message") }}` of a template compiled for a language (see
    `PageLanguageEnvironment`) into the template as text, translated: what `_()` would give at every render
    (the catalog's text, `%%` written as `%`; markup, so not escaped again)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        catalogs: dict[str, NullTranslations] = getattr(self.environment, "urja_catalogs", {})
        catalog = catalogs.get(_language_of(stream.name) or "")
        tokens = list(stream)
        if catalog is None:
            yield from tokens
            return
        at = 0
        while at < len(tokens):
            window = tokens[at : at + len(_CONSTANT_MESSAGE)]
            if tuple(t.type for t in window) == _CONSTANT_MESSAGE and window[1].value in ("_", "gettext"):
                try:
                    text = catalog.ugettext(window[3].value) % {}
                except (KeyError, ValueError, TypeError):  # a message that wants variables: left to the render
                    text = None
                if text is not None:
                    yield Token(window[0].lineno, "data", text)
                    at += len(window)
                    continue
            yield tokens[at]
            at += 1


def _template_gettext(translations: Callable[[], NullTranslations]) -> Callable[..., str]:
    """The templates' `_()` and `gettext()` in the catalog `translations` gives: what jinja2.ext's newstyle
    gettext does (markup when autoescaping, variables escaped into it), in one call where `_()` went through
    three (an alias, the newstyle wrapper, the callable) per message."""

    @pass_eval_context
    def template_gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
        text = translations().ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)
        return text % variables  # type: ignore[no-any-return]

    return template_gettext


def install_i18n(app: Flask, *, site_name: str = "", catalogs: Path | None = None) -> None:
    """Flask-Babel on `app` with the merged Hindi catalog, the money and date helpers, and `Vary` on pages.

    Call it before any blueprint renders; templates then have `_()`, `inr()`, `date_text()`, `moment_text()`,
    `number()`, `page_lang()` and `site_name`.
    """
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en_IN")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata")
    if "jinja_env" in app.__dict__:  # Flask makes its environment at first use, of the class named here
        raise RuntimeError("install_i18n() must come before anything uses the app's templates")
    app.jinja_environment = PageLanguageEnvironment
    hindi = merged_catalog(catalog_files(catalogs))
    babel = _SiteBabel(hindi)
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel's template gettext finds the domain through several context-local lookups for every message
    # (a bill page shows ~100): ours asks the app's one domain, which reads the locale where it is kept.
    domain = babel.domain_instance
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: domain.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: domain.get_translations().unpgettext(c, s, p, n),
    )

    template_gettext = _template_gettext(domain.get_translations)
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
    app.jinja_env.extend(urja_catalogs={"hi": hindi, "en": NullTranslations()})
    app.jinja_env.add_extension(ConstantMessages)
    app.extensions["urja.site_name"] = site_name
    app.extensions[I18N_EXTENSION] = domain
    app.jinja_env.filters.update(inr=inr, date_text=date_text, moment_text=moment_text, number=number)
    app.jinja_env.globals.update(
        inr=inr,
        date_text=date_text,
        moment_text=moment_text,
        number=number,
        page_lang=page_lang,
        lang_names=LANG_NAMES,
    )

    @app.context_processor
    def _site() -> dict[str, Any]:
        # The page's language looked up once per render rather than at each of its hundreds of messages,
        # amounts and dates: a template (and a macro imported with context) finds these before the globals
        # above, which stay for templates imported without context.
        text = page_text()
        catalog = text.catalog
        page_gettext = _template_gettext(lambda: catalog)
        return {
            "site_name": site_name,
            "_": page_gettext,
            "gettext": page_gettext,
            "inr": text.inr,
            "number": text.number,
            "date_text": text.date_text,
        }

    @app.after_request
    def _vary(response: Response) -> Response:
        # A page chosen by language must not be served from a shared cache to someone who asked for the other.
        babel_ctx = getattr(g, "_flask_babel", None)
        if babel_ctx is not None and getattr(babel_ctx, "babel_locale", None) is not None:
            response.vary.update(("Accept-Language", "Cookie"))
        return response
