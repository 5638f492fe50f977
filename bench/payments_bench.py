"""Benchmark: signed gateway webhooks posted through the production web server (`urjamitra serve`) on PostgreSQL.

Usage: .venv/bin/python -m bench.payments_bench --database postgresql+psycopg://.../urja_seeded [--webhooks 100000]
       .venv/bin/python -m bench.payments_bench [--consumers 1000000]     (seeds a scratch database first)
       .venv/bin/python -m bench.payments_bench --quick                   (bench/smoke: 20,000 consumers, 5,000)

It opens --webhooks payment intents, one each for as many accounts spread over the table (in one statement), and
writes for each the `payment_link.paid` event Razorpay would send (its own payment id, amount and time), signed
with the sandbox gateway's webhook secret as Razorpay signs (X-Razorpay-Signature over the raw body,
X-Razorpay-Event-Id). A share of them (--duplicates, default 0.2) is sent a second time, shuffled among the rest,
as a gateway's retries arrive. Then `urjamitra serve` (its default workers and threads; Redis for the limits and so
no web worker drains the outbox, as with Celery in production) takes them from --clients concurrent clients, each
a keep-alive connection sending the next as soon as the last was answered.

It prints: webhooks and requests a second, posted a second, the latency (p50, p90, p99, max), the answers by
status, and then what the database holds: payments posted (must equal --webhooks: none twice, none lost), receipt
SMS queued, audit rows, intents paid. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from bench._database import scratch_database
from bench._summary import record
from bench.ivr_bench import percentile
from bench.portal_bench import Client, ServerProcess, _load
from cis.db import make_engine
from cis.payments.intents import TOKEN_ALPHABET, TOKEN_LENGTH
from cis.seed import seed
from urjamitra.settings import Settings

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "payments-bench-" + "7" * 32
PREFIX = "pay_Bench"
AMOUNT = 172_700


def _token(rng: random.Random) -> str:
    return "".join(rng.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def prepare(engine: Engine, count: int) -> list[tuple[str, str]]:
    """`count` open intents on distinct accounts spread over the table; earlier runs' payments and intents gone.
    Returns (token, account number) per intent."""
    rng = random.Random(11)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM gateway_event WHERE event_id LIKE 'evt_Bench%'"))
        conn.execute(
            text(
                "DELETE FROM outbox WHERE template = 'payment.receipt' AND payload->>'receipt' IS NOT NULL"
                " AND account_id IN (SELECT account_id FROM payment WHERE gateway_ref LIKE 'pay_Bench%')"
            )
        )
        conn.execute(text("DELETE FROM audit_log WHERE action = 'payment.posted' AND actor = 'gateway:sandbox'"))
        conn.execute(text("DELETE FROM payment WHERE gateway_ref LIKE 'pay_Bench%'"))
        conn.execute(text("DELETE FROM payment_intent WHERE channel = 'sms' AND mobile = '+910000000000'"))
        total = int(conn.scalar(text("SELECT count(*) FROM account")) or 0)
        step = max(1, total // count)
        accounts = conn.execute(
            text("SELECT id, account_no FROM account WHERE id % :step = 0 ORDER BY id LIMIT :n"),
            {"step": step, "n": count},
        ).all()
        tokens = [_token(rng) for _ in accounts]
        now = time.time()
        conn.execute(
            text(
                "INSERT INTO payment_intent (token, account_id, bill_id, amount_paise, purpose, channel, status, "
                "mobile, failed_attempts, created_at, expires_at) "
                "SELECT t, a, NULL, :amount, 'due', 'sms', 'open', '+910000000000', 0, "
                "to_timestamp(:now), to_timestamp(:now) + interval '3 days' "
                "FROM unnest(CAST(:tokens AS text[]), CAST(:ids AS bigint[])) AS v(t, a)"
            ),
            {"amount": AMOUNT, "now": now, "tokens": tokens, "ids": [a.id for a in accounts]},
        )
    return [(token, str(a.account_no)) for token, a in zip(tokens, accounts, strict=True)]


def events(intents: list[tuple[str, str]], duplicates: float, secret: str) -> list[tuple[bytes, dict[str, str]]]:
    """Each intent's signed payment_link.paid webhook; a share of them twice, shuffled."""
    now = int(time.time())
    signed = []
    for n, (token, account_no) in enumerate(intents):
        payment = {
            "id": f"{PREFIX}{n:09d}", "entity": "payment", "amount": AMOUNT, "currency": "INR", "status": "captured",
            "method": ("upi", "card", "netbanking")[n % 3], "order_id": f"order_Bench{n:09d}",
            "notes": {"urja_intent": token, "account": account_no}, "captured": True, "created_at": now,
        }  # fmt: skip
        link = {"id": f"plink_Bench{n:09d}", "reference_id": token, "status": "paid", "amount": AMOUNT}
        body = json.dumps(
            {"entity": "event", "account_id": "acc_Bench", "event": "payment_link.paid",
             "contains": ["payment_link", "order", "payment"], "created_at": now,
             "payload": {"payment_link": {"entity": link}, "order": {"entity": {"id": payment["order_id"]}},
                         "payment": {"entity": payment}}},
            separators=(",", ":"),
        ).encode()  # fmt: skip
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "X-Razorpay-Event-Id": f"evt_Bench{n:09d}",
        }
        signed.append((body, headers))
    rng = random.Random(5)
    again = rng.sample(signed, int(len(signed) * duplicates))
    everything = signed + again
    rng.shuffle(everything)
    return everything


