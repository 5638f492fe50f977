"""Loggers for the IVR that never write a consumer's mobile or account number in full."""

from __future__ import annotations

import logging
import re

# A mobile (+91 98765 43210, 919876543210, 09876543210) or a 10-digit account number, not part of a
# longer number or of an Asterisk uniqueid such as 1767000000.1.
_NUMBER = re.compile(r"(?<![\d.])(?:\+?91|0)?\d{10}(?![\d.])")


def mask_numbers(text: str) -> str:
    """Every mobile and account number in `text` with all but its last four digits hidden."""
    return _NUMBER.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)


class MaskNumbers(logging.Filter):
    """Masks the message, its arguments and the traceback (formatted here, before any handler sees it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_numbers(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_numbers(a) if isinstance(a, str) else _masked(a) for a in args)
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_numbers(logging.Formatter().formatException(record.exc_info))
        return True


def _masked(value: object) -> object:
    if isinstance(value, BaseException):
        return mask_numbers(repr(value))
    return value


_FILTER = MaskNumbers()


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
