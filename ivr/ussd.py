"""USSD: a Turn as a text screen (`CON`/`END`), and the gateway's webhook that runs the dialog one screen at a time.

The gateway convention is Africa's Talking's, which most aggregators copy: a form POST of `sessionId`,
`serviceCode`, `phoneNumber` and `text`, where `text` is every input of the session so far joined by `*` (empty
on the first request). The answer is `text/plain`: `CON <screen>` to wait for the next input, `END <screen>` to
close the session.

Newest input. It is the part of `text` after its last `*`. No USSD screen offers `*` (or any input containing
it) as a choice, so the split is unambiguous for every valid input; a stray `*` typed by the consumer yields ''
(or what follows it), which the dialog treats as "no choice received" and asks again. An empty `text` is a new
session (`digits=None`). A gateway that repeats a request (same session, same `text`) gets the same screen
again from a small in-process memory, without advancing the dialog twice.

Screens. A USSD string is at most 160 octets (3GPP TS 24.080's ussd-String; TS 23.038 packing): 182 GSM-7
characters (an extension character such as `[`, `€` counts twice), or 80 UCS-2 characters, counted in UTF-16
code units, once any character is outside GSM-7 (Devanagari always is). Gateways pass the string through
unsplit, so these are the limits a screen is kept within. A screen is built from `speech.written_text` in the
turn's own language: a Hindi turn is always shown in Hindi (its catalog `screen_hi` texts are written to fit
80), an English one in English. A turn too long for one screen is shown in pages: each but the last ends with
`common.more` ("# More"), its menu's options stay together on the last page, and a reply of `#` shows the next
page without advancing the dialog (the turn is asked of the dialog again, by the request that first showed it). So
`#` alone is never a choice on a USSD screen; typed after an entry ("1234567890#") it is the entry's end. A
transfer ends the session with a screen that tells the consumer to call the helpline (1912), since USSD cannot
connect a voice call.

Trust. The gateway proves itself with a shared secret, in the `X-USSD-Secret` header or as the password of
HTTP basic auth (for gateways that only take a URL with credentials); compared in constant time. A request
without it gets 403 and changes nothing; with no secret configured, every request is refused.

Limits. A mobile over its limit (`throttle`, asked once the request is authenticated) gets an END screen saying
so, in the session's language, and the dialog does not run.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Blueprint, Response, request

from cis import inputs
from ivr import speech
from ivr.dialog import WebhookDialog
from ivr.logs import get_logger
from ivr.turns import Gather, Hangup, Item, Lang, Say, Transfer, Turn
from prompts.catalog import Catalog
from prompts.catalog import catalog as packaged_catalog

log = get_logger(__name__)

CHANNEL = "ussd"
GSM7_LIMIT = 182
UCS2_LIMIT = 80
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
TRANSFER_KEY = "common.transfer"
APOLOGY_KEY = "common.sorry_error"
SLOW_DOWN_KEY = "common.slow_down"
MORE_KEY = "common.more"  # "# More": the line that ends every page but the last
PAGE_KEY = "#"  # the reply that shows a turn's next page
_OPTION = re.compile(r"[0-9*#]+ ")  # a menu line: "1 Bill", "0 Agent"
SECRET_HEADER = "X-USSD-Secret"
MAX_INPUT = 64
PLAIN = "text/plain"
RETRY_AFTER_S = 30
MAX_SESSION_ID = 100  # what the CIS keeps of a call reference
MAX_TEXT = 500  # the whole input of a session: far more than any real one


# -- the renderer (pure) ---------------------------------------------------------------------------------------


def gsm7_length(text: str) -> int | None:
    """Septets needed to send `text` in the GSM-7 alphabet, or None if it needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM7_BASIC:
            length += 1
        elif char in GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length


def fits(text: str) -> bool:
    """Whether `text` fits one USSD screen: 182 GSM-7 septets, or 80 UCS-2 (UTF-16) code units."""
    septets = gsm7_length(text)
    if septets is not None:
        return septets <= GSM7_LIMIT
    return len(text.encode("utf-16-le")) // 2 <= UCS2_LIMIT


def ussd_pages(turn: Turn, catalog: Catalog) -> list[str]:
    """The screens that show `turn` in its own language: one when it fits, else pages that each fit."""
    content, options = _screen(turn, catalog)
    screen = "\n".join(part for part in (content, options) if part)
    if fits(screen):
        return [screen]
    return _paginate(content, options, catalog[MORE_KEY].screen_text(turn.lang))


def ussd_screen(turn: Turn, catalog: Catalog, page: int = 0) -> str:
    """One screen of `turn` (its first, or page `page`; past the last page, the last)."""
    pages = ussd_pages(turn, catalog)
    return pages[min(page, len(pages) - 1)]


