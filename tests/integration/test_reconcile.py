"""Reconciliation against a crafted settlement report in Razorpay's columns: each kind of finding, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.models import AuditLog, Outbox, Payment, PaymentReconIssue
from cis.payments import GatewayPayment, open_intent, post_gateway_payment
from cis.payments.reconcile import reconcile
from cis.web.pay.razorpay import MalformedEvent, read_settlement_csv
from tests import factories

DAY = dt.date(2026, 11, 20)
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PAID = dt.datetime(2026, 11, 20, 10, 0, tzinfo=IST)
COLUMNS = (
    "entity_id,type,debit,credit,amount,currency,fee,tax,on_hold,settled,created_at,settled_at,settlement_id,"
    "description,notes,payment_id,arn,settlement_utr,order_id,order_receipt,method,upi_flow,card_network,"
    "card_issuer,card_type,dispute_id"
)


def _line(ref: str, amount: str, created: str, receipt: str = "") -> str:
    return (
        f"{ref},payment,0,{amount},{amount},INR,0,0,false,true,{created},21/11/2026,setl_Test000001,,,,,UTR1,order_1,"
        f"{receipt},upi,,,,,"
    )


def _intent(uow: UnitOfWork, session: Session, n: int) -> str:
    acc = factories.account(session, mobiles=(f"+9198765{n:05d}",))
    factories.bill(session, acc)
    session.commit()
    return open_intent(uow, acc.account_no, channel="sms", now=PAID - dt.timedelta(days=10)).token


def _post(uow: UnitOfWork, token: str, ref: str, amount: int, at: dt.datetime) -> None:
    post_gateway_payment(uow, GatewayPayment("sandbox", ref, token, None, amount, "upi", at), now=at)


def test_a_settlement_report_finds_each_kind_once_and_posts_what_was_missed(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    matched, differs, missed, late = (_intent(uow, session, n) for n in range(4))
    _post(uow, matched, "pay_Matched00001", 172_700, PAID)
    _post(uow, differs, "pay_Differs00001", 172_700, PAID)
    _post(uow, late, "pay_NotSettled01", 172_700, PAID - dt.timedelta(days=5))
    # The dashboard's export: rupees with a decimal point, times as dd/mm/YYYY HH:MM:SS (IST); and the API's form.
    report_file = "\n".join(
        [
            COLUMNS,
            _line("pay_Matched00001", "1727.00", "20/11/2026 10:00:00"),
            _line("pay_Differs00001", "1700.00", "20/11/2026 10:00:00"),
            _line("pay_WebhookLost1", "172700", str(int(PAID.timestamp())), receipt=missed),  # never posted
            _line("pay_Stranger0001", "50000", str(int(PAID.timestamp())), receipt="zzzzzzzzzz"),  # not ours
            "rfnd_Test0000001,refund,50000,0,50000,INR,0,0,false,true,20/11/2026 11:00:00,21/11/2026,setl_Test000001"
            ",,,pay_Other,,,,,,,,,,",
        ]
    )
    items = read_settlement_csv(report_file)

    first = reconcile(uow, "sandbox", DAY, items, now=PAID + dt.timedelta(days=1))
    again = reconcile(uow, "sandbox", DAY, items, now=PAID + dt.timedelta(days=1))

    assert (first.settled, first.matched) == (4, 1)
    assert first.posted_now == ["pay_WebhookLost1"]
    assert first.unmatched == ["pay_Stranger0001"]
    assert first.mismatched == [("pay_Differs00001", 172_700, 170_000)]
    assert [(ref, amount) for ref, amount, _ in first.not_settled] == [("pay_NotSettled01", 172_700)]
    # Run again: the missed payment is matched now, nothing is posted twice, the findings are not doubled.
    assert (again.matched, again.posted_now, again.unmatched) == (2, [], ["pay_Stranger0001"])
    session.expire_all()
    assert (
        session.scalar(select(func.count()).select_from(Payment).where(Payment.gateway_ref == "pay_WebhookLost1")) == 1
    )
    assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "payment.receipt")) == 4
    settled = dict(session.execute(select(Payment.gateway_ref, Payment.settlement_id)).all())
    assert settled["pay_Matched00001"] == settled["pay_WebhookLost1"] == "setl_Test000001"
    assert settled["pay_Differs00001"] is None
    assert settled["pay_NotSettled01"] is None
    kinds = sorted(session.execute(select(PaymentReconIssue.kind, PaymentReconIssue.gateway_ref)).all())
    assert kinds == [
        ("amount_mismatch", "pay_Differs00001"),
        ("not_settled", "pay_NotSettled01"),
        ("posted_now", "pay_WebhookLost1"),
        ("unmatched", "pay_Stranger0001"),
    ]
    assert (
        session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "payments.reconciled")) == 2
    )


def test_a_settlement_file_without_its_columns_or_with_nonsense_is_refused() -> None:
    with pytest.raises(MalformedEvent):
        read_settlement_csv("id,amount\npay_1,100\n")
    with pytest.raises(MalformedEvent):
        read_settlement_csv(COLUMNS + "\n" + _line("pay_X", "lots", "20/11/2026 10:00:00"))
    with pytest.raises(MalformedEvent):
        read_settlement_csv(COLUMNS + "\n" + _line("pay_X", "100", "yesterday"))


def test_the_cli_reconciles_a_file_and_writes_the_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cis.db import make_engine
    from cis.migrate import upgrade
    from urjamitra.cli import main
    from urjamitra.settings import Settings

    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    report = tmp_path / "settlement.csv"
    report.write_text(COLUMNS + "\n" + _line("pay_Stranger0001", "500.00", "20/11/2026 10:00:00", "zzzzzzzzzz"))
    out = tmp_path / "findings.csv"
    settings = Settings(database_url=url, secret_key="cli-reconcile-" + "0" * 32)

    assert (
        main(["payments", "reconcile", "--date", "2026-11-20", "--file", str(report), "--csv", str(out)], settings) == 0
    )

    printed = capsys.readouterr().out
    assert "sandbox 2026-11-20: 1 payments settled, 0 matched; posted now 0, unmatched 1" in printed
    assert out.read_text().splitlines() == [
        "gateway,day,kind,gateway_ref,ours_paise,theirs_paise",
        "sandbox,2026-11-20,unmatched,pay_Stranger0001,,",
    ]
    missing = main(["payments", "reconcile", "--file", str(tmp_path / "nope.csv")], settings)
    assert missing != 0
