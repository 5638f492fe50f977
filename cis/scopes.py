"""Which sub-divisions an officer's scope covers: what they may see of consumers' requests and documents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.models import Account, Circle, DistributionTransformer, Division, Feeder, Staff, SubDivision, Substation

# Officers who work consumers' requests (the SDO's and EE's to-do) and may open the documents that came with them.
# The call centre's agents and the outage desks do not.
OFFICER_ROLES = ("je", "sdo", "ee", "se", "admin")


def covered_sub_divisions(session: Session, scope_level: str | None, scope_id: int | None) -> list[int] | None:
    """The ids of the sub-divisions a scope covers, or None for the whole discom (no scope)."""
    if scope_level is None:
        return None
    if scope_id is None:
        return []
    query = select(SubDivision.id)
    if scope_level == "sub_division":
        query = query.where(SubDivision.id == scope_id)
    elif scope_level == "division":
        query = query.where(SubDivision.division_id == scope_id)
    elif scope_level == "circle":
        query = query.join(Division, Division.id == SubDivision.division_id).where(Division.circle_id == scope_id)
    elif scope_level == "zone":
        query = (
            query.join(Division, Division.id == SubDivision.division_id)
            .join(Circle, Circle.id == Division.circle_id)
            .where(Circle.zone_id == scope_id)
        )
    else:
        return []
    return list(session.scalars(query.order_by(SubDivision.id)))


def officer_covers(session: Session, staff_id: int, sub_division_id: int | None) -> bool:
    """True when `staff_id` is an active officer whose scope holds `sub_division_id`.

    Something that belongs to no sub-division (an anonymous report that named none) is for discom-wide officers.
    """
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.role not in OFFICER_ROLES:
        return False
    covered = covered_sub_divisions(session, staff.scope_level, staff.scope_id)
    if covered is None:
        return True
    return sub_division_id is not None and sub_division_id in covered


def account_sub_division(session: Session, account_id: int) -> int | None:
    """The sub-division an account is supplied from (its DT's feeder's substation)."""
    return session.scalar(
        select(Substation.sub_division_id)
        .join(Feeder, Feeder.substation_id == Substation.id)
        .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
        .join(Account, Account.dt_id == DistributionTransformer.id)
        .where(Account.id == account_id)
    )


def scopes_covering(session: Session, sub_division_id: int) -> list[tuple[str, int]]:
    """The (scope_level, scope_id) pairs whose scope holds `sub_division_id`: its own, its division's, circle's
    and zone's."""
    row = session.execute(
        select(SubDivision.id, SubDivision.division_id, Division.circle_id, Circle.zone_id)
        .join(Division, Division.id == SubDivision.division_id)
        .join(Circle, Circle.id == Division.circle_id)
        .where(SubDivision.id == sub_division_id)
    ).first()
    if row is None:
        return []
    return [("sub_division", row[0]), ("division", row[1]), ("circle", row[2]), ("zone", row[3])]
