"""Loggers for the IVR: the project's safe loggers from cis.logs (numbers masked, controls escaped, values cut)."""

from __future__ import annotations

from cis.logs import MaskNumbers, get_logger, mask_numbers

__all__ = ["MaskNumbers", "get_logger", "mask_numbers"]
