"""Supply on my feeder: the outage the account's feeder is off under now, or the next planned shutdown on it.

The portal's home shows it; it reads the outage tables as the complaint desk does (`cis.complaints` links a
no-supply complaint to the same live outage), so the page and an acknowledgement SMS never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from cis.complaints import _live_outage
from cis.db import UnitOfWork
from cis.errors import UnknownAccount
from cis.interruptions import InterruptionNotice
from cis.models import Account, DistributionTransformer, Feeder, FeederInterruption, OutageEvent

PLANNED_AHEAD = dt.timedelta(days=7)  # a planned shutdown further off than this is not shown yet


@dataclass(frozen=True)
class FeederSupply:
    """The account's feeder, the outage it is off under at `at` (None: none reported), the next planned
    shutdown on it within a week (None: none), and the moment this was read."""

    feeder_name: str
    outage: InterruptionNotice | None
    planned: InterruptionNotice | None
    at: dt.datetime

    @property
    def etr_passed(self) -> bool:
        """The live outage had a restoration time, and it has gone by without the supply coming back."""
        etr = self.outage.expected_restore_at if self.outage else None
        return etr is not None and etr <= self.at


def supply_on_feeder(uow: UnitOfWork, account_id: int, *, now: dt.datetime) -> FeederSupply:
    """What the account's feeder is going through at `now`: a published breakdown, shutdown or roster slot in
    force (with its ETR; with several, the one expected to last longest), and the next published shutdown to
    come within 7 days. Three indexed queries. UnknownAccount for no account with this id."""
    with uow:
        session = uow.session
        feeder = session.execute(
            select(Feeder.id, Feeder.name)
            .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
            .join(Account, Account.dt_id == DistributionTransformer.id)
            .where(Account.id == account_id)
        ).first()
        if feeder is None:
            raise UnknownAccount(f"with id {account_id}")
        live = _live_outage(session, feeder.id, now)
        planned = session.execute(
            select(
                FeederInterruption.kind,
                FeederInterruption.started_at,
                OutageEvent.expected_restore_at,
                FeederInterruption.reason,
            )
            .join(OutageEvent, OutageEvent.id == FeederInterruption.event_id)
            .where(
                FeederInterruption.feeder_id == feeder.id,
                FeederInterruption.restored_at.is_(None),
                FeederInterruption.cancelled_at.is_(None),
                FeederInterruption.started_at > now,
                FeederInterruption.started_at <= now + PLANNED_AHEAD,
                OutageEvent.status == "published",
                OutageEvent.kind == "shutdown",
            )
            .order_by(FeederInterruption.started_at, FeederInterruption.id)
            .limit(1)
        ).first()
    upcoming = None
    if planned is not None:
        upcoming = InterruptionNotice(
            kind=planned.kind,
            started_at=planned.started_at,
            expected_restore_at=planned.expected_restore_at,
            reason=planned.reason,
            feeder_name=feeder.name,
        )
    return FeederSupply(feeder.name, live.notice if live else None, upcoming, now)
