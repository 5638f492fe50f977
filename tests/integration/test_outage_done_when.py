"""Issue 6's "done when", on the embedded defaults of `urjamitra up`, as the desk and a consumer would do it.

The desk signs in and publishes a breakdown; the console provider shows the SMS; the affected consumer calls
the IVR (`urjamitra phone`) and hears it in Hindi; SMS OUTAGE answers it; the restoration reaches everyone once;
`urjamitra reliability` counts it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cis.db import make_engine
from cis.models import Account, AccountMobile, DistributionTransformer, Division, Feeder, SubDivision, Substation
from tests.integration.test_cli import URJAMITRA, Browser, _env, _read_until

IST = ZoneInfo("Asia/Kolkata")


def _console(admin: Browser, to: str) -> list[dict[str, str]]:
    """The console provider's messages to one mobile, as its page shows them to the admin."""
    query = urllib.parse.urlencode({"to": to})
    return list(json.loads(admin.get(f"/sms/console.json?{query}"))["messages"])


def _wait_for(what: str, check, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_desk_publishes_a_breakdown_everyone_hears_it_and_the_restoration_once(tmp_path: Path) -> None:
    env = _env(tmp_path, URJA_WEB_BIND="127.0.0.1:0")
    errors = (tmp_path / "stderr.log").open("w")
    up = subprocess.Popen([*URJAMITRA, "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        output = _read_until(up, "Press Ctrl+C", seconds=120)
        shown = f"stdout:\n{output}\nstderr:\n{(tmp_path / 'stderr.log').read_text()}"
        home = re.search(r"home page\s+(http://127\.0\.0\.1:\d+)/", output)
        fastagi = re.search(r"IVR \(FastAGI\)\s+agi://127\.0\.0\.1:(\d+)/ivr", output)
        assert home is not None, shown
        assert fastagi is not None, shown
        base = home.group(1)
        assert f"{base}/desk" in output, shown  # up says where the desk is

        # A feeder of division D01 with consumers who have mobiles, straight from the demo database.
        engine = make_engine(env["URJA_DATABASE_URL"])
        with engine.connect() as conn:
            rows = conn.execute(
                select(Feeder.id, Feeder.name, Account.account_no, AccountMobile.e164, Feeder.code)
                .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
                .join(Account, Account.dt_id == DistributionTransformer.id)
                .join(AccountMobile, AccountMobile.account_id == Account.id)
                .join(Substation, Substation.id == Feeder.substation_id)
                .join(SubDivision, SubDivision.id == Substation.sub_division_id)
                .join(Division, Division.id == SubDivision.division_id)
                .where(Division.code == "D01", Account.status == "active", Account.alert_channel == "sms",
                       Account.sms_opt_out.is_(False))
                .order_by(Feeder.id, Account.id)
            ).all()  # fmt: skip
        engine.dispose()
        feeder_id, feeder_name, feeder_code = rows[0][0], rows[0][1], rows[0][4]
        on_feeder = [(acct, mobile) for f, _, acct, mobile, _ in rows if f == feeder_id]
        account_no, mobile = on_feeder[0]

        desk = Browser(base)
        signed_in = desk.post("/login", "/login", [("username", "desk.d01"), ("password", "demo1912")])
        assert "Outage desk" in signed_in
        since = (dt.datetime.now(IST) - dt.timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M")
        etr = (dt.datetime.now(IST) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        fields = [("feeder", str(feeder_id)), ("since", since), ("etr", etr), ("cause", "11 kV jumper snapped")]
        preview = desk.post("/desk/breakdown", "/desk/breakdown", fields)
        reach = re.search(r"This will reach (\d+) consumers", re.sub(r"<[^>]+>", "", preview))
        assert reach is not None, preview
        assert int(reach.group(1)) >= len(on_feeder)
        published = desk.post("/desk/breakdown", "/desk/breakdown", [*fields, ("confirm", "1")])
        assert feeder_name in published

        # The console provider shows the alert SMS to the affected consumers (up drains the outbox itself).
        mobiles = sorted({m for _, m in on_feeder})

        admin = Browser(base)  # the SMS console is the admin's
        signed_in_admin = admin.post("/login", "/login", [("username", "admin"), ("password", "demo1912")])
        assert "Parts of the system" in signed_in_admin

        def alerts(template_text: str) -> list[dict[str, str]]:
            return [m for to in mobiles for m in _console(admin, to) if template_text in m["text"]]

        told = _wait_for(
            "the breakdown SMS", lambda: [m for m in alerts("Fault: no power in") if m["recipient"] == mobile]
        )
        assert feeder_name[:30].strip() in told[0]["text"]

        # The affected consumer calls: the IVR announces the breakdown in Hindi before the menu.
        phone = subprocess.run(
            [*URJAMITRA, "phone", "--caller", mobile],
            cwd=tmp_path,
            env={**env, "URJA_FASTAGI_BIND": f"127.0.0.1:{fastagi.group(1)}"},
            input="\nq\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert phone.returncode == 0, phone.stderr
        assert "फीडर पर खराबी के कारण बिजली आपूर्ति बाधित है" in phone.stdout, phone.stdout

        # SMS OUTAGE answers with the feeder's status.
        reply = subprocess.run(
            [*URJAMITRA, "sms", "--from", mobile, f"OUTAGE {account_no}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert reply.returncode == 0, reply.stderr
        assert "is off due to" in reply.stdout, reply.stdout
        assert "Expected back by" in reply.stdout, reply.stdout

        # Restoration: everyone who was told of the breakdown is told once that supply is back.
        live = json.loads(desk.get("/desk/events.json"))["live"]
        (event,) = [e for e in live if e["kind"] == "breakdown" and e["status"] == "published"]
        assert event["feeders"] == [{"id": feeder_id, "name": feeder_name}]
        asked = desk.post(f"/desk/events/{event['id']}/restore", f"/desk/events/{event['id']}", [])
        assert "Yes, mark restored and tell consumers" in asked  # the desk is asked first; nothing is sent yet
        assert not alerts("was restored at")
        desk.post(f"/desk/events/{event['id']}/restore", f"/desk/events/{event['id']}", [("confirm", "1")])
        breakdown_to = {m["recipient"] for m in alerts("Fault: no power in")}
        restored = _wait_for(
            "the restoration SMS to everyone told",
            lambda: (found := alerts("was restored at")) and {m["recipient"] for m in found} >= breakdown_to and found,
        )
        time.sleep(4)  # another drain or two: nothing more may come
        restored = alerts("was restored at")
        assert max(Counter(m["recipient"] for m in restored).values()) == 1
        assert {m["recipient"] for m in restored} == breakdown_to

        # The reliability indices count the 45-minute interruption on that feeder.
        month = dt.datetime.now(IST).strftime("%Y-%m")
        indices = subprocess.run(
            [*URJAMITRA, "reliability", "--month", month, "--division", "D01"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert indices.returncode == 0, indices.stderr
        line = next(line for line in indices.stdout.splitlines() if f" {feeder_code} " in line)
        assert re.search(r"\b4[4-6](\.\d+)?\b", line), indices.stdout  # SAIDI/CAIDI of ~45 customer-minutes each
        assert "D01" in indices.stdout
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:  # never leave the server running when the test fails
            up.kill()
            up.wait(timeout=10)
        if up.stdout:
            up.stdout.close()
        errors.close()
    assert up.returncode == 0, (tmp_path / "stderr.log").read_text()
