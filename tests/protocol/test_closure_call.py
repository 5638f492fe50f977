"""The closure call on the wire: a resolved complaint of a consumer who prefers calls is queued as a voice row, the
dialer places it with the `closure` flow, and the consumer's 1 or 2, pressed on a call Asterisk runs through
FastAGI, closes or reopens the complaint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork
from cis.escalation import resolve_complaint
from cis.models import Account, Complaint, Outbox, Staff
from ivr.alert_calls import flow_and_params
from ivr.fastagi import start_in_thread
from ivr.outbound import encode_params
from tests import factories
from tests.ivr_support import dialog_on
from tests.protocol.fake_asterisk import LISTEN, FakeAsterisk

NOW = factories.NOW
MOBILE = "+919876512345"


def _resolved_for_a_caller_who_prefers_calls(factory: Callable[[], Session]) -> tuple[str, str, Outbox]:
    with factory() as s:
        acc = factories.account(s, mobiles=(MOBILE,))
        acc.alert_channel = "voice"
        sub = factories.sub_division_of(s, acc)
        s.commit()
        account_no = acc.account_no
        je = s.scalar(select(Staff.id).where(Staff.role == "je", Staff.scope_id == sub))
    uow = UnitOfWork(factory)
    cmd = RegisterComplaint(channel="ivr", category="voltage", account_no=account_no, mobile=MOBILE)
    number = register_complaint(uow, cmd, now=NOW - dt.timedelta(hours=3)).number
    assert je is not None
    resolve_complaint(uow, number, staff_id=je, code="voltage_corrected", now=NOW - dt.timedelta(hours=1))
    with factory() as s:
        voice = s.scalars(
            select(Outbox).where(Outbox.channel == "voice", Outbox.template == "complaint.resolved")
        ).one()
    return account_no, number, voice


@pytest.mark.parametrize(("key", "status", "level"), [("1", "closed", 0), ("2", "reopened", 1)])
def test_the_consumers_key_on_the_closure_call_closes_or_reopens_the_complaint(
    sqlite_engine: Engine, key: str, status: str, level: int
) -> None:
    factory: Callable[[], Session] = sessionmaker(bind=sqlite_engine, expire_on_commit=False)
    account_no, number, voice = _resolved_for_a_caller_who_prefers_calls(factory)
    assert (voice.recipient, voice.payload) == (MOBILE, {"number": number})
    flow, params = flow_and_params(voice.template, voice.payload)
    assert flow == "closure"
    params["account"] = account_no
    path = f"closure?ref=outbox:{voice.id}:1&params={encode_params(params)}"
    with start_in_thread(dialog_on(factory), "127.0.0.1", 0, executor_workers=1) as server:
        # The consumer hears the whole question (intro, the number digit by digit, a pause, "resolved", "press 1
        # or 2"), then presses the key while the IVR waits for it.
        heard = [LISTEN] * (4 + len(number))
        call = FakeAsterisk(server.host, server.port).call(
            [*heard, key], path=path, callerid="1912", uniqueid="u-closure"
        )
    played = [c for c in call.commands if c.startswith("STREAM FILE")]
    assert played[0].startswith("STREAM FILE urjamitra/hi/alert/closure/intro")
    assert any("alert/closure/ask" in c for c in played)
    said = "alert/closure/thanks" if key == "1" else "alert/closure/reopened"
    assert any(said in c for c in played)
    with factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.number == number)).one()
    assert (complaint.status, complaint.escalation_level) == (status, level)


def test_a_closure_call_for_another_accounts_complaint_changes_nothing(sqlite_engine: Engine) -> None:
    factory: Callable[[], Session] = sessionmaker(bind=sqlite_engine, expire_on_commit=False)
    _, number, voice = _resolved_for_a_caller_who_prefers_calls(factory)
    with factory() as s:
        other = factories.account(s)
        s.commit()
        other_no = other.account_no
    params = {"number": number, "account": other_no}
    path = f"closure?ref=outbox:{voice.id}:1&params={encode_params(params)}"
    with start_in_thread(dialog_on(factory), "127.0.0.1", 0, executor_workers=1) as server:
        call = FakeAsterisk(server.host, server.port).call(["2"], path=path, callerid="1912", uniqueid="u-closure-2")
    assert any("alert/closure/not_waiting" in c for c in call.commands)
    with factory() as s:
        assert s.scalar(select(Complaint.status).where(Complaint.number == number)) == "resolved"
        assert s.scalar(select(Account.alert_channel).where(Account.account_no == other_no)) == "sms"
