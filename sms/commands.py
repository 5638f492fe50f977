"""The SMS keyword parser: a consumer's free-typed English text in, exactly one Command out, never an error."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

# Three concatenated GSM-7 segments; anything longer is no keyword command, and cutting it keeps every
# step below linear in a bounded length however long the message was.
MAX_INPUT_CHARS = 480
ACCOUNT_NO_LENGTH = 10  # as cis.numbers.ACCOUNT_NO_LENGTH; repeated so this module stays import-free
OTP_LENGTH = 6
COMPLAINT_NO_DIGITS = (8, 16)  # the range cis.numbers.complaint_id_for_no accepts
COMPLAINT_TEXT_MAX = 160
MAX_KWH_DIGITS = 8  # the longest register on an HT meter
MAX_LOAD_KW = Decimal(100_000)
MAX_UNITS = 10_000_000

CALC_CATEGORIES = ("LMV-1L", "LMV-1R", "LMV-1U", "LMV-2", "LMV-5", "HV-2")
COMPLAINT_TYPES = ("NOSUPPLY", "VOLTAGE", "METER", "BILLING", "DANGER", "THEFT")


@dataclass(frozen=True)
class Bill:
    account: str | None = None


@dataclass(frozen=True)
class Pay:
    account: str | None = None


@dataclass(frozen=True)
class Complaint:
    account: str | None
    category: str  # a cis.complaints.CATEGORIES code
    text: str | None = None


@dataclass(frozen=True)
class Status:
    number: str  # digits only; the check digit is the use case's to verify


@dataclass(frozen=True)
class Outage:
    account: str | None = None


@dataclass(frozen=True)
class Register:
    account: str


@dataclass(frozen=True)
class Calc:
    category: str
    load_kw: Decimal
    units: int


@dataclass(frozen=True)
class Read:
    account: str | None
    kwh: int


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Claim:
    """Claim the compensation waiting on the sender's accounts (Standards of Performance)."""


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class OtpReply:
    """A bare 6-digit message (or `OTP 123456`): the answer to the code a REG sent to the mobile on record."""

    code: str


@dataclass(frozen=True)
class CheckReply:
    """A bare 1 or 2 (or YES / NO): the answer to "is power back at your premises?" after a restoration.

    Only a mobile that was asked has a question to answer; for any other it means nothing (HELP).
    """

    answer: int  # 1 power back, 2 still off


@dataclass(frozen=True)
class Roster:
    """ROSTER [ON|OFF] [account]: the daily supply schedule of the account's feeder by SMS, or no more of it."""

    account: str | None = None
    on: bool = True


@dataclass(frozen=True)
class Help:
    """HELP asked for (reason None), or the message could not be read (reason says why, short English).

    `command` names the command whose syntax the sender needs (COMP, STATUS, CALC, READ, REG, or ACCOUNT for
    an account number that is not one), when the message showed which: a bare `COMP`, `STATUS 12`, `HELP READ`.
    """

    reason: str | None = None
    command: str | None = None


Command: TypeAlias = (
    Bill
    | Claim
    | Pay
    | Complaint
    | Status
    | Outage
    | Register
    | Calc
    | Read
    | Stop
    | Start
    | OtpReply
    | CheckReply
    | Roster
    | Help
)

NEED_COMPLAINT_TYPE = "COMP needs a type: " + ", ".join(COMPLAINT_TYPES)
NEED_ACCOUNT = "an account number has 10 digits"
NEED_CATEGORY = "CALC needs a category: " + ", ".join(CALC_CATEGORIES)
CALC_USAGE = "CALC needs category, load in kW and units, e.g. CALC LMV-1U 2 150"


def _words(spaced: str) -> tuple[str, ...]:
    return tuple(spaced.split())


