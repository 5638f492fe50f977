"""Benchmark: bill PDFs per second on one core, the time to build one, and what a fresh process pays first.

Usage: .venv/bin/python -m bench.pdf_bench [--consumers 300] [--seconds 20] [--cpu 0]

It seeds --consumers demo consumers into a scratch SQLite file (real names, Hindi addresses, a year of
bills), reads every one's current bill as the portal does (cis.my_account.current_bill), and pins itself to
one core (--cpu). Then it measures:
- the fonts' first use: cutting them down (once per machine, cold: into an empty folder) and parsing them
  (once per process), which `cis.printing.prepare_fonts` does when a web worker starts;
- the steady state: bill PDFs drawn one after another for --seconds, cycling through the bills: PDFs per
  second, wall and CPU milliseconds per PDF (p50, p90, p99, max) and the PDFs' size;
- the blank application forms, each drawn once (then kept: cis.forms_pdf.form_pdf).
Figures and what they showed: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._summary import record
from cis import my_account, printing
from cis.application_forms import load_forms
from cis.bill_pdf import Issuer, draw_bill_pdf
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.forms_pdf import form_pdf
from cis.migrate import upgrade
from cis.models import Account
from cis.seed import seed


def _bills(consumers: int, folder: Path) -> list[my_account.BillDocument]:
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    upgrade(engine)
    seed(engine, consumers, seed=11, as_of=dt.date(2026, 11, 20))
    uow = UnitOfWork(make_session_factory(engine))
    with uow:
        ids = list(uow.session.scalars(Account.__table__.select().with_only_columns(Account.id)))
    docs = [doc for doc in (my_account.current_bill(uow, i) for i in ids) if doc is not None]
    engine.dispose()
    return docs


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu", type=int, default=0, help="the core to run on")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    issuer = Issuer(portal_url="https://wss.urjamitra.in")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        docs = _bills(args.consumers, folder)
        print(
            f"bills: {len(docs)} current bills of {args.consumers} seeded consumers "
            f"({time.perf_counter() - started:.1f} s)"
        )

        # First use: cut the fonts into an empty folder (what a new machine pays once), then parse them.
        printing.set_font_cache(folder / "fonts")
        wall, cpu = time.perf_counter(), time.process_time()
        printing.prepare_fonts()
        cold = (time.perf_counter() - wall, time.process_time() - cpu)
        printing._FONTS.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        printing.prepare_fonts()
        warm = (time.perf_counter() - wall, time.process_time() - cpu)
        wall = time.perf_counter()
        first = draw_bill_pdf(docs[0], issuer=issuer)
        first_ms = (time.perf_counter() - wall) * 1000
        print(
            f"fonts: cut and parsed {cold[0] * 1000:.0f} ms (cpu {cold[1] * 1000:.0f} ms) on a new machine; "
            f"parsed {warm[0] * 1000:.0f} ms (cpu {warm[1] * 1000:.0f} ms) in a new process; "
            f"first bill after that {first_ms:.0f} ms"
        )

        walls: list[float] = []
        cpus: list[float] = []
        sizes: list[int] = []
        deadline = time.perf_counter() + args.seconds
        run_wall, run_cpu = time.perf_counter(), time.process_time()
        i = 0
        while time.perf_counter() < deadline:
            doc = docs[i % len(docs)]
            w, c = time.perf_counter(), time.process_time()
            data = draw_bill_pdf(doc, issuer=issuer)
            walls.append((time.perf_counter() - w) * 1000)
            cpus.append((time.process_time() - c) * 1000)
            sizes.append(len(data))
            i += 1
        elapsed = time.perf_counter() - run_wall
        used = time.process_time() - run_cpu
        rate = len(walls) / elapsed
        print(
            f"bill PDFs on one core: {len(walls)} in {elapsed:.1f} s = {rate:.1f} PDFs/s "
            f"(CPU {used / len(walls) * 1000:.0f} ms each, {used / elapsed * 100:.0f}% of the core)"
        )
        print(
            "time to build one, ms: "
            f"p50 {_quantile(walls, 0.5):.0f}  p90 {_quantile(walls, 0.9):.0f}  p99 {_quantile(walls, 0.99):.0f}  "
            f"max {max(walls):.0f}  (CPU p50 {_quantile(cpus, 0.5):.0f}, min {min(cpus):.0f})"
        )
        print(
            f"size: mean {statistics.mean(sizes) / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB; "
            f"first {len(first) / 1024:.1f} KB"
        )

        form_times = {}
        for key in load_forms():
            form_pdf.cache_clear()
            w = time.perf_counter()
            form_pdf(key, portal_url="https://wss.urjamitra.in")
            form_times[key] = (time.perf_counter() - w) * 1000
        print("blank forms, ms each: " + ", ".join(f"{k} {v:.0f}" for k, v in form_times.items()))
        printing.set_font_cache(printing.default_font_cache())

    record(
        "bill PDFs",
        {
            "PDFs/s on one core": f"{rate:.1f}",
            "p50 ms": f"{_quantile(walls, 0.5):.0f}",
            "p99 ms": f"{_quantile(walls, 0.99):.0f}",
            "CPU ms": f"{used / len(walls) * 1000:.0f}",
            "KB": f"{statistics.mean(sizes) / 1024:.1f}",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