def render_ussd(turn: Turn, catalog: Catalog, page: int = 0) -> str:
    """The gateway's answer for `turn`: `CON <screen>` while it waits for input (or shows a page with more to
    come), `END <screen>` for the last page of a final turn."""
    pages = ussd_pages(turn, catalog)
    at = min(page, len(pages) - 1)
    waits = isinstance(turn.action, Gather) or at < len(pages) - 1
    return ("CON " if waits else "END ") + pages[at]


def apology_ussd(catalog: Catalog) -> str:
    """What the gateway gets when handling the session failed: the apology and the helpline. Never raises."""
    try:
        return render_ussd(Turn("en", (Say(APOLOGY_KEY),), Transfer()), catalog)
    except Exception:
        return "END"


def slow_down_ussd(catalog: Catalog, lang: Lang) -> str:
    """The END screen for a mobile over its limit, in `lang` (Hindi when the session chose Hindi)."""
    return render_ussd(Turn(lang, (Say(SLOW_DOWN_KEY),), Hangup()), catalog)


def newest_input(text: str) -> str | None:
    """The consumer's latest input from the gateway's `text` (see the module's docstring); None: a new session."""
    if not text:
        return None
    return text.rsplit("*", 1)[-1].strip()[:MAX_INPUT]


def _session_id(raw: str) -> str | None:
    """The gateway's session id, or None when it cannot be one (empty, too long, control characters)."""
    try:
        return inputs.text(raw, field="sessionId", max_length=MAX_SESSION_ID)
    except inputs.InvalidInput:
        return None


def _screen(turn: Turn, catalog: Catalog) -> tuple[str, str]:
    """A turn's screen as its content and the menu options that end it ("8 Main menu\n0 Agent")."""
    items = list(turn.items)
    cut = len(items)
    while cut and _ends_in_options(items[cut - 1], turn, catalog):
        cut -= 1
    content = speech.written_text(items[:cut], turn.lang, catalog).strip()
    options = speech.written_text(items[cut:], turn.lang, catalog).strip()
    if isinstance(turn.action, Transfer) and turn.action.queue not in f"{content}\n{options}":
        # USSD cannot connect a call: a transfer's screen tells the consumer where to call.
        extra = catalog[TRANSFER_KEY].screen_text(turn.lang).strip("\n")
        content = f"{content}\n{extra}" if content else extra
    return content, options


def _ends_in_options(item: Item, turn: Turn, catalog: Catalog) -> bool:
    """An item of the options that end a screen: menu lines, or a glue word screens leave out."""
    if not isinstance(item, Say):
        return False
    text = catalog[item.key].screen_text(turn.lang).strip("\n")
    return not text or (speech.is_menu_line(item, text) and all(_OPTION.match(line) for line in text.split("\n")))


def _paginate(content: str, options_text: str, more: str) -> list[str]:
    """A screen as pages that each fit: lines kept whole where they can be, the menu options that end it kept
    together on the last page, and every page but the last ending with the `more` line."""
    pages: list[list[str]] = []
    page: list[str] = []
    lines = content.split("\n") if content else []
    for piece in [piece for line in lines for piece in _pieces(line, more)]:
        if page and not fits("\n".join([*page, piece, more])):
            pages.append(page)
            page = []
        page.append(piece)
    options = options_text.split("\n") if options_text else []
    if options and not fits("\n".join([*page, *options])):
        if page:
            pages.append(page)
            page = []
        for option in options:
            if page and not fits("\n".join([*page, option, more])):
                pages.append(page)
                page = []
            page.append(option)
    else:
        page += options
    pages.append(page)
    return ["\n".join([*p, more]) for p in pages[:-1]] + ["\n".join(pages[-1])]


def _pieces(line: str, more: str) -> list[str]:
    """A line cut at words (or, for one overlong word, characters) into pieces that fit above the `more` line."""
    if fits(f"{line}\n{more}"):
        return [line]
    log.warning("USSD screen line longer than a screen, cut into pieces: %r", line[:40])
    pieces: list[str] = []
    head = ""
    for word in line.split(" "):
        candidate = f"{head} {word}" if head else word
        if head and not fits(f"{candidate}\n{more}"):
            pieces.append(head)
            candidate = word
        while not fits(f"{candidate}\n{more}"):
            size = len(candidate) - 1
            while size > 1 and not fits(f"{candidate[:size]}\n{more}"):
                size -= 1
            pieces.append(candidate[:size])
            candidate = candidate[size:]
        head = candidate
    if head:
        pieces.append(head)
    return pieces


