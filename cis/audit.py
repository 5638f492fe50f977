"""Writing audit rows: one for every change to money, status or a consumer's contact details."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from cis.models import AuditLog


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    at: dt.datetime,
    **detail: Any,
) -> None:
    """Add an audit row to the session's transaction, so it commits or rolls back with the change."""
    session.add(AuditLog(at=at, actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail))
