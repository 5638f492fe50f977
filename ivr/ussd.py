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

Screens. A USSD string is at most 160 octets: 182 GSM-7 characters (an extension character such as `[`, `€`
counts twice), or 80 UCS-2 characters (3GPP TS 23.038; Devanagari needs UCS-2). A screen is built from
`speech.written_text`, in Hindi when the turn is Hindi and its Hindi screen fits 80 characters, otherwise in
English; an English screen over its limit is cut at a line (or word) and logged, so a catalog change that
breaks a menu shows up in the logs and in the tests rather than as a screen the network rejects. A transfer
ends the session with a screen that tells the consumer to call the helpline (1912), since USSD cannot connect
a voice call.

Trust. The gateway proves itself with a shared secret, in the `X-USSD-Secret` header or as the password of
HTTP basic auth (for gateways that only take a URL with credentials); compared in constant time. A request
without it gets 403 and changes nothing; with no secret configured, every request is refused.
"""

from __future__ import annotations

import hmac
import threading
from collections import OrderedDict
from collections.abc import Sequence

from flask import Blueprint, Response, request

from cis import inputs
from ivr import speech
from ivr.dialog import WebhookDialog
from ivr.logs import get_logger
from ivr.turns import Gather, Lang, Say, Transfer, Turn
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


def ussd_screen(turn: Turn, catalog: Catalog) -> str:
    """The screen for `turn`: Hindi if asked for and it fits, else English, cut to fit if it must be."""
    langs: Sequence[Lang] = ("hi", "en") if turn.lang == "hi" else ("en",)
    for lang in langs:
        screen = _screen(turn, lang, catalog)
        if fits(screen) and _tells_where_to_call(turn, screen):
            return screen
    log.warning("USSD screen too long, cut to fit: %s", " ".join(_keys(turn)))
    return _cut(screen)


def render_ussd(turn: Turn, catalog: Catalog) -> str:
    """The gateway's answer for `turn`: `CON <screen>` while it waits for input, `END <screen>` when it is final."""
    return ("CON " if isinstance(turn.action, Gather) else "END ") + ussd_screen(turn, catalog)


def apology_ussd(catalog: Catalog) -> str:
    """What the gateway gets when handling the session failed: the apology and the helpline. Never raises."""
    try:
        return render_ussd(Turn("en", (Say(APOLOGY_KEY),), Transfer()), catalog)
    except Exception:
        return "END"


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


def _screen(turn: Turn, lang: Lang, catalog: Catalog) -> str:
    text = speech.written_text(turn.items, lang, catalog).strip()
    if isinstance(turn.action, Transfer) and turn.action.queue not in text:
        extra = catalog[TRANSFER_KEY].screen_text(lang)
        text = f"{text}\n{extra}" if text else extra
    return text


def _tells_where_to_call(turn: Turn, screen: str) -> bool:
    """A transfer's screen must show the helpline's number (a queue that is a name, not a number, has none)."""
    action = turn.action
    return not isinstance(action, Transfer) or not action.queue.isdigit() or action.queue in screen


def _keys(turn: Turn) -> list[str]:
    return [item.key for item in turn.items if isinstance(item, Say)]


def _cut(text: str) -> str:
    """The longest head of `text` that fits: whole lines if any fit, else whole words, else characters."""
    lines = text.split("\n")
    kept: list[str] = []
    for line in lines:
        if not fits("\n".join([*kept, line])):
            break
        kept.append(line)
    if kept:
        return "\n".join(kept)
    words = text.split(" ")
    head = ""
    for word in words:
        candidate = f"{head} {word}" if head else word
        if not fits(candidate):
            break
        head = candidate
    if head:
        return head
    while text and not fits(text):
        text = text[:-1]
    return text


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
) -> Blueprint:
    """POST /ussd (a screen request) and POST /ussd/end (the gateway's end-of-session notification)."""
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
        try:
            turn = dialog.handle(
                channel=CHANNEL,
                call_ref=session,
                caller=inputs.cleaned(form.get("phoneNumber", ""), max_length=MAX_SESSION_ID),
                digits=newest_input(text),
                lang=None,
                called=inputs.cleaned(form.get("serviceCode", ""), max_length=MAX_SESSION_ID) or None,
                # The whole input so far names the request: a gateway's retry, on any web process, is
                # answered with the same screen and does not advance the session.
                request_key=text,
            )
            body = render_ussd(turn, cat)
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
