"""The outage desk on the web: live events of the desk's division, and forms to publish and settle them.

GET  /desk/                         live events (suspected first), the last 48 hours' closed ones; refreshes
GET  /desk/events.json              the same as JSON
GET/POST /desk/breakdown            publish a breakdown: the form, then a preview of its reach, then confirm=1
GET/POST /desk/shutdown             publish a planned shutdown, the same way
GET  /desk/events/<id>              one event: its feeders, reach, revisions and the forms to change it
POST /desk/events/<id>/etr          a new expected restoration
POST /desk/events/<id>/restore|cancel|confirm|dismiss
                                    first a page asking to confirm (what happens, whom it reaches), then with
                                    confirm=1 the change itself: no click does it at once
GET  /desk/reach                    per feeder: consumers and the share with a verified mobile
GET/POST /desk/rosters              rostering schedules of the division, and a form for a new one
POST /desk/rosters/<id>/end         stop a roster
POST /desk/division                 an administrator picks the division the desk works on

Only staff of the outage_desk role (scoped to a division) or admin (any division) get in; another division's
event or roster answers 404, as a missing one does. Times are typed and shown in IST and stored in UTC; kinds,
statuses and revisions are shown in words, never as the codes stored. Views parse, call one use case of
`outage.events`, hand the revision to `on_revision` (the fan-out) when consumers are to be told, and redirect
with what was done and whom it reaches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from cis import inputs
from cis.db import UnitOfWork
from cis.logs import get_logger
from cis.staff_auth import StaffRef
from cis.web.auth import current_staff, guard
from outage import events, queries
from outage.errors import (
    EventClosed,
    InvalidOutage,
    NotInScope,
    OutageError,
    OverlappingOutage,
    UnknownEvent,
    UnknownRoster,
)
from outage.roster import RosterPlan, create_roster, end_roster, list_rosters

IST = ZoneInfo("Asia/Kolkata")
DESK_ROLES = ("outage_desk", "admin")
REFRESH_SECONDS = 30
_CHOSEN_DIVISION = "desk_division"
log = get_logger(__name__)


class _FormError(ValueError):
    """What is wrong with a form as sent, and the HTTP status to answer it with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Scope:
    staff: StaffRef
    actor: events.Actor
    division_id: int | None  # the division shown; None: an administrator who has not picked one


@dataclass(frozen=True)
class _Ask:
    """A confirmation page: what is about to happen, to whom, and the button that does it."""

    title: str
    lines: list[tuple[str, str]]
    consequence: str
    button: str
    statuses: tuple[str, ...]  # the event statuses this action applies to
    verb: str  # "restored", "cancelled", ... for the refusal when it no longer applies


def ist_text(moment: dt.datetime | None, *, empty: str = "not known yet") -> str:
    """'20 Nov 2026, 15:30 IST'."""
    if moment is None:
        return empty
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M} IST"


def ist_input(moment: dt.datetime | None) -> str:
    """The value of a datetime-local input for `moment`, in IST: '2026-11-20T15:30'."""
    return moment.astimezone(IST).strftime("%Y-%m-%dT%H:%M") if moment is not None else ""


def parse_ist(raw: str | None, what: str, *, required: bool = True) -> dt.datetime | None:
    """An IST wall-clock time from a datetime-local input ('2026-11-20T15:30'), as an aware UTC datetime."""
    try:
        return inputs.local_datetime(raw, IST, field="when", label=what, zone_label="IST", required=required)
    except inputs.InvalidInput as exc:
        raise _FormError(str(exc)) from exc


def _ids(values: Sequence[str], what: str) -> tuple[int, ...]:
    ids = []
    for raw in values:
        text = raw.strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise _FormError(f"Choose the {what} from the list.")
        ids.append(int(text))
    return tuple(dict.fromkeys(ids))


def _status_of(exc: OutageError) -> int:
    if isinstance(exc, UnknownEvent | UnknownRoster):
        return 404
    if isinstance(exc, NotInScope):
        return 403
    if isinstance(exc, OverlappingOutage | EventClosed):
        return 409
    return 400