_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(_words("BILL BIL BILLL BILLS BLL BIIL BILLE"), "BILL"),
    **dict.fromkeys(_words("PAY PAYY PAYMENT PAYMNT PAYNOW PAYBILL"), "PAY"),
    **dict.fromkeys(
        _words(
            "COMP COMPL CMP CMPL COMPLAINT COMPLAINTS COMPLAIN COMPLAINE COMPLANT COMPLIANT COMPLNT COMPALINT COMPLAIT "
            "COMLAINT COMPLAINTT"
        ),
        "COMP",
    ),
    **dict.fromkeys(_words("STATUS STAUS STATS STAT STATSU STATAS STTS STATUSS STATU TRACK"), "STATUS"),
    **dict.fromkeys(_words("OUTAGE OUTAGES OUTAG OUTGE POWERCUT POWERCUTS SHUTDOWN CUT"), "OUTAGE"),
    **dict.fromkeys(_words("REG REGD REGISTER REGISTRATION REGSITER REGISTR RGSTR REGESTER LINK"), "REG"),
    **dict.fromkeys(_words("CALC CALCULATE CALCULATOR CALCULATION CALCU CALK CALCUL ESTIMATE"), "CALC"),
    **dict.fromkeys(_words("READ READING READINGS RDG REED SELFREAD METERREADING"), "READ"),
    # Twilio's opt-out and opt-in words, so the words a carrier honours mean the same here.
    **dict.fromkeys(_words("STOP STOPALL UNSUBSCRIBE UNSUB OPTOUT CANCEL END QUIT"), "STOP"),
    **dict.fromkeys(_words("START STRAT SUBSCRIBE UNSTOP OPTIN RESUME"), "START"),
    **dict.fromkeys(_words("HELP HLP HELLP HEPL INFO MENU COMMANDS"), "HELP"),
    **dict.fromkeys(
        _words("ROSTER ROSTR ROSTOR ROSTERS ROASTER ROOSTER RSTR SCHEDULE SCHEDUL SHEDULE SCHEDULES"), "ROSTER"
    ),
    **dict.fromkeys(_words("CLAIM CLAIMS CLAM CLIAM CLAIMM"), "CLAIM"),
    "OTP": "OTP",
}
_KEYWORD_PAIRS: dict[tuple[str, str], str] = {
    ("POWER", "CUT"): "OUTAGE",
    ("OPT", "OUT"): "STOP",
    ("OPT", "IN"): "START",
    ("METER", "READING"): "READ",
    ("SELF", "READING"): "READ",
}
# Long words a thumb mistypes; one slip (Damerau) from exactly one of these still counts.
_FUZZY_KEYWORDS = _words(
    "COMPLAINT STATUS OUTAGE REGISTER CALCULATE READING PAYMENT UNSUBSCRIBE SUBSCRIBE POWERCUT ROSTER SCHEDULE"
)
# Greetings and glue before the keyword ("Hi, please send my BILL"); capped so chat is not searched for one.
_FILLER = frozenset(
    _words("HI HII HELLO HELO DEAR SIR PLS PLZ PLEASE KINDLY SEND GET SHOW CHECK MY ME THE WHAT IS I WANT TO OK OKAY")
)
_MAX_FILLER = 4

_TYPE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _words("NOSUPPLY NOSUPLY SUPPLY NOPOWER NOLIGHT NOCURRENT NOELECTRICITY BLACKOUT POWERCUT FUSE FUSEOFF"),
        "no_supply",
    ),
    **dict.fromkeys(
        _words(
            "VOLTAGE VOLTAGES VOLT VOLTEGE VOLTAG LOWVOLTAGE HIGHVOLTAGE LOWVOLT FLUCTUATION FLUCTUATING FLUCTUATIONS"
        ),
        "voltage",
    ),
    **dict.fromkeys(_words("METER METRE MTR METERFAULTY METERBURNT METERFAULT"), "meter"),
    **dict.fromkeys(_words("BILLING BILL BILLS BIL BILLWRONG WRONGBILL HIGHBILL BILLERROR"), "billing"),
    **dict.fromkeys(
        _words("DANGER DANGEROUS DANGR DANGERLINE SPARK SPARKING SPARKS SHOCK WIREDOWN LOOSEWIRE"), "dangerous_line"
    ),
    # CHORI and KATIYA are how theft and hooking are said in UP, typed in Latin letters.
    **dict.fromkeys(_words("THEFT THEFTS THEFFT THIEF THEIF STEALING CHORI KATIYA HOOKING"), "theft"),
}
_TYPE_PAIRS: dict[tuple[str, str], str] = {
    ("NO", "SUPPLY"): "no_supply",
    ("NO", "POWER"): "no_supply",
    ("NO", "LIGHT"): "no_supply",
    ("NO", "CURRENT"): "no_supply",
    ("NO", "ELECTRICITY"): "no_supply",
    ("LIGHT", "NAHI"): "no_supply",
    ("BIJLI", "NAHI"): "no_supply",
    ("POWER", "CUT"): "no_supply",
    ("LOW", "VOLTAGE"): "voltage",
    ("HIGH", "VOLTAGE"): "voltage",
    ("WRONG", "BILL"): "billing",
    ("WIRE", "DOWN"): "dangerous_line",
    ("LOOSE", "WIRE"): "dangerous_line",
    ("BROKEN", "POLE"): "dangerous_line",
}
_FUZZY_TYPES = ("NOSUPPLY", "VOLTAGE", "BILLING", "DANGER", "DANGEROUS", "SPARKING")