def send(port: int, work: list[tuple[bytes, dict[str, str]]], clients: int) -> tuple[list[float], Counter[str], float]:
    """Send `work` from `clients` keep-alive connections; (latencies, answers by status, seconds)."""
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(work)))

    def run() -> None:
        client = Client(port)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                break
            body, headers = work[n]
            began = time.perf_counter()
            try:
                connection = client._connect()
                connection.request("POST", "/webhooks/razorpay", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except OSError as exc:
                client.close()
                seen[type(exc).__name__] += 1
                continue
            mine.append(time.perf_counter() - began)
            outcome = json.loads(payload).get("status", "?") if response.status == 200 else str(response.status)
            seen[outcome] += 1
        client.close()
        with lock:
            latencies.extend(mine)
            answers.update(seen)

    began = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, answers, time.perf_counter() - began


def outcome(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM payment WHERE gateway_ref LIKE 'pay_Bench%'), "
                "(SELECT count(DISTINCT gateway_ref) FROM payment WHERE gateway_ref LIKE 'pay_Bench%'), "
                "(SELECT count(*) FROM audit_log WHERE action = 'payment.posted' AND actor = 'gateway:sandbox'), "
                "(SELECT count(*) FROM outbox WHERE template = 'payment.receipt' AND recipient = '+910000000000'), "
                "(SELECT count(*) FROM payment_intent WHERE mobile = '+910000000000' AND status = 'paid')"
            )
        ).one()
    return dict(zip(("payments", "distinct", "audit", "receipts", "paid intents"), map(int, row), strict=True))


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[Engine, str]]:
    if args.database:
        engine = make_engine(args.database)
        try:
            yield engine, args.database
        finally:
            engine.dispose()
        return
    with scratch_database(args.server, "urja_paybench", keep=args.keep) as (engine, _):
        began = time.perf_counter()
        seed(engine, args.consumers, seed=1)
        print(f"seeded {args.consumers:,} consumers in {time.perf_counter() - began:.1f} s", flush=True)
        yield engine, engine.url.render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a seeded database to use as it is (else a scratch one is seeded)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the PostgreSQL server for the scratch database")
    parser.add_argument("--consumers", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--webhooks", type=int, default=100_000, help="distinct payments to post")
    parser.add_argument("--duplicates", type=float, default=0.2, help="the share sent a second time")
    parser.add_argument("--clients", type=int, default=50, help="webhooks in flight at once")
    parser.add_argument("--workers", type=int, help="URJA_WEB_WORKERS for the server")
    parser.add_argument("--threads", type=int, help="URJA_WEB_THREADS for the server")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis for the server ('' for none)")
    parser.add_argument("--quick", action="store_true", help="bench/smoke: 20,000 consumers, 5,000 webhooks")
    args = parser.parse_args(argv)
    if args.quick:
        args.consumers, args.webhooks = 20_000, 5_000
    secret = Settings(secret_key=SECRET_KEY).gateway_keys()[3]
    with _database(args) as (engine, url):
        began = time.perf_counter()
        intents = prepare(engine, args.webhooks)
        work = events(intents, args.duplicates, secret)
        print(
            f"{len(intents):,} intents and {len(work):,} signed webhooks ready in {time.perf_counter() - began:.1f} s"
        )
        server = ServerProcess(
            url, workers=args.workers, threads=args.threads, redis=args.redis or None,
            env={"URJA_SECRET_KEY": SECRET_KEY, "URJA_PAY_GATEWAY": "sandbox"},
        )  # fmt: skip
        try:
            print(f"{server.banner}; load {_load()}", flush=True)
            latencies, answers, seconds = send(server.port, work, args.clients)
            errors = server.errors()
        finally:
            server.stop()
        held = outcome(engine)
    ordered = sorted(latencies)
    posted = answers.get("posted", 0)
    print(
        f"{len(work):,} webhooks from {args.clients} clients in {seconds:.1f} s: "
        f"{len(work) / seconds:,.0f} requests/s, "
        f"{posted / seconds:,.0f} posted/s; latency p50 {percentile(ordered, 0.50) * 1000:.1f} ms, "
        f"p90 {percentile(ordered, 0.90) * 1000:.1f} ms, p99 {percentile(ordered, 0.99) * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms; load after {_load()}"
    )
    print("answers: " + ", ".join(f"{k} {v:,}" for k, v in answers.most_common()))
    print("held: " + ", ".join(f"{k} {v:,}" for k, v in held.items()) + f"; server log errors: {len(errors)}")
    once = held["payments"] == held["distinct"] == held["audit"] == held["receipts"] == len(intents)
    p99 = percentile(ordered, 0.99) * 1000
    met = once and p99 < 100 and posted / seconds >= 1000
    print(f"targets (p99 < 100 ms, >= 1,000 posted/s, every payment once): {'met' if met else 'not met'}")
    record(
        "payments",
        {"webhooks": f"{len(work)}", "posted/s": f"{posted / seconds:.0f}", "p99 ms": f"{p99:.1f}",
         "payments": f"{held['payments']}", "once": f"{once}"},
        ok=once and not errors,
    )  # fmt: skip
    return 0 if once and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
