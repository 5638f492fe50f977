"""Passwords and session tokens: the hasher staff and consumers share, token digests, a new password's rules."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from functools import cache
from pathlib import Path
from typing import Protocol

from werkzeug.security import check_password_hash, generate_password_hash

from cis.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 128  # a passphrase fits; a megabyte of "password" is not one
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common_passwords.txt"


class PasswordHasher(Protocol):
    """Makes and checks password hashes. Every sign-in checks exactly one, whatever the outcome."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def dummy_hash(self) -> str:
        """A hash of no one's password, made the way `hash` makes them, so checking it costs the same."""
        ...


class WerkzeugHasher:
    """Werkzeug's hashes (scrypt by default), as `generate_password_hash` writes them."""

    def __init__(self, method: str = "scrypt") -> None:
        self.method = method
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return generate_password_hash(password, method=self.method)

    def verify(self, password_hash: str, password: str) -> bool:
        # Text that cannot be UTF-8 (a lone surrogate) cannot be anyone's password, but still costs one check.
        return check_password_hash(password_hash, password.encode("utf-8", "replace").decode("utf-8"))

    def dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(16))
        return self._dummy


HASHER = WerkzeugHasher()


def new_token() -> str:
    """A random session token for a cookie (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What a session table stores for a token: its SHA-256, so a copy of the table opens no session."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def common_passwords() -> frozenset[str]:
    """The short list of passwords everyone tries first (cis/data/common_passwords.txt), lower case."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_new_password(password: str, *, account_no: str | None = None, mobile: str | None = None) -> str:
    """`password` when it may be set, else WeakPassword saying why (`reason`: short, long, characters, common,
    account).

    At least 8 characters (and at most 128), no control characters or text that is not UTF-8, not one of the
    common passwords (compared without regard to case), and not containing the account number or the national
    digits of the mobile it is for. Spaces are kept: a passphrase is welcome.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword("short", MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise WeakPassword("long", MAX_LENGTH)
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise WeakPassword("characters", MIN_LENGTH) from None
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise WeakPassword("characters", MIN_LENGTH)
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        raise WeakPassword("common", MIN_LENGTH)
    if account_no and account_no in password:
        raise WeakPassword("account", MIN_LENGTH)
    if mobile and len(mobile) >= 10 and mobile[-10:] in password:
        raise WeakPassword("account", MIN_LENGTH)
    return password
