"""Without Redis there is no Celery beat: the outbox pump drains the outbox in a thread of the web process."""

from __future__ import annotations

import datetime as dt
import threading
import time

from cis.db import make_engine
from urjamitra.settings import Settings

OUTAGE_SWEEP_S = 15.0


class OutboxPump:
    """A thread that drains the outbox (SMS and alert calls) every few seconds and runs the outage and escalation
    sweeps: what Celery beat and its workers do when there is a Redis. `urjamitra up` runs one; `urjamitra serve`
    runs one in one of its workers (urjamitra.gunicorn_app)."""

    def __init__(self, settings: Settings, every_s: float = 3.0) -> None:
        self._settings = settings
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from cis.db import make_session_factory
        from cis.escalation import sweep as escalate
        from cis.logs import get_logger
        from sms.dispatch import settle_stuck
        from urjamitra.messaging import drain_outbox, make_bucket, make_sms_provider
        from urjamitra.outages import drain_voice, roster_days_due, sweep
        from urjamitra.telephony import make_dialer

        engine = make_engine(self._settings.database_url)
        provider = make_sms_provider(self._settings, make_session_factory(engine))
        dialer = make_dialer(self._settings, engine)
        bucket = make_bucket(self._settings, provider.name)
        swept = 0.0
        try:
            while not self._stop.wait(self._every_s):
                try:
                    # What beat's sms.settle_stuck does: rows a crash left in flight become unknown, not stuck.
                    settle_stuck(engine, now=dt.datetime.now(dt.UTC))
                    if time.monotonic() - swept >= OUTAGE_SWEEP_S:
                        # What beat's outage.sweep does: shutdown notices, unfinished fan-outs, suspected breakdowns.
                        # The roster days first: the sweep then ends today's slots that are already over, which
                        # would otherwise show as power cuts now until the next sweep.
                        swept = time.monotonic()
                        roster_days_due(self._settings, engine)
                        sweep(self._settings, engine)
                        # What beat's complaints.escalation_sweep does: the 1912 matrix's timers.
                        escalate(engine)
                    drain_outbox(self._settings, engine, provider, bucket, budget_s=self._every_s * 5)
                    drain_voice(self._settings, engine, dialer)
                except Exception:  # a bad moment (database locked...) must not end the pump
                    get_logger(__name__).exception("draining the outbox failed; trying again")
        finally:
            provider.close()
            dialer.close()
            engine.dispose()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