# The answer to a restoration check, typed as a word; only a message of that one word counts.
_CHECK_WORDS = {"YES": 1, "NO": 2}
# ROSTER OFF and its ways of saying it (BAND: "off" in Hindi, typed in Latin letters); ROSTER alone means on.
_ROSTER_OFF = frozenset(_words("OFF STOP NO END CANCEL UNSUBSCRIBE UNSUB BAND BANDH"))
_ROSTER_ON = frozenset(_words("ON START YES SUBSCRIBE SUB CHALU"))

_CALC_WORDS = frozenset(("KW", "KILOWATT", "KILOWATTS", "LOAD", "UNIT", "UNITS", "KWH", "U"))
_READ_WORDS = frozenset(("KWH", "UNIT", "UNITS", "U", "ACCOUNT", "ACC", "AC", "A", "C", "NO", "METER", "IS"))

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|\S")
_JOINER = re.compile(r"[ \-]*")  # what may sit inside one number: "12345 67890", "123-456-7890"
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_CALC_CATEGORY = re.compile(r"\s*(LMV|HV)\s*-?\s*([0-9])\s*-?\s*([LRU](?![A-Z]))?")
_TEXT_EDGE = " \t.,:;-_/|"
# A minus only when it is not joining two digit groups; a thousands comma has already gone.
_CALC_NUMBER = re.compile(r"(?:(?<![0-9])(-)\s*)?([0-9]+)(?:\.([0-9]+))?")


@dataclass(frozen=True)
class _Token:
    kind: str  # "word" (upper-cased), "num" or "sym"
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Number:
    """Digit groups typed as one number, with the token span it came from."""

    parts: tuple[str, ...]
    negative: bool
    fraction: str | None
    first: int
    last: int

    @property
    def digits(self) -> str:
        return "".join(self.parts)


def parse(text: str) -> Command:
    """Read one inbound SMS. Never raises: unreadable text gives Help with the reason."""
    clean = _clean(text)
    tokens = _tokenise(clean)
    if not tokens:
        return Help("empty message")
    if all(t.text == "?" for t in tokens):
        return Help(None)
    if not any(t.kind == "word" for t in tokens):
        return _without_keyword(clean, tokens)
    return _with_keyword(clean, tokens)


def _clean(text: str) -> str:
    # NFKC folds full-width letters and digits to ASCII; it can grow a string, so cut before and after.
    text = unicodedata.normalize("NFKC", text[: MAX_INPUT_CHARS * 2])[:MAX_INPUT_CHARS]
    text = text.translate(_DEVANAGARI_DIGITS)  # Hindi keypads type ० to ९
    return "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)


