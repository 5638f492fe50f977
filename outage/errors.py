"""The outage error tree: what the desk (or a consumer's channel) is told when an outage action cannot be done."""

from __future__ import annotations

# An event's status as the desk reads it (the stored codes are for the code, not for people).
_STATUS_WORDS = {"published": "live", "suspected": "only suspected"}


class OutageError(Exception):
    """Base of every error the outage use cases raise on purpose."""


class UnknownEvent(OutageError):
    def __init__(self, event_id: int) -> None:
        super().__init__(f"No outage event {event_id} is on record.")
        self.event_id = event_id


class InvalidOutage(OutageError):
    """The outage as given cannot be published or changed (times out of order, no feeders, cause too long)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Cannot do that: {problem}.")
        self.problem = problem


class NotInScope(OutageError):
    """A feeder or event outside the part of the network this desk may act on."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is outside your division.")


class OverlappingOutage(OutageError):
    """A feeder is already under a live event of the same kind: update that event instead."""

    def __init__(self, feeder_name: str, event_id: int) -> None:
        super().__init__(f"Feeder {feeder_name} is already under outage {event_id}: update that one instead.")
        self.feeder_name = feeder_name
        self.event_id = event_id


class EventClosed(OutageError):
    """The event is restored, cancelled or dismissed (or not yet confirmed): this action no longer applies."""

    def __init__(self, event_id: int, status: str, action: str) -> None:
        super().__init__(f"Outage {event_id} is {_STATUS_WORDS.get(status, status)}, so it cannot be {action}.")
        self.event_id = event_id
        self.status = status


class InvalidRoster(OutageError):
    def __init__(self, problem: str) -> None:
        super().__init__(f"Cannot save the roster: {problem}.")
        self.problem = problem


class InvalidMonth(OutageError):
    """A reporting month not given as YYYY-MM."""

    def __init__(self, given: str) -> None:
        super().__init__(f"'{given}' is not a month: give it as YYYY-MM, for example 2026-11.")
        self.given = given


class UnknownDivision(OutageError):
    def __init__(self, code: str) -> None:
        super().__init__(f"No division {code} is on record.")
        self.code = code


class UnknownRoster(OutageError):
    def __init__(self, roster_id: int) -> None:
        super().__init__(f"No roster {roster_id} is on record.")
        self.roster_id = roster_id
