"""The outbox dispatcher on real databases, against local servers speaking the DLT gateway's and Twilio's contracts."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis import notify
from cis.db import make_session_factory
from cis.models import ConsoleSms, Outbox, SmsOptOut
from ivr.outbound import RebasedHttpClient
from sms.dispatch import DispatchConfig, Receipt, drain, record_receipts, settle_stuck
from sms.providers import ConsoleProvider, DltGatewayProvider, TwilioSmsProvider
from sms.ratelimit import LocalTokenBucket, RedisTokenBucket
from sms.templates import load_templates
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database
from tests.protocol.fake_sms_gateway import FakeSmsGateway
from tests.protocol.fake_twilio_api import FakeTwilioApi

DAY = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)  # 11:30 in India
NIGHT = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)  # 22:30 in India
PORTAL = "https://urjamitra.example.in"
TEMPLATES = load_templates()
CONFIG = DispatchConfig(batch_size=50, allowed_urls=(PORTAL,), defaults={"portal_url": PORTAL}, backoff_s=60)
MOBILES = [f"+9198765{n:05d}" for n in range(100)]


@pytest.fixture(scope="module")
def pg_sms_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_sms") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_sms_engine")


@pytest.fixture
def gateway() -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway("gw-key") as gw:
        yield gw


@pytest.fixture
def dlt(gateway: FakeSmsGateway) -> Iterator[DltGatewayProvider]:
    provider = DltGatewayProvider(gateway.url, "gw-key", receipt_url="https://urjamitra.example.in/sms/gateway/receipt")
    yield provider
    provider.close()


def bill_sms(session: Session, mobile: str, n: int, *, at: dt.datetime = DAY, **extra: Any) -> None:
    notify.enqueue(
        session,
        channel="sms",
        template=extra.pop("template", "bill.issued"),
        recipient=mobile,
        dedupe_key=f"test:{n}:{mobile}",
        payload=extra.pop(
            "payload",
            {
                "account_no": f"{4_100_000_000 + n}",
                "cycle": "2026-10",
                "amount_paise": 172_750,
                "due": "2026-11-15",
                "units": 1234,
            },
        ),
        at=at,
        **extra,
    )


def queue(engine: Engine, count: int, **extra: Any) -> None:
    with Session(engine) as session:
        for n in range(count):
            bill_sms(session, MOBILES[n], n, **dict(extra))
        session.commit()


def rows(engine: Engine) -> list[Outbox]:
    with Session(engine) as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def statuses(engine: Engine) -> list[str]:
    return [r.status for r in rows(engine)]


def test_due_messages_reach_the_gateway_rendered_with_their_dlt_ids_and_are_marked_sent(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 3)
    stats = drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert stats.sent == 3
    assert stats.batches == 1
    assert gateway.batches == 1  # one HTTP request for the batch, not one per message
    sent = rows(engine)
    first = gateway.messages[str(sent[0].id)]
    assert first["to"] == "919876500000"
    assert first["text"] == (
        "Bill for A/c 4100000000 for Oct 2026: 1,234 units, Rs 1,727.50, due by 15 Nov 2026. "
        "Pay at https://urjamitra.example.in -Urja Mitra"
    )
    assert first["dlt_template_id"] == TEMPLATES["bill.issued"].dlt_template_id
    assert first["sender"] == "URJAMT"
    assert [r.status for r in sent] == ["sent"] * 3
    assert [r.provider_id for r in sent] == [gateway.ids[str(r.id)] for r in sent]
    assert all(r.provider == "dlt" and r.segments == 1 and r.attempts == 1 for r in sent)
    # Drained: nothing is sent again.
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY).claimed == 0
    assert set(gateway.received.values()) == {1}


def test_batches_follow_the_batch_size_and_urgent_messages_go_first(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 60)
    with Session(engine) as session:
        notify.enqueue(
            session,
            channel="sms",
            template="complaint.ack",
            recipient=MOBILES[99],
            dedupe_key="ack",
            payload={"number": "2611200001", "account_no": "4100000099", "due": "2026-11-20T10:00:00+00:00"},
            at=DAY,
            priority=1,
        )
        session.commit()
    stats = drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY, max_batches=1)
    assert stats.claimed == 50
    ack = next(r for r in rows(engine) if r.template == "complaint.ack")
    assert ack.status == "sent"
    assert gateway.messages[str(ack.id)]["text"].startswith("Dear consumer, complaint 2611200001 for A/c 4100000099")
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert gateway.batches == 2
    assert statuses(engine) == ["sent"] * 61


def test_a_refused_number_fails_for_good_and_a_throttled_one_is_retried_later(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 3)
    gateway.reject_to["919876500000"] = ("INVALID_NUMBER", False)
    gateway.reject_to["919876500001"] = ("THROTTLED", True)
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    bad, throttled, good = rows(engine)
    assert (bad.status, bad.last_error) == ("failed", "INVALID_NUMBER: invalid_number")
    assert throttled.status == "pending"
    assert throttled.not_before == DAY + dt.timedelta(seconds=60)
    assert good.status == "sent"
    # Not before its time...
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY).claimed == 0
    del gateway.reject_to["919876500001"]
    later = DAY + dt.timedelta(minutes=2)
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: later)
    assert statuses(engine) == ["failed", "sent", "sent"]
    assert rows(engine)[1].attempts == 2


def test_a_gateway_outage_sends_nothing_twice_backs_off_and_gives_up_after_the_last_attempt(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 2)
    config = DispatchConfig(batch_size=50, allowed_urls=(PORTAL,), defaults={"portal_url": PORTAL}, max_attempts=3)
    gateway.fail_next(10, 503)
    moment = DAY
    waits = []
    for _ in range(3):
        drain(engine, dlt, templates=TEMPLATES, bucket=None, config=config, clock=lambda at=moment: at)
        row = rows(engine)[0]
        if row.not_before is not None and row.status == "pending":
            waits.append(row.not_before - moment)
            moment = row.not_before
    assert waits == [dt.timedelta(seconds=30), dt.timedelta(seconds=60)]  # doubling backoff
    assert statuses(engine) == ["failed", "failed"]
    assert rows(engine)[0].attempts == 3
    assert "503" in (rows(engine)[0].last_error or "")
    assert gateway.taken == 0


def test_opted_out_mobiles_and_accounts_get_requests_answers_but_no_alerts(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:
        quiet = factories.account(session, mobiles=(MOBILES[5],), opt_out=True)
        session.add(SmsOptOut(e164=MOBILES[0], opted_out_at=DAY, via="sms"))
        bill_sms(session, MOBILES[0], 0)  # a STOP sent from this mobile
        bill_sms(session, MOBILES[5], 5, account_id=quiet.id)  # an account marked no-SMS at the office
        bill_sms(session, MOBILES[0], 1, template="reply.help", payload={})  # the answer to its own request
        bill_sms(session, MOBILES[2], 2)
        session.commit()
    stats = drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert stats.opted_out == 2
    assert [(r.template, r.status) for r in rows(engine)] == [
        ("bill.issued", "cancelled"),
        ("bill.issued", "cancelled"),
        ("reply.help", "sent"),
        ("bill.issued", "sent"),
    ]
    assert sorted(m["to"] for m in gateway.messages.values()) == ["919876500000", "919876500002"]


def test_reminders_wait_for_the_morning_while_alerts_go_at_night(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:
        bill_sms(
            session,
            MOBILES[0],
            0,
            template="bill.reminder",
            payload={"account_no": "4100000000", "amount_paise": 50_000, "due_date": "2026-11-23"},
        )
        bill_sms(
            session,
            MOBILES[1],
            1,
            template="outage.breakdown",
            payload={"area": "Kidwai Nagar", "since": "9:40 PM", "etr": "11:30 PM"},
            priority=0,
            at=NIGHT - dt.timedelta(minutes=5),
        )
        session.commit()
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: NIGHT)
    assert statuses(engine) == ["pending", "sent"]
    morning = dt.datetime(2026, 11, 21, 2, 30, tzinfo=dt.UTC)  # 08:00 in India
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: morning)
    assert statuses(engine) == ["sent", "sent"]
    reminder = gateway.messages[str(rows(engine)[0].id)]["text"]
    assert reminder.startswith("Reminder: Rs 500.00 for A/c 4100000000 is due on 23 Nov 2026.")


def test_a_stale_alert_expires_instead_of_arriving_late(engine: Engine, dlt: DltGatewayProvider) -> None:
    with Session(engine) as session:
        bill_sms(session, MOBILES[0], 0, expires_at=DAY - dt.timedelta(minutes=1))
        session.commit()
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY).expired == 1
    assert statuses(engine) == ["expired"]


def test_a_payload_the_template_refuses_is_failed_not_sent(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:
        bill_sms(
            session,
            MOBILES[0],
            0,
            template="outage.breakdown",
            payload={"area": "see evil.example.com", "since": "9 PM", "etr": "11 PM"},
        )
        session.commit()
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    (row,) = rows(engine)
    assert row.status == "failed"
    assert "whitelist" in (row.last_error or "")
    assert gateway.taken == 0


def test_rows_a_dead_dispatcher_left_are_never_resent_and_a_receipt_settles_them(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 2)
    with engine.begin() as conn:  # what a dispatcher killed after its claim leaves behind
        conn.execute(Outbox.__table__.update().values(status="sending", claimed_at=DAY, attempts=1))
    later = DAY + dt.timedelta(minutes=30)
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: later).claimed == 0
    assert settle_stuck(engine, now=later) == (2, 0)
    assert statuses(engine) == ["unknown", "unknown"]
    first = rows(engine)[0]
    changed = record_receipts(
        engine, "dlt", [Receipt(status="delivered", ref=str(first.id), provider_id="gw-1")], now=later
    )
    assert changed == 1
    assert statuses(engine) == ["delivered", "unknown"]
    assert settle_stuck(engine, now=DAY + dt.timedelta(days=4)) == (0, 1)
    assert statuses(engine) == ["delivered", "failed"]
    assert gateway.taken == 0


def test_receipts_move_rows_to_delivered_or_failed_and_never_back(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 2)
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    a, b = rows(engine)
    at = DAY + dt.timedelta(seconds=5)
    record_receipts(
        engine,
        "dlt",
        [Receipt("delivered", provider_id=a.provider_id), Receipt("failed", ref=str(b.id), error="DND")],
        now=at,
    )
    record_receipts(engine, "dlt", [Receipt("failed", provider_id=a.provider_id)], now=at)  # a late contradiction
    a, b = rows(engine)
    assert (a.status, a.delivered_at) == ("delivered", at)
    assert (b.status, b.last_error) == ("failed", "DND")


def test_the_console_provider_prints_stores_and_delivers(engine: Engine) -> None:
    queue(engine, 2)
    out = io.StringIO()
    provider = ConsoleProvider(make_session_factory(engine), stream=out, clock=lambda: DAY)
    drain(engine, provider, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert statuses(engine) == ["delivered", "delivered"]
    assert out.getvalue().splitlines()[0].startswith("[sms URJAMT -> +91*******000] Bill for A/c 4100000000")
    with Session(engine) as session:
        stored = session.scalars(select(ConsoleSms).order_by(ConsoleSms.id)).all()
    assert [s.recipient for s in stored] == MOBILES[:2]
    assert stored[0].outbox_id == rows(engine)[0].id
    assert stored[0].template == "bill.issued"


def test_twilio_gets_one_message_resource_per_sms_with_a_status_callback_naming_the_row(
    engine: Engine,
) -> None:
    sid, token = "AC" + "1" * 32, "twilio-token"
    with FakeTwilioApi(sid, token) as api:
        api.refuse["+919876500001"] = (400, 21211, "The 'To' number is not a valid phone number.")
        provider = TwilioSmsProvider(
            sid,
            token,
            public_url="https://urjamitra.example.in",
            from_="URJAMT",
            http_client=RebasedHttpClient(api.base_url, timeout=5),
        )
        try:
            queue(engine, 3)
            drain(engine, provider, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
        finally:
            provider.close()
        ok, bad, ok2 = rows(engine)
        assert (ok.status, bad.status, ok2.status) == ("sent", "failed", "sent")
        assert "21211" in (bad.last_error or "")
        sent = {m["To"]: m for m in api.messages}
        assert sent["+919876500000"]["sid"] == ok.provider_id
        assert sent["+919876500000"]["From"] == "URJAMT"
        assert sent["+919876500000"]["StatusCallback"] == f"https://urjamitra.example.in/sms/twilio/status?ref={ok.id}"
        assert sent["+919876500000"]["Body"].startswith("Bill for A/c 4100000000")


def test_the_dispatcher_waits_for_tokens_at_the_configured_rate(engine: Engine, dlt: DltGatewayProvider) -> None:
    queue(engine, 30)
    clock = [0.0]
    slept: list[float] = []
    bucket = LocalTokenBucket(rate=10, burst=10, clock=lambda: clock[0])

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    drain(engine, dlt, templates=TEMPLATES, bucket=bucket, config=CONFIG, clock=lambda: DAY, sleep=sleep)
    # 10 at once from the full bucket, then 20 more at 10 a second: two seconds of waiting (and a token
    # or two spent finding that nothing is left).
    assert 2.0 - 1e-6 <= sum(slept) <= 2.25
    assert statuses(engine) == ["sent"] * 30


def test_workers_sharing_a_redis_bucket_together_stay_within_the_rate(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"test:bucket:{dt.datetime.now().timestamp()}"
    try:
        a = RedisTokenBucket(client, key, rate=5, burst=20)
        b = RedisTokenBucket(client, key, rate=5, burst=20)
        got_a, _ = a.take(15)
        got_b, wait_b = b.take(15)
        assert (got_a, got_b) == (15, 5)  # one bucket of 20 between them
        assert 0 < wait_b <= 0.2  # the next token in a fifth of a second at 5 a second
        assert b.take(1)[0] in (0, 1)
    finally:
        client.delete(key)
        client.close()


def test_a_one_time_password_leaves_no_copy_in_the_outbox_once_sent(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:
        bill_sms(session, MOBILES[0], 0, template="otp.login", payload={"otp": "482913", "minutes": "10"}, priority=0)
        session.commit()
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    (row,) = rows(engine)
    assert row.status == "sent"
    assert gateway.messages[str(row.id)]["text"].startswith("482913 is your Urja Mitra login OTP.")
    assert "482913" not in str(row.payload)


def test_a_proxy_timeout_in_front_of_the_gateway_is_never_resent(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 2)
    gateway.fail_next(1, 504)  # the gateway may have taken the batch behind it
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY).unknown == 2
    later = DAY + dt.timedelta(hours=1)
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: later).claimed == 0
    assert statuses(engine) == ["unknown", "unknown"]


def test_a_receipt_for_a_row_waiting_to_be_retried_settles_it_and_the_retry_never_happens(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    queue(engine, 1)
    gateway.reject_to["919876500000"] = ("THROTTLED", True)
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    (row,) = rows(engine)
    assert row.status == "pending"
    # ...yet the provider had it after all, and says so.
    record_receipts(engine, "dlt", [Receipt("delivered", ref=str(row.id), provider_id="gw-late")], now=DAY)
    later = DAY + dt.timedelta(hours=1)
    assert drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: later).claimed == 0
    assert statuses(engine) == ["delivered"]


def test_a_template_validity_counts_from_when_the_row_was_queued(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:  # outage.breakdown is valid for 2 hours
        payload = {"area": "Kidwai Nagar", "since": "6:40 AM", "etr": "9:00 AM"}
        bill_sms(session, MOBILES[0], 0, template="outage.breakdown", payload=payload, at=DAY - dt.timedelta(hours=3))
        bill_sms(session, MOBILES[1], 1, template="outage.breakdown", payload=payload, at=DAY - dt.timedelta(hours=1))
        session.commit()
    drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert statuses(engine) == ["expired", "sent"]
    sent = gateway.messages[str(rows(engine)[1].id)]
    assert sent["valid_until"] == (DAY + dt.timedelta(hours=1)).isoformat()  # queued + 2 h, not now + 2 h


def test_twilio_server_errors_after_the_request_left_are_unknown_not_resent(engine: Engine) -> None:
    sid, token = "AC" + "3" * 32, "twilio-token"
    with FakeTwilioApi(sid, token) as api:
        api.refuse["+919876500000"] = (500, 20500, "Internal Server Error")
        api.refuse["+919876500001"] = (429, 20429, "Too Many Requests")
        provider = TwilioSmsProvider(
            sid, token, public_url=PORTAL, from_="URJAMT", http_client=RebasedHttpClient(api.base_url, timeout=5)
        )
        try:
            queue(engine, 2)
            drain(engine, provider, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
        finally:
            provider.close()
    assert statuses(engine) == ["unknown", "pending"]  # 429: nothing created, tried again later


def test_an_alert_queued_before_its_kind_was_switched_off_is_held_back(
    engine: Engine, dlt: DltGatewayProvider, gateway: FakeSmsGateway
) -> None:
    with Session(engine) as session:
        quiet = factories.account(session, mobiles=(MOBILES[7],))
        quiet.alert_bill = False  # switched off on the portal after the billing run queued its SMS
        outage_off = factories.account(session, mobiles=(MOBILES[8],))
        outage_off.alert_outage = False
        bill_sms(session, MOBILES[7], 7, account_id=quiet.id)
        bill_sms(session, MOBILES[8], 8, account_id=outage_off.id)  # bills still go to the other account
        bill_sms(session, MOBILES[7], 9, account_id=quiet.id, template="reply.help", payload={})
        session.commit()
    stats = drain(engine, dlt, templates=TEMPLATES, bucket=None, config=CONFIG, clock=lambda: DAY)
    assert stats.opted_out == 1
    assert [(r.template, r.recipient, r.status, r.last_error) for r in rows(engine)] == [
        ("bill.issued", MOBILES[7], "cancelled", "bill alerts switched off"),
        ("bill.issued", MOBILES[8], "sent", None),
        ("reply.help", MOBILES[7], "sent", None),
    ]