# What staff read for the codes stored with events and revisions.
KIND_LABELS = {"breakdown": "Breakdown", "shutdown": "Planned shutdown", "roster": "Roster slot"}
STATUS_LABELS = {
    "suspected": "Suspected",
    "published": "Live",
    "restored": "Restored",
    "cancelled": "Cancelled",
    "dismissed": "Dismissed",
}
ACTION_LABELS = {
    "suspected": "Raised as suspected (a burst of no-supply complaints)",
    "published": "Published",
    "etr_changed": "New ETR, consumers told",
    "etr_noted": "New ETR, a small change: nobody messaged",
    "day_ahead": "Day-before notice sent",
    "started": "Shutdown began, consumers told",
    "restored": "Restored",
    "cancelled": "Cancelled",
    "dismissed": "Dismissed",
    "reopened": "Reopened: consumers say supply is still off",
}
AUTHOR_LABELS = {
    "system:outage": "System",
    "system:roster": "Roster schedule",
    "system:outage-schedule": "System (shutdown notices)",
    "consumer:check": "Consumers (restoration check)",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def action_label(action: str | None) -> str:
    return "" if action is None else ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def author_label(author: str | None) -> str:
    """'staff:desk.d01' -> 'desk.d01'; the system's and consumers' names in words."""
    if author is None:
        return ""
    if author in AUTHOR_LABELS:
        return AUTHOR_LABELS[author]
    return author.split(":", 1)[1] if author.startswith("staff:") else author


def _count(n: int) -> str:
    return f"{n:,}"


def reach_text(reach: queries.Reach) -> str:
    """'It will reach 1,234 consumers: 1,000 by SMS, 200 by voice call, 34 unreachable.'"""
    consumers = "consumer" if reach.consumers == 1 else "consumers"
    return (
        f"It will reach {_count(reach.consumers)} {consumers}: {_count(reach.sms)} by SMS, "
        f"{_count(reach.voice)} by voice call, {_count(reach.unreachable)} unreachable."
    )


def desk_blueprint(
    session_factory: Callable[[], Session],
    *,
    on_revision: Callable[[int], None],
    etr_margin: dt.timedelta,
    clock: Callable[[], dt.datetime],
) -> Blueprint:
    """The /desk pages; `on_revision(revision_id)` is called after each committed revision consumers are to hear
    about (the composition root wires it to the fan-out), `etr_margin` is the ETR change worth telling."""
    bp = Blueprint(
        "desk",
        __name__,
        url_prefix="/desk",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    margin_minutes = int(etr_margin.total_seconds() // 60)

    @bp.before_request
    def _only_the_desk() -> ResponseReturnValue | None:
        refused = guard(*DESK_ROLES)
        if refused is not None:
            return refused
        staff = current_staff()
        assert staff is not None  # guard let a signed-in member through
        actor_name = f"staff:{staff.username}"
        if staff.role == "admin":
            chosen = session.get(_CHOSEN_DIVISION)
            division = chosen if isinstance(chosen, int) and not isinstance(chosen, bool) else None
            g.desk = _Scope(staff, events.Actor(actor_name, None), division)
        elif staff.scope_level == "division" and staff.scope_id is not None:
            g.desk = _Scope(staff, events.Actor(actor_name, staff.scope_id), staff.scope_id)
        else:
            # An outage desk needs a division to work on; without one it may do nothing.
            return make_response(render_template("auth/forbidden.html", staff=staff), 403)
        return None

    @bp.context_processor
    def _helpers() -> dict[str, Any]:
        return {
            "ist": ist_text,
            "ist_input": ist_input,
            "count": _count,
            "scope": g.get("desk"),
            "refresh": None,
            "margin_minutes": margin_minutes,
            "has_rosters": True,
            "kind_label": kind_label,
            "status_label": status_label,
            "action_label": action_label,
            "author_label": author_label,
        }

    def scope() -> _Scope:
        found: _Scope = g.desk
        return found

    def page(template: str, status: int = 200, **context: Any) -> Response:
        response = make_response(render_template(template, **context), status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def division_name(db: Session, division_id: int | None) -> str | None:
        if division_id is None:
            return None
        for did, code, name in queries.divisions(db):
            if did == division_id:
                return f"{name} ({code})"
        return None

    def choose_division() -> Response:
        with session_factory() as db:
            return page("desk/division.html", divisions=queries.divisions(db))

    def told(ref: events.RevisionRef) -> bool:
        """Hand a told revision to the fan-out; False when that failed (the sweep will fan it out later)."""
        if not ref.notify:
            return True
        try:
            on_revision(ref.revision_id)
        except Exception:  # the revision is committed: the fan-out sweep picks up what failed here
            log.exception("fan-out of outage revision %s failed; left to the sweep", ref.revision_id)
            return False
        return True

    def done(ref: events.RevisionRef, what: str) -> Response:
        """After a use case: fan it out, say what was done and whom it reaches, back to the live list."""
        sent = told(ref)
        with session_factory() as db:
            reach = queries.preview(db, queries.event_feeder_ids(db, ref.event_id))
        if ref.notify:
            message = f"{what} {reach_text(reach)}"
            if not sent:
                message += " The alerts could not be queued just now; they will go out with the next sweep."
        else:
            message = what
        flash(message, "ok" if sent else "warning")
        return redirect(url_for("desk.live"))

    # --- the live list -------------------------------------------------------------------------------------

    def event_json(row: queries.EventRow) -> dict[str, Any]:
        def iso(moment: dt.datetime | None) -> str | None:
            return moment.astimezone(dt.UTC).isoformat() if moment is not None else None

        return {
            "id": row.id,
            "kind": row.kind,
            "status": row.status,
            "cause": row.cause,
            "division_id": row.division_id,
            "feeders": [{"id": f, "name": n} for f, n in zip(row.feeder_ids, row.feeders, strict=True)],
            "consumers": row.consumers,
            "since": iso(row.starts_at),
            "expected_restore_at": iso(row.expected_restore_at),
            "restored_at": iso(row.restored_at),
            "cancelled_at": iso(row.cancelled_at),
            "revision": row.revision,
            "last_action": row.last_action,
            "last_action_at": iso(row.last_action_at),
            "complaints": row.complaints,
        }

    @bp.get("/")
    def live() -> ResponseReturnValue:
        desk = scope()
        with session_factory() as db:
            live_rows = queries.live_events(db, desk.division_id, now=clock())
            closed = queries.recent_closed(db, desk.division_id, now=clock())
            name = division_name(db, desk.division_id)
            choices = queries.divisions(db) if desk.staff.role == "admin" else []
        return page(
            "desk/live.html",
            live=live_rows,
            closed=closed,
            division=name,
            divisions=choices,
            now=clock(),
            refresh=REFRESH_SECONDS,
        )

    @bp.get("/events.json")
    def live_json() -> ResponseReturnValue:
        desk = scope()
        with session_factory() as db:
            live_rows = queries.live_events(db, desk.division_id, now=clock())
            closed = queries.recent_closed(db, desk.division_id, now=clock())
        body = {
            "division_id": desk.division_id,
            "live": [event_json(r) for r in live_rows],
            "closed": [event_json(r) for r in closed],
        }
        response = make_response(jsonify(body))
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.post("/division")
    def division() -> ResponseReturnValue:
        desk = scope()
        if desk.staff.role != "admin":
            abort(403)
        try:
            chosen = _ids(request.form.getlist("division"), "division")
        except _FormError:
            chosen = ()
        if chosen:
            session[_CHOSEN_DIVISION] = chosen[0]
        else:
            session.pop(_CHOSEN_DIVISION, None)
        return redirect(url_for("desk.live"))

    # --- publishing: form > preview > confirm ----------------------------------------------------------------

    def options(db: Session, division_id: int) -> tuple[list[queries.FeederOption], list[tuple[int, str]]]:
        feeders = queries.division_feeders(db, division_id)
        substations = sorted({(f.substation_id, f.substation) for f in feeders}, key=lambda s: (s[1], s[0]))
        return feeders, substations

    def in_division(db: Session, division_id: int, feeder_ids: Sequence[int], substation_id: int | None) -> None:
        """Refuse feeders or a substation outside the division before anything is shown or written."""
        mine = {f.id: f for f in queries.division_feeders(db, division_id)}
        outside = [f for f in feeder_ids if f not in mine]
        if outside:
            raise _FormError(f"Feeder {outside[0]} is not one of your division's feeders.", 403)
        if substation_id is not None and queries.division_of_substation(db, substation_id) != division_id:
            raise _FormError(f"Substation {substation_id} is not in your division.", 403)

    def publish_page(kind: str, values: Mapping[str, Any], *, error: str | None = None, status: int = 200) -> Response:
        desk = scope()
        assert desk.division_id is not None
        with session_factory() as db:
            feeders, substations = options(db, desk.division_id)
            name = division_name(db, desk.division_id)
        return page(
            f"desk/{kind}.html",
            status,
            values=values,
            feeders=feeders,
            substations=substations,
            chosen={str(v) for v in request.form.getlist("feeder")} if request.method == "POST" else set(),
            error=error,
            division=name,
        )

    def preview_page(
        kind: str, reach: queries.Reach, feeder_names: list[str], summary: list[tuple[str, str]]
    ) -> Response:
        hidden = [(k, v) for k, v in request.form.items(multi=True) if k not in ("confirm", "edit", "csrf_token")]
        return page(
            "desk/preview.html",
            kind=kind,
            reach=reach,
            reach_line=reach_text(reach),
            feeder_names=feeder_names,
            summary=summary,
            hidden=hidden,
            action=url_for(f"desk.{kind}"),
        )

    def names_of(db: Session, feeder_ids: Sequence[int], substation_id: int | None) -> list[str]:
        try:
            return [name for _, name, _ in events.feeders_of(db, feeder_ids, substation_id)]
        except InvalidOutage as exc:
            raise _FormError(str(exc)) from exc

    @bp.get("/breakdown")
    def breakdown() -> ResponseReturnValue:
        if scope().division_id is None:
            return choose_division()
        return publish_page("breakdown", MultiDict({"since": ist_input(clock())}))

    def publish_flow(
        kind: str,
        build: Callable[[MultiDict[str, str]], tuple[Any, tuple[int, ...], int | None]],
        summary_of: Callable[[Any], list[tuple[str, str]]],
        publish: Callable[..., events.RevisionRef],
        message_of: Callable[[Any, str, events.RevisionRef], str],
    ) -> ResponseReturnValue:
        """The publish form's post: a preview of who is reached first, then (confirm=1) the use case."""
        desk = scope()
        if desk.division_id is None:
            return choose_division()
        form = request.form
        if form.get("edit"):
            return publish_page(kind, form)
        try:
            plan, feeder_ids, substation_id = build(form)
            with session_factory() as db:
                in_division(db, desk.division_id, feeder_ids, substation_id)
                if form.get("confirm") != "1":
                    names = names_of(db, feeder_ids, substation_id)
                    reach = queries.preview(db, feeder_ids, substation_id=substation_id)
                    return preview_page(kind, reach, names, summary_of(plan))
            ref = publish(UnitOfWork(session_factory), plan, actor=desk.actor, now=clock())
        except _FormError as exc:
            return publish_page(kind, form, error=str(exc), status=exc.status)
        except OutageError as exc:
            return publish_page(kind, form, error=str(exc), status=_status_of(exc))
        with session_factory() as db:
            row = queries.event_row(db, ref.event_id)
        return done(ref, message_of(plan, ", ".join(row.feeders) if row else "", ref))

    @bp.post("/breakdown")
    def breakdown_post() -> ResponseReturnValue:
        def build(form: MultiDict[str, str]) -> tuple[events.Breakdown, tuple[int, ...], int | None]:
            report = events.Breakdown(
                since=parse_ist(form.get("since"), "time supply went off") or clock(),
                cause=form.get("cause") or "",
                feeder_ids=_ids(form.getlist("feeder"), "feeders"),
                substation_id=next(iter(_ids(form.getlist("substation"), "substation")), None),
                expected_restore_at=parse_ist(form.get("etr"), "expected restoration time", required=False),
            )
            return report, report.feeder_ids, report.substation_id

        return publish_flow(
            "breakdown",
            build,
            lambda r: [
                ("Supply off since", ist_text(r.since)),
                ("Expected restoration", ist_text(r.expected_restore_at)),
                ("Cause", r.cause),
            ],
            events.publish_breakdown,
            lambda r, feeders, ref: f"Breakdown published on {feeders} (outage {ref.event_id}).",
        )

    @bp.get("/shutdown")
    def shutdown() -> ResponseReturnValue:
        if scope().division_id is None:
            return choose_division()
        return publish_page("shutdown", MultiDict())

    @bp.post("/shutdown")
    def shutdown_post() -> ResponseReturnValue:
        def build(form: MultiDict[str, str]) -> tuple[events.Shutdown, tuple[int, ...], int | None]:
            plan = events.Shutdown(
                feeder_ids=_ids(form.getlist("feeder"), "feeders"),
                starts_at=parse_ist(form.get("start"), "start") or clock(),
                ends_at=parse_ist(form.get("end"), "end") or clock(),
                reason=form.get("reason") or "",
            )
            return plan, plan.feeder_ids, None

        return publish_flow(
            "shutdown",
            build,
            lambda p: [
                ("Supply off from", ist_text(p.starts_at)),
                ("Until", ist_text(p.ends_at)),
                ("Reason", p.reason),
            ],
            events.publish_shutdown,
            lambda p, feeders, ref: (
                f"Shutdown on {feeders} published for {ist_text(p.starts_at)} to {ist_text(p.ends_at)} "
                f"(outage {ref.event_id})."
            ),
        )

    # --- one event ---------------------------------------------------------------------------------------------

    def visible_event(db: Session, event_id: int) -> queries.EventRow:
        """The event, when this desk may see it; 404 otherwise (another division's event is not shown, nor is
        its existence told: the answer is the one for a missing event)."""
        desk = scope()
        row = queries.event_row(db, event_id)
        if row is None or (desk.actor.division_id is not None and row.division_id != desk.actor.division_id):
            abort(404)
        return row

    def event_page(event_id: int, *, error: str | None = None, status: int = 200) -> Response:
        with session_factory() as db:
            row = visible_event(db, event_id)
            reach = queries.preview(db, row.feeder_ids)
            history = queries.revisions(db, event_id)
        return page(
            "desk/event.html",
            status,
            event=row,
            reach=reach,
            reach_line=reach_text(reach),
            history=history,
            values=request.form if request.method == "POST" else MultiDict(),
            error=error,
        )

    def act(
        event_id: int, call: Callable[[], events.RevisionRef], what: Callable[[events.RevisionRef], str]
    ) -> Response:
        try:
            ref = call()
        except _FormError as exc:
            return event_page(event_id, error=str(exc), status=exc.status)
        except (UnknownEvent, NotInScope):
            abort(404)
        except OutageError as exc:
            return event_page(event_id, error=str(exc), status=_status_of(exc))
        return done(ref, what(ref))

    def ask(event_id: int, action: str, build: Callable[[queries.EventRow, queries.Reach], _Ask]) -> Response:
        """The page between the click and the change: nothing is written until its button is pressed."""
        try:
            with session_factory() as db:
                row = visible_event(db, event_id)
                reach = queries.preview(db, row.feeder_ids)
            question = build(row, reach)
        except _FormError as exc:
            return event_page(event_id, error=str(exc), status=exc.status)
        if row.status not in question.statuses:
            return event_page(event_id, error=str(EventClosed(event_id, row.status, question.verb)), status=409)
        hidden = [(k, v) for k, v in request.form.items(multi=True) if k not in ("confirm", "csrf_token")]
        return page(
            "desk/confirm.html",
            event=row,
            question=question,
            hidden=hidden,
            action=url_for(f"desk.{action}", event_id=event_id),
        )

    def confirmed() -> bool:
        return request.form.get("confirm") == "1"

    @bp.get("/events/<int:event_id>")
    def event(event_id: int) -> ResponseReturnValue:
        return event_page(event_id)

    @bp.post("/events/<int:event_id>/etr")
    def etr(event_id: int) -> ResponseReturnValue:
        desk = scope()

        def call() -> events.RevisionRef:
            new_etr = parse_ist(request.form.get("etr"), "new expected restoration time")
            assert new_etr is not None
            note = (request.form.get("note") or "").strip()[:200] or None
            return events.update_etr(
                UnitOfWork(session_factory),
                event_id,
                new_etr,
                actor=desk.actor,
                now=clock(),
                margin=etr_margin,
                note=note,
            )

        def what(ref: events.RevisionRef) -> str:
            with session_factory() as db:
                row = queries.event_row(db, event_id)
            new = ist_text(row.expected_restore_at if row else None)
            if ref.notify:
                return f"New expected restoration {new} for outage {event_id}."
            return (
                f"Expected restoration of outage {event_id} set to {new}. It is within {margin_minutes} minutes of "
                "the time consumers were told, so nobody is messaged again; the IVR and SMS OUTAGE say the new time."
            )

        return act(event_id, call, what)

    @bp.post("/events/<int:event_id>/restore")
    def restore(event_id: int) -> ResponseReturnValue:
        desk = scope()

        def call() -> events.RevisionRef:
            at = parse_ist(request.form.get("at"), "restoration time", required=False)
            return events.restore(UnitOfWork(session_factory), event_id, actor=desk.actor, now=clock(), at=at)

        def question(row: queries.EventRow, reach: queries.Reach) -> _Ask:
            if row.kind == "roster":
                raise _FormError(str(InvalidOutage(events.ROSTER_SLOT_FIXED)))
            at = parse_ist(request.form.get("at"), "restoration time", required=False)
            return _Ask(
                title=f"Mark outage {event_id} restored?",
                lines=[("Feeders", ", ".join(row.feeders)), ("Restored at", ist_text(at or clock()))],
                consequence=f"Consumers are told supply is back. {reach_text(reach)}",
                button="Yes, mark restored and tell consumers",
                statuses=("published",),
                verb="restored",
            )

        if not confirmed():
            return ask(event_id, "restore", question)
        return act(event_id, call, lambda ref: f"Outage {event_id} marked restored.")

    @bp.post("/events/<int:event_id>/cancel")
    def cancel(event_id: int) -> ResponseReturnValue:
        desk = scope()

        def call() -> events.RevisionRef:
            note = (request.form.get("note") or "").strip()[:200] or None
            return events.cancel(UnitOfWork(session_factory), event_id, actor=desk.actor, now=clock(), note=note)

        def what(ref: events.RevisionRef) -> str:
            if ref.action == "dismissed":
                return f"Suspected breakdown {event_id} dismissed; nobody is told."
            return f"Outage {event_id} cancelled."

        def question(row: queries.EventRow, reach: queries.Reach) -> _Ask:
            note = (request.form.get("note") or "").strip()[:200]
            lines = [("Feeders", ", ".join(row.feeders)), ("Why", note or "not given")]
            if row.kind == "roster":
                return _Ask(
                    f"Call off roster slot {event_id}?",
                    lines,
                    "Supply stays on during this slot. Nobody is messaged (subscribers got the day's schedule).",
                    "Yes, call off this slot",
                    ("published",),
                    "called off",
                )
            if row.status == "suspected":
                return _Ask(
                    f"Dismiss suspected breakdown {event_id}?",
                    lines,
                    "Nobody is told.",
                    "Yes, dismiss",
                    ("suspected",),
                    "dismissed",
                )
            told = (
                "The shutdown is called off: consumers told of it are told supply continues as usual."
                if row.kind == "shutdown"
                else "It is withdrawn as published in error: consumers told of it are told supply there is normal."
            )
            return _Ask(
                title=f"Cancel outage {event_id} ({kind_label(row.kind).lower()})?",
                lines=lines,
                consequence=f"{told} {reach_text(reach)}",
                button="Yes, cancel and tell consumers",
                statuses=("published",),
                verb="cancelled",
            )

        if not confirmed():
            return ask(event_id, "cancel", question)
        return act(event_id, call, what)

    @bp.post("/events/<int:event_id>/dismiss")
    def dismiss(event_id: int) -> ResponseReturnValue:
        desk = scope()

        def call() -> events.RevisionRef:
            with session_factory() as db:
                row = queries.event_row(db, event_id)
            mine = row is not None and desk.actor.division_id in (None, row.division_id)
            # Dismissing is for suspected breakdowns only: a published one is cancelled, with its consumers told.
            if row is not None and mine and row.status != "suspected":
                raise EventClosed(event_id, row.status, "dismissed")
            return events.cancel(UnitOfWork(session_factory), event_id, actor=desk.actor, now=clock())

        def question(row: queries.EventRow, reach: queries.Reach) -> _Ask:
            return _Ask(
                title=f"Dismiss suspected breakdown {event_id}?",
                lines=[("Feeders", ", ".join(row.feeders)), ("Raised because", row.cause or "")],
                consequence="It leaves the live list and nobody is told."
                + (
                    f" Its {row.complaints} no-supply complaint{'s' if row.complaints != 1 else ''} stay with the "
                    "field staff."
                    if row.complaints
                    else ""
                ),
                button="Yes, dismiss",
                statuses=("suspected",),
                verb="dismissed",
            )

        if not confirmed():
            return ask(event_id, "dismiss", question)
        return act(event_id, call, lambda ref: f"Suspected breakdown {event_id} dismissed; nobody is told.")

    @bp.post("/events/<int:event_id>/confirm")
    def confirm(event_id: int) -> ResponseReturnValue:
        desk = scope()

        def call() -> events.RevisionRef:
            etr_at = parse_ist(request.form.get("etr"), "expected restoration time", required=False)
            cause = (request.form.get("cause") or "").strip() or None
            return events.confirm_suspected(
                UnitOfWork(session_factory),
                event_id,
                actor=desk.actor,
                now=clock(),
                cause=cause,
                expected_restore_at=etr_at,
            )

        def question(row: queries.EventRow, reach: queries.Reach) -> _Ask:
            etr_at = parse_ist(request.form.get("etr"), "expected restoration time", required=False)
            cause = (request.form.get("cause") or "").strip()
            return _Ask(
                title=f"Publish suspected breakdown {event_id}?",
                lines=[
                    ("Feeders", ", ".join(row.feeders)),
                    ("Supply off since", ist_text(row.starts_at)),
                    ("Expected restoration", ist_text(etr_at)),
                    ("Cause", cause or "Breakdown"),
                ],
                consequence=f"It becomes a live breakdown and its consumers are told now. {reach_text(reach)}",
                button="Yes, publish and tell consumers",
                statuses=("suspected",),
                verb="confirmed",
            )

        if not confirmed():
            return ask(event_id, "confirm", question)
        return act(event_id, call, lambda ref: f"Suspected breakdown {event_id} confirmed and published.")

    # --- reachability ------------------------------------------------------------------------------------------

    @bp.get("/reach")
    def reach() -> ResponseReturnValue:
        desk = scope()
        if desk.division_id is None:
            return choose_division()
        with session_factory() as db:
            rows = queries.reachable_share(db, desk.division_id)
            name = division_name(db, desk.division_id)
        consumers = sum(r.consumers for r in rows)
        verified = sum(r.verified for r in rows)
        total = queries.FeederShare(0, "All feeders", "", consumers, verified)
        return page("desk/reach.html", rows=rows, total=total, division=name)

    # --- rostering ---------------------------------------------------------------------------------------------

    def rosters_page(values: Mapping[str, Any], *, error: str | None = None, status: int = 200) -> Response:
        desk = scope()
        assert desk.division_id is not None
        with session_factory() as db:
            rows = list_rosters(db, desk.division_id)
            feeders, _ = options(db, desk.division_id)
            name = division_name(db, desk.division_id)
        return page(
            "desk/rosters.html",
            status,
            rosters=rows,
            feeders=feeders,
            chosen={str(v) for v in request.form.getlist("feeder")} if request.method == "POST" else set(),
            values=values,
            error=error,
            division=name,
        )

    def day(raw: str | None, what: str, *, required: bool) -> dt.date | None:
        try:
            return inputs.date(raw, field="day", label=what, required=required)
        except inputs.InvalidInput as exc:
            raise _FormError(str(exc)) from exc

    @bp.get("/rosters")
    def rosters() -> ResponseReturnValue:
        if scope().division_id is None:
            return choose_division()
        today = clock().astimezone(IST).date()
        return rosters_page(MultiDict({"valid_from": (today + dt.timedelta(days=1)).isoformat()}))

    @bp.post("/rosters")
    def rosters_post() -> ResponseReturnValue:
        desk = scope()
        if desk.division_id is None:
            return choose_division()
        form = request.form
        try:
            plan = RosterPlan(
                name=form.get("name") or "",
                feeder_ids=_ids(form.getlist("feeder"), "feeders"),
                off_slots=form.get("off_slots") or "",
                valid_from=day(form.get("valid_from"), "first day", required=True) or dt.date.min,
                valid_to=day(form.get("valid_to"), "last day", required=False),
            )
            with session_factory() as db:
                in_division(db, desk.division_id, plan.feeder_ids, None)
            roster_id = create_roster(UnitOfWork(session_factory), plan, actor=desk.actor, now=clock())
        except _FormError as exc:
            return rosters_page(form, error=str(exc), status=exc.status)
        except OutageError as exc:
            return rosters_page(form, error=str(exc), status=_status_of(exc))
        flash(
            f"Roster {roster_id} saved. Its slots go on the live list day by day; consumers who asked for it "
            "(SMS ROSTER) get the day's schedule by SMS.",
            "ok",
        )
        return redirect(url_for("desk.rosters"))

    @bp.post("/rosters/<int:roster_id>/end")
    def roster_end(roster_id: int) -> ResponseReturnValue:
        desk = scope()
        try:
            ended = end_roster(UnitOfWork(session_factory), roster_id, actor=desk.actor, now=clock())
        except (UnknownRoster, NotInScope):
            abort(404)  # another division's roster is answered as a missing one
        flash(f"Roster {roster_id} ended." if ended else f"Roster {roster_id} had already ended.", "ok")
        return redirect(url_for("desk.rosters"))

    return bp