def _tokenise(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        value = match.group()
        kind = "sym"
        if value.isascii():
            kind = "word" if value.isalpha() else "num" if value.isdigit() else "sym"
        tokens.append(_Token(kind, value.upper() if kind == "word" else value, match.start(), match.end()))
    return tokens


def _numbers(text: str, tokens: list[_Token]) -> list[_Number]:
    """Group digit tokens into the numbers a person meant: spaces and dashes inside, a minus or decimals outside."""
    numbers: list[_Number] = []
    index = 0
    while index < len(tokens):
        if tokens[index].kind != "num":
            index += 1
            continue
        first = index
        parts = [tokens[index].text]
        while True:
            nxt = _next_num(text, tokens, index)
            if nxt is None:
                break
            index = nxt
            parts.append(tokens[index].text)
        fraction = None
        if (
            index + 2 < len(tokens)
            and tokens[index + 1].text == "."
            and tokens[index + 2].kind == "num"
            and tokens[index + 1].start == tokens[index].end
            and tokens[index + 2].start == tokens[index + 1].end
        ):
            fraction = tokens[index + 2].text
            index += 2
        negative = first > 0 and tokens[first - 1].text == "-" and not text[tokens[first - 1].end : tokens[first].start]
        numbers.append(_Number(tuple(parts), negative, fraction, first, index))
        index += 1
    return numbers


def _next_num(text: str, tokens: list[_Token], index: int) -> int | None:
    """The index of the digit group that continues the number at `index`, if only spaces and dashes part them."""
    probe = index + 1
    while probe < len(tokens) and tokens[probe].text == "-":
        probe += 1
    if probe < len(tokens) and tokens[probe].kind == "num":
        gap = text[tokens[index].end : tokens[probe].start]
        if _JOINER.fullmatch(gap):
            return probe
    return None


def _without_keyword(text: str, tokens: list[_Token]) -> Command:
    numbers = _numbers(text, tokens)
    if len(numbers) == 1 and numbers[0].fraction is None:
        digits = numbers[0].digits
        if digits in ("1", "2") and not numbers[0].negative:
            return CheckReply(int(digits))
        if len(digits) == ACCOUNT_NO_LENGTH:
            return Bill(digits)
        if len(digits) == OTP_LENGTH:
            return OtpReply(digits)
        return Help(NEED_ACCOUNT, "ACCOUNT")
    if numbers:
        return Help("send one account number, or a keyword such as BILL")
    if any("\u0900" <= c <= "\u097f" for c in text):
        return Help("commands are English words, e.g. BILL")
    return Help("unknown command")


def _with_keyword(text: str, tokens: list[_Token]) -> Command:
    words = [i for i, t in enumerate(tokens) if t.kind == "word"]
    skipped = 0
    while skipped < _MAX_FILLER and skipped + 1 < len(words) and tokens[words[skipped]].text in _FILLER:
        skipped += 1
    at = words[skipped]
    word = tokens[at].text
    if len(tokens) == 1 and word in _CHECK_WORDS:
        return CheckReply(_CHECK_WORDS[word])
    following = tokens[at + 1] if at + 1 < len(tokens) else None
    # Digits before the keyword ("1234567890 BILL") belong to the command; skipped filler does not.
    before = "".join(" " if t.kind == "word" else text[t.start : t.end] + " " for t in tokens[:at])
    end = tokens[at].end

    keyword = None
    if following is not None and following.kind == "word":
        keyword = _KEYWORD_PAIRS.get((word, following.text))
        if keyword is not None:
            end = following.end
    if keyword is None:
        keyword = _KEYWORDS.get(word) or _fuzzy(word, _FUZZY_KEYWORDS, _KEYWORDS)
    rest = text[end:]
    if keyword is None:
        keyword, glued = _unglue(word)
        rest = glued + " " + rest
    if keyword is None:
        if word in _TYPE_WORDS or (following is not None and (word, following.text) in _TYPE_PAIRS):
            return Help("start a complaint with COMP, e.g. COMP NOSUPPLY", "COMP")
        return Help("unknown command")
    return _COMMANDS[keyword](before + " " + rest)


def _unglue(word: str) -> tuple[str | None, str]:
    """Split a keyword typed together with what follows it: COMPNOSUPPLY, CALCLMV."""
    for alias, keyword in sorted(_KEYWORDS.items(), key=lambda item: -len(item[0])):
        if len(alias) < 3 or not word.startswith(alias):
            continue
        tail = word[len(alias) :]
        if keyword == "COMP" and _type_word(tail) is not None:
            return keyword, tail
        if keyword == "CALC" and tail.startswith(("LMV", "HV")):
            return keyword, tail
        if keyword == "ROSTER" and tail in ("ON", "OFF"):
            return keyword, tail
    return None, ""


def _fuzzy(word: str, candidates: tuple[str, ...], table: dict[str, str]) -> str | None:
    if len(word) < 5:
        return None
    near = {table[c] for c in candidates if abs(len(c) - len(word)) <= 1 and _one_slip(word, c)}
    return near.pop() if len(near) == 1 else None


def _one_slip(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _type_word(word: str) -> str | None:
    return _TYPE_WORDS.get(word) or _fuzzy(word, _FUZZY_TYPES, _TYPE_WORDS)


# --- one parser per keyword; each gets the text after the keyword (with any digits typed before it) ---


def _account(rest: str, keyword: str) -> str | Help | None:
    tokens = _tokenise(rest)
    numbers = _numbers(rest, tokens)
    if not numbers:
        return None
    if len(numbers) == 1 and len(numbers[0].digits) == ACCOUNT_NO_LENGTH and numbers[0].fraction is None:
        return numbers[0].digits
    # One number of the wrong length is a mistyped account number: the sender is shown what one looks like.
    return Help(f"{keyword} takes one 10-digit account number", "ACCOUNT" if len(numbers) == 1 else None)


def _bill(rest: str) -> Command:
    account = _account(rest, "BILL")
    return account if isinstance(account, Help) else Bill(account)


def _pay(rest: str) -> Command:
    account = _account(rest, "PAY")
    return account if isinstance(account, Help) else Pay(account)


def _outage(rest: str) -> Command:
    account = _account(rest, "OUTAGE")
    return account if isinstance(account, Help) else Outage(account)


def _register(rest: str) -> Command:
    account = _account(rest, "REG")
    if account is None:
        return Help("REG needs your 10-digit account number", "REG")
    return Help(account.reason, "REG") if isinstance(account, Help) else Register(account)


def _status(rest: str) -> Command:
    numbers = _numbers(rest, _tokenise(rest))
    if not numbers:
        return Help("STATUS needs the complaint number", "STATUS")
    low, high = COMPLAINT_NO_DIGITS
    if len(numbers) > 1 or numbers[0].fraction is not None or not low <= len(numbers[0].digits) <= high:
        return Help(f"a complaint number has {low} to {high} digits", "STATUS")
    return Status(numbers[0].digits)


def _otp(rest: str) -> Command:
    numbers = _numbers(rest, _tokenise(rest))
    if len(numbers) == 1 and len(numbers[0].digits) == OTP_LENGTH and numbers[0].fraction is None:
        return OtpReply(numbers[0].digits)
    return Help(f"the OTP has {OTP_LENGTH} digits", "REG")


def _complaint(rest: str) -> Command:
    tokens = _tokenise(rest)
    numbers = _numbers(rest, tokens)
    first_word = next((i for i, t in enumerate(tokens) if t.kind == "word"), len(tokens))
    account = None
    leading = [n for n in numbers if n.last < first_word]
    if leading:
        if len(leading) > 1 or len(leading[0].digits) != ACCOUNT_NO_LENGTH:
            return Help(NEED_ACCOUNT, "COMP")
        account = leading[0].digits

    found = _find_type(tokens)
    if found is None:
        return Help(NEED_COMPLAINT_TYPE, "COMP")
    category, type_first, type_last = found
    if type_first == first_word:
        # COMP [acct] <type> [acct] [text]: the text is what follows the type.
        text_from = type_last + 1
        after = next((n for n in numbers if n.first == text_from), None)
        if account is None and after is not None and len(after.digits) == ACCOUNT_NO_LENGTH:
            account = after.digits
            text_from = after.last + 1
    else:
        # The type came up inside a sentence ("COMP transformer sparking near school"): all of it is the text.
        text_from = first_word
    start = tokens[text_from].start if text_from < len(tokens) else len(rest)
    return Complaint(account, category, _complaint_text(rest[start:]))


def _find_type(tokens: list[_Token]) -> tuple[str, int, int] | None:
    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        if index + 1 < len(tokens) and tokens[index + 1].kind == "word":
            pair = _TYPE_PAIRS.get((token.text, tokens[index + 1].text))
            if pair is not None:
                return pair, index, index + 1
        single = _type_word(token.text)
        if single is not None:
            return single, index, index
    return None


def _complaint_text(raw: str) -> str | None:
    text = " ".join(raw.split()).strip(_TEXT_EDGE)[:COMPLAINT_TEXT_MAX].strip()
    return text or None


def _calc(rest: str) -> Command:
    upper = rest.upper()
    match = _CALC_CATEGORY.match(upper.lstrip(_TEXT_EDGE))
    if match is None:
        return Help(NEED_CATEGORY, "CALC")
    prefix, digit, suffix = match.groups()
    code = f"{prefix}-{digit}{suffix or ''}"
    if code not in CALC_CATEGORIES:
        if code == "LMV-1":
            return Help("LMV-1 needs L, R or U: LMV-1L, LMV-1R, LMV-1U", "CALC")
        return Help(NEED_CATEGORY, "CALC")
    tail = _THOUSANDS.sub("", upper.lstrip(_TEXT_EDGE)[match.end() :])
    if any(word not in _CALC_WORDS for word in re.findall(r"[A-Z]+", tail)):
        return Help(CALC_USAGE, "CALC")
    numbers = _CALC_NUMBER.findall(tail)
    if len(numbers) != 2 or any(minus for minus, _, _ in numbers):
        return Help(CALC_USAGE, "CALC")
    (_, load_whole, load_fraction), (_, units, units_fraction) = numbers
    load = Decimal(f"{load_whole}.{load_fraction}" if load_fraction else load_whole)
    if not Decimal(0) < load <= MAX_LOAD_KW:
        return Help(f"the load must be more than 0 and at most {MAX_LOAD_KW} kW", "CALC")
    if units_fraction or int(units) > MAX_UNITS:
        return Help("units must be a whole number", "CALC")
    return Calc(code, load, int(units))


def _read(rest: str) -> Command:
    rest = _THOUSANDS.sub("", rest)
    tokens = _tokenise(rest)
    if any(t.kind == "word" and t.text not in _READ_WORDS for t in tokens):
        return Help("READ needs the meter reading in kWh, e.g. READ 4567", "READ")
    numbers = _numbers(rest, tokens)
    if not numbers:
        return Help("READ needs the meter reading in kWh, e.g. READ 4567", "READ")
    account = None
    first = numbers[0]
    for cut in range(1, len(first.parts) + 1):
        head = "".join(first.parts[:cut])
        if len(head) == ACCOUNT_NO_LENGTH and (cut < len(first.parts) or len(numbers) > 1):
            account = head
            tail = first.parts[cut:]
            numbers = ([_Number(tail, False, first.fraction, first.first, first.last)] if tail else []) + numbers[1:]
            break
    if account is None and len(first.digits) == ACCOUNT_NO_LENGTH and len(numbers) == 1:
        return Help("READ needs the meter reading after the account number", "READ")
    if len(numbers) != 1 or len(numbers[0].parts) > 1:
        return Help("READ takes one meter reading in kWh", "READ")
    reading = numbers[0]
    if reading.negative:
        return Help("the reading must be a whole number of kWh", "READ")
    if len(reading.digits.lstrip("0")) > MAX_KWH_DIGITS:
        return Help("the reading is too long for a meter", "READ")
    # A display's tenths ("4567.8") are not billed: the whole kWh is the reading.
    return Read(account, int(reading.digits))


# HELP COMP, HELP STATUS ...: the syntax of that command.
_HELP_TOPICS = frozenset(("COMP", "STATUS", "CALC", "READ", "REG"))


def _help(rest: str) -> Command:
    for token in _tokenise(rest):
        if token.kind == "word":
            keyword = _KEYWORDS.get(token.text) or _fuzzy(token.text, _FUZZY_KEYWORDS, _KEYWORDS)
            return Help(None, keyword if keyword in _HELP_TOPICS else None)
    return Help(None)


def _roster(rest: str) -> Command:
    words = {t.text for t in _tokenise(rest) if t.kind == "word"}
    off, on = bool(words & _ROSTER_OFF), bool(words & _ROSTER_ON)
    if off and on:
        return Help("send ROSTER to get the supply schedule, ROSTER OFF to stop it")
    account = _account(rest, "ROSTER")
    return account if isinstance(account, Help) else Roster(account, on=not off)


def _names_roster(rest: str) -> bool:
    return any(t.kind == "word" and _KEYWORDS.get(t.text) == "ROSTER" for t in _tokenise(rest))


def _stop(rest: str) -> Command:
    # STOP ROSTER means no more schedule SMS, not every alert off.
    if _names_roster(rest):
        return _roster(rest + " OFF")
    return Stop()


def _start(rest: str) -> Command:
    if _names_roster(rest):
        return _roster(rest)
    return Start()


def _claim(rest: str) -> Command:
    del rest  # CLAIM takes nothing: every account of the sender's mobile
    return Claim()


_COMMANDS = {
    "CLAIM": _claim,
    "BILL": _bill,
    "PAY": _pay,
    "COMP": _complaint,
    "STATUS": _status,
    "OUTAGE": _outage,
    "REG": _register,
    "CALC": _calc,
    "READ": _read,
    "STOP": _stop,
    "START": _start,
    "HELP": _help,
    "OTP": _otp,
    "ROSTER": _roster,
}