def paged_request(text: str) -> tuple[str, int]:
    """A request's `text` without its trailing page requests, and how many there were: "1*#*#" > ("1", 2)."""
    parts = text.split("*")
    count = 0
    while parts and parts[-1].strip() == PAGE_KEY:
        parts.pop()
        count += 1
    return "*".join(parts), count


# -- the webhook ----------------------------------------------------------------------------------------------


class _Replay:
    """The last answer per session, so a repeated request (same session, same `text`) gets it again."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def get(self, session: str, text: str) -> str | None:
        with self._lock:
            seen = self._answers.get(session)
        return seen[1] if seen is not None and seen[0] == text else None

    def put(self, session: str, text: str, body: str) -> None:
        with self._lock:
            self._answers[session] = (text, body)
            self._answers.move_to_end(session)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)

    def forget(self, session: str) -> None:
        with self._lock:
            self._answers.pop(session, None)


def ussd_blueprint(
    dialog: WebhookDialog,
    *,
    secret: str | None,
    catalog: Catalog | None = None,
    secret_header: str = SECRET_HEADER,
    replay_size: int = 10_000,
    name: str = "ussd",
    throttle: Callable[[str], int | None] | None = None,
) -> Blueprint:
    """POST /ussd (a screen request) and POST /ussd/end (the gateway's end-of-session notification).

    `throttle(mobile)` is None while the mobile is within its limit, else the seconds until it is again.
    """
    bp = Blueprint(name, __name__)
    cat = catalog if catalog is not None else packaged_catalog()
    replay = _Replay(replay_size)
    expected = secret.encode() if secret else None
    if expected is None:
        log.error("USSD webhook has no shared secret: every request will be refused")

    def plain(body: str, status: int = 200) -> Response:
        return Response(body, status=status, mimetype=PLAIN)

    @bp.before_request
    def authenticate() -> Response | None:
        if expected is None:
            log.error("refused USSD request to %s: no shared secret configured", request.path)
            return plain("", 403)
        auth = request.authorization
        given = request.headers.get(secret_header) or (auth.password if auth and auth.password else "")
        if not given or not hmac.compare_digest(given.encode(), expected):
            log.warning("refused USSD request to %s: %s secret", request.path, "wrong" if given else "no")
            return plain("", 403)
        return None

    @bp.post("/ussd")
    def screen() -> Response:
        form = request.form
        session = _session_id(form.get("sessionId", ""))
        if session is None:
            return plain("END", 400)
        # The consumer's keys are answered whatever they hold: characters no database can store are dropped.
        text = inputs.cleaned(form.get("text", ""), max_length=MAX_TEXT)
        again = replay.get(session, text)
        if again is not None:
            return plain(again)
        if throttle is not None and throttle(form.get("phoneNumber", "")) is not None:
            log.info("USSD session %s: the mobile is over its limit", session)
            return plain(slow_down_ussd(cat, _session_lang(dialog, session)))
        # "#" shows the next page of the screen the request before it showed: that request is asked again,
        # which the dialog answers with the same turn without advancing.
        asked, page = paged_request(text)
        try:
            turn = dialog.handle(
                channel=CHANNEL,
                call_ref=session,
                caller=inputs.cleaned(form.get("phoneNumber", ""), max_length=MAX_SESSION_ID),
                digits=newest_input(asked),
                lang=None,
                called=inputs.cleaned(form.get("serviceCode", ""), max_length=MAX_SESSION_ID) or None,
                # The whole input so far names the request: a gateway's retry, on any web process, is
                # answered with the same screen and does not advance the session.
                request_key=asked,
            )
            body = render_ussd(turn, cat, page)
        except Exception:
            log.exception("USSD session %s: handling failed, ending it with an apology", session)
            body = apology_ussd(cat)
        replay.put(session, text, body)
        return plain(body)

    @bp.post("/ussd/end")
    def end() -> Response:
        form = request.form
        session = _session_id(form.get("sessionId", ""))
        if session is None:
            return plain("", 400)
        replay.forget(session)
        millis = form.get("durationInMillis", "")
        try:
            dialog.hangup(CHANNEL, session, duration_s=round(int(millis) / 1000) if millis.isdigit() else None)
        except Exception:
            log.exception("USSD session %s: ending the call record failed", session)
            response = plain("", 503)  # the database is down or slow: the gateway may notify again later
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        return plain("OK")

    return bp


def _session_lang(dialog: WebhookDialog, session: str) -> Lang:
    """The language the session is in (Hindi once the consumer chose it); English for a new or unknown one."""
    try:
        return dialog.language(CHANNEL, session) or "en"
    except Exception:
        log.exception("USSD session %s: its language could not be read", session)
        return "en"
