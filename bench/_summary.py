"""A benchmark's headline figures as one JSON line, for bench/smoke's summary (nothing is written unless asked)."""

from __future__ import annotations

import json
import os

# bench/smoke sets this to a file of its own; each benchmark appends its line there.
ENV = "URJA_BENCH_SUMMARY"


def record(bench: str, figures: dict[str, str], *, ok: bool = True) -> None:
    """Append `figures` (label > value as printed) of `bench` to the summary file, if one is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"bench": bench, "ok": ok, "figures": figures}) + "\n")
