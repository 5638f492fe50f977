"""The SMS benchmark's baseline worker: the project's tasks plus `bench.send_one`, one Celery task per message.

`celery -A bench.sms_baseline_worker worker` reads the same environment as `urjamitra.worker`. The task does
what the dispatcher does for a batch, for one row: claim it (pending > sending, committed before anything
leaves), render it with the dispatcher's own helpers, take a token from the shared rate limit, send it
through the configured provider as a batch of one and record the outcome. It skips the opt-out lookups the
batched path makes, which flatters the baseline a little. Used only by bench/sms_bench.py.
"""

from __future__ import annotations

import datetime as dt

from celery import Task
from sqlalchemy import update

from cis.models import Outbox
from sms.dispatch import variables_for
from sms.providers import OutgoingSms
from sms.ratelimit import take_tokens
from sms.templates import render
from urjamitra.messaging import dispatch_config, templates
from urjamitra.settings import Settings
from urjamitra.tasks import _sms_side, celery_for

app = celery_for(Settings.from_env())

_SETTLED = {"accepted": "sent", "delivered": "delivered", "rejected": "failed", "retry": "failed", "unknown": "unknown"}


@app.task(name="bench.send_one", bind=True, ignore_result=True)
def send_one(self: Task, outbox_id: int) -> str:
    """Send one outbox row if it is still pending; running twice sends it once (the claim decides)."""
    side = _sms_side(self.app)
    settings: Settings = self.app.conf.urja_settings
    config = dispatch_config(settings)
    now = dt.datetime.now(dt.UTC)
    o = Outbox.__table__.c
    with side.engine.begin() as conn:
        row = conn.execute(
            update(Outbox.__table__)
            .where(o.id == outbox_id, o.status == "pending")
            .values(status="sending", claimed_at=now, updated_at=now, attempts=o.attempts + 1)
            .returning(o.template, o.recipient, o.payload)
        ).first()
    if row is None:
        return "not pending"
    template = templates()[row.template]
    rendered = render(
        template,
        variables_for(template, row.payload, config.defaults),
        allowed_urls=config.allowed_urls,
        allowed_numbers=config.allowed_numbers,
        entity_id=config.entity_id,
        now=now,
    )
    message = OutgoingSms.rendered(str(outbox_id), row.recipient, rendered, rendered.valid_until)
    take_tokens(side.bucket, 1)
    (result,) = side.provider.send_batch([message])
    status = _SETTLED[result.outcome]
    with side.engine.begin() as conn:
        conn.execute(
            update(Outbox.__table__)
            .where(o.id == outbox_id, o.status == "sending")
            .values(
                status=status,
                provider=side.provider.name,
                provider_id=result.provider_id,
                segments=message.segments,
                sent_at=now,
                last_error=result.error,
                updated_at=now,
            )
        )
    return status
