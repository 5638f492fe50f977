"""Bill revisions and single-window applications on a real database: numbers, SMS, time limits, timelines, the
public status, the officers' to-do and their decisions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.billing import revise_bill
from cis.db import UnitOfWork
from cis.documents import DocumentTooLarge, UnknownDocument, UnsupportedDocumentType, Viewer, store_document
from cis.errors import NoPendingOtp, WrongOtp
from cis.models import Account, AuditLog, Document, Outbox, ServiceRequest, ServiceRequestEvent, Staff
from cis.numbers import luhn_digit, request_id_for_no
from cis.otp import request_mobile_otp
from cis.service_requests import (
    Application,
    ApplicationAlreadyOpen,
    BillAlreadyRevised,
    InvalidRequest,
    LoadChangeAtOffice,
    RevisionAlreadyOpen,
    StatusChangeNotAllowed,
    UnknownBillOnAccount,
    UnknownRequest,
    Upload,
    advance_request,
    application_status,
    apply,
    my_requests,
    officer_todo,
    request_bill_revision,
    request_timeline,
    time_limits,
)
from sms.dispatch import variables_for
from sms.templates import load_templates, render
from tests import factories
from tests import support_files as files

NOW = factories.NOW
REGISTERED = "+919876543210"
APPLICANT = "+919811122233"
PORTAL = "https://urja.example.in"
TEMPLATES = load_templates()


def _sms(row: Outbox) -> tuple[str, int]:
    """The text of an outbox row as the dispatcher sends it, and its number of parts."""
    template = TEMPLATES[row.template]
    variables = variables_for(template, row.payload, {"portal_url": PORTAL})
    sms = render(template, variables, allowed_urls=[PORTAL], allowed_numbers=[], now=NOW)
    return sms.text, sms.segments


def _outbox(session: Session, template: str) -> list[Outbox]:
    session.expire_all()
    return list(session.scalars(select(Outbox).where(Outbox.template == template).order_by(Outbox.id)))


def _officer(session: Session, acc: Account, role: str = "sdo") -> Staff:
    staff = session.scalars(
        select(Staff).where(
            Staff.role == role,
            Staff.scope_level == "sub_division",
            Staff.scope_id == factories.sub_division_of(session, acc),
        )
    ).one()
    return staff


def _otp_sent(session: Session, mobile: str) -> str:
    session.expire_all()
    row = session.scalars(
        select(Outbox).where(Outbox.template == "otp.apply", Outbox.recipient == mobile).order_by(Outbox.id.desc())
    ).first()
    assert row is not None
    return str(row.payload["otp"])


# --- bill revision ---------------------------------------------------------------------------------------


def test_a_bill_revision_gets_a_number_told_by_sms_and_waits_for_the_sdo(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,))
    bill = factories.bill(session, acc, cycle="2026-10")
    sdo = _officer(session, acc)
    session.commit()

    receipt = request_bill_revision(
        uow, acc.id, bill.id, "wrong_reading", "The meter shows 1180, the bill says 1240.", now=NOW
    )

    number = receipt.number
    assert len(number) == 9
    assert number[-1] == luhn_digit(number[:-1])
    assert request_id_for_no(number) is not None
    assert receipt.due_at == NOW + dt.timedelta(days=7)
    assert receipt.sms_to_ending == "3210"
    session.expire_all()
    request = session.scalars(select(ServiceRequest).where(ServiceRequest.number == number)).one()
    assert (request.kind, request.status, request.disputed_bill_id, request.reason) == (
        "bill_revision",
        "submitted",
        bill.id,
        "wrong_reading",
    )
    assert (request.assignee_id, request.sub_division_id) == (sdo.id, sdo.scope_id)
    events = session.scalars(select(ServiceRequestEvent).where(ServiceRequestEvent.request_id == request.id)).all()
    assert [(e.status, e.actor) for e in events] == [("submitted", "channel:portal")]
    audit_row = session.scalars(select(AuditLog).where(AuditLog.entity_id == number)).one()
    assert audit_row.action == "request.registered"
    assert audit_row.detail["cycle"] == "2026-10"
    [sms] = _outbox(session, "request.bill_revision")
    assert sms.recipient == REGISTERED
    assert _sms(sms) == (
        f"Bill revision request {number} for A/c {acc.account_no}, bill of Oct 2026, is registered. "
        f"Track it at {PORTAL} -Urja Mitra",
        1,
    )


def test_an_account_opted_out_of_sms_gets_its_number_on_the_page_only(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,), opt_out=True)
    bill = factories.bill(session, acc)
    session.commit()

    receipt = request_bill_revision(uow, acc.id, bill.id, "estimated_bill", "Billed on estimate again.", now=NOW)

    assert receipt.sms_to_ending is None
    assert _outbox(session, "request.bill_revision") == []


def test_another_accounts_bill_cannot_be_disputed(uow: UnitOfWork, session: Session) -> None:
    mine = factories.account(session)
    theirs = factories.account(session)
    their_bill = factories.bill(session, theirs)
    session.commit()

    with pytest.raises(UnknownBillOnAccount, match="choose one of the bills of your account"):
        request_bill_revision(uow, mine.id, their_bill.id, "other", "Not my bill.", now=NOW)
    with pytest.raises(UnknownBillOnAccount):
        request_bill_revision(uow, mine.id, their_bill.id + 1000, "other", "No such bill.", now=NOW)


def test_a_bill_has_one_open_revision_request_at_a_time(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    bill = factories.bill(session, acc)
    sdo = _officer(session, acc)
    session.commit()
    first = request_bill_revision(uow, acc.id, bill.id, "wrong_reading", "Reading wrong.", now=NOW)

    with pytest.raises(RevisionAlreadyOpen) as again:
        request_bill_revision(uow, acc.id, bill.id, "other", "Asking again.", now=NOW)
    assert again.value.number == first.number
    assert "request number " + first.number in str(again.value)

    advance_request(uow, first.number, "rejected", staff_id=sdo.id, note="Reading verified on site.", now=NOW)
    second = request_bill_revision(uow, acc.id, bill.id, "meter_defective", "Meter is stuck.", now=NOW)
    assert second.number != first.number


def test_a_superseded_bill_is_not_disputed_its_revision_is(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    old = factories.bill(session, acc, status="superseded")
    session.commit()

    with pytest.raises(BillAlreadyRevised):
        request_bill_revision(uow, acc.id, old.id, "other", "Old one.", now=NOW)


@pytest.mark.parametrize(
    ("reason", "description", "field"),
    [("cheap", "Too high.", "reason"), ("other", "   ", "description"), ("other", "x" * 1001, "description")],
)
def test_a_revision_needs_a_known_reason_and_a_description(
    uow: UnitOfWork, session: Session, reason: str, description: str, field: str
) -> None:
    acc = factories.account(session)
    bill = factories.bill(session, acc)
    session.commit()

    with pytest.raises(InvalidRequest) as refused:
        request_bill_revision(uow, acc.id, bill.id, reason, description, now=NOW)
    assert refused.value.field == field


def test_a_document_of_the_account_is_attached_and_anothers_is_refused(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    acc = factories.account(session)
    other = factories.account(session)
    bill = factories.bill(session, acc)
    session.commit()
    mine = store_document(uow, files.jpeg(), "meter photo.jpg", account_id=acc.id, upload_dir=tmp_path, now=NOW)
    theirs = store_document(uow, files.pdf(), "their.pdf", account_id=other.id, upload_dir=tmp_path, now=NOW)

    with pytest.raises(UnknownDocument):
        request_bill_revision(uow, acc.id, bill.id, "wrong_reading", "See photo.", [theirs.id], now=NOW)
    receipt = request_bill_revision(uow, acc.id, bill.id, "wrong_reading", "See photo.", [mine.id], now=NOW)

    timeline = request_timeline(uow, receipt.number, Viewer(account_id=acc.id), now=NOW)
    assert [(d.id, d.name, d.content_type) for d in timeline.documents] == [(mine.id, "meter photo.jpg", "image/jpeg")]
    # A document already attached to one request is not attached to another.
    other_bill = factories.bill(session, acc, cycle="2026-09")
    session.commit()
    with pytest.raises(UnknownDocument):
        request_bill_revision(uow, acc.id, other_bill.id, "wrong_reading", "Again.", [mine.id], now=NOW)


def test_the_timeline_shows_the_disputed_bill_and_once_revised_both_versions(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,))
    bill = factories.bill(session, acc, cycle="2026-10", amount_paise=172_700, units=240)
    sdo = _officer(session, acc)
    session.commit()
    receipt = request_bill_revision(uow, acc.id, bill.id, "wrong_reading", "Reading is 1180.", now=NOW)
    mine = Viewer(account_id=acc.id)

    before = request_timeline(uow, receipt.number, mine, now=NOW)
    assert before.disputed_bill is not None
    assert (before.disputed_bill.bill_id, before.disputed_bill.version) == (bill.id, 1)
    assert before.revised_bill is None
    assert before.description == "Reading is 1180."
    assert (before.time_limit_days, before.overdue) == (7, False)
    assert "Standards of Performance" in (before.time_limit_source or "")

    with pytest.raises(StatusChangeNotAllowed, match="Revise the bill first"):
        advance_request(uow, receipt.number, "completed", staff_id=sdo.id, now=NOW)
    advance_request(uow, receipt.number, "under_review", staff_id=sdo.id, now=NOW + dt.timedelta(hours=2))
    revise_bill(uow, acc.account_no, "2026-10", reason="Reading corrected", actor=f"staff:{sdo.username}", units=180)
    after = advance_request(
        uow, receipt.number, "completed", staff_id=sdo.id, note="Revised to 180 units.", now=NOW + dt.timedelta(days=1)
    )

    assert after.disputed_bill is not None
    assert after.revised_bill is not None
    assert (after.disputed_bill.version, after.disputed_bill.status) == (1, "superseded")
    assert (after.revised_bill.version, after.revised_bill.units) == (2, 180)
    assert after.revised_bill.amount_paise != after.disputed_bill.amount_paise
    assert [(s.status, s.note) for s in after.steps] == [
        ("submitted", None),
        ("under_review", None),
        ("completed", "Revised to 180 units."),
    ]
    assert request_timeline(uow, receipt.number, mine, now=NOW).revised_bill == after.revised_bill
    # The revised bill has its own SMS ("bill.revised"); completing the request does not send another.
    assert _outbox(session, "request.status") == []


def test_the_timeline_is_the_owners_and_covering_officers_only(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    other = factories.account(session)
    bill = factories.bill(session, acc)
    mine_sdo, their_sdo = _officer(session, acc), _officer(session, other)
    session.commit()
    number = request_bill_revision(uow, acc.id, bill.id, "other", "Check it.", now=NOW).number

    assert request_timeline(uow, number, Viewer(staff_id=mine_sdo.id), now=NOW).number == number
    for viewer in (Viewer(account_id=other.id), Viewer(staff_id=their_sdo.id), Viewer()):
        with pytest.raises(UnknownRequest):
            request_timeline(uow, number, viewer, now=NOW)
    with pytest.raises(UnknownRequest):
        request_timeline(uow, number[:-1] + str((int(number[-1]) + 1) % 10), Viewer(account_id=acc.id), now=NOW)


def test_a_request_past_its_due_date_is_overdue_until_it_is_done(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    bill = factories.bill(session, acc)
    sdo = _officer(session, acc)
    session.commit()
    number = request_bill_revision(uow, acc.id, bill.id, "other", "Check it.", now=NOW).number
    later = NOW + dt.timedelta(days=8)

    [summary] = my_requests(uow, acc.id, now=later)
    assert (summary.number, summary.kind, summary.overdue) == (number, "bill_revision", True)
    [todo] = officer_todo(uow, [sdo.scope_id or 0], now=later)
    assert (todo.number, todo.account_no, todo.overdue) == (number, acc.account_no, True)

    advance_request(uow, number, "rejected", staff_id=sdo.id, note="Bill is right.", now=later)
    assert my_requests(uow, acc.id, now=later)[0].overdue is False
    assert officer_todo(uow, [sdo.scope_id or 0], now=later) == []


def test_an_officer_outside_the_sub_division_cannot_move_a_request(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    other = factories.account(session)
    bill = factories.bill(session, acc)
    stranger = _officer(session, other)
    sdo = _officer(session, acc)
    session.commit()
    number = request_bill_revision(uow, acc.id, bill.id, "other", "Check it.", now=NOW).number

    with pytest.raises(UnknownRequest):
        advance_request(uow, number, "under_review", staff_id=stranger.id, now=NOW)
    advance_request(uow, number, "rejected", staff_id=sdo.id, now=NOW)
    with pytest.raises(StatusChangeNotAllowed, match="rejected cannot become under_review"):
        advance_request(uow, number, "under_review", staff_id=sdo.id, now=NOW)
    session.expire_all()
    moves = session.scalars(select(AuditLog).where(AuditLog.action == "request.status")).all()
    assert [(m.actor, m.detail["status_was"], m.detail["status"]) for m in moves] == [
        (f"staff:{sdo.username}", "submitted", "rejected")
    ]


# --- single-window applications ---------------------------------------------------------------------------


def _new_connection(code: str, **changes: object) -> Application:
    fields: dict[str, object] = {
        "kind": "new_connection",
        "applicant_name": "Sunita Devi",
        "mobile": "98111 22233",
        "otp_code": code,
        "address": "House 12, Shastri Nagar, Kanpur",
        "pin_code": "208005",
        "category": "LMV-1U",
        "load_kw": "2",
        "area_class": "municipal",
        "uploads": (
            Upload(files.pdf("Aadhaar"), "aadhaar.pdf", "id_proof"),
            Upload(files.jpeg(), "sale deed.jpg", "ownership_proof"),
        ),
    }
    fields.update(changes)
    return Application(**fields)  # type: ignore[arg-type]


def test_a_new_connection_needs_the_applicants_mobile_proven_then_gets_a_number_by_sms(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    sub_division = factories.sub_division_of(session, factories.account(session))
    session.commit()
    sent = request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id="form-1")
    assert sent.sent_to_ending == "2233"
    code = _otp_sent(session, APPLICANT)
    [otp_sms] = _outbox(session, "otp.apply")
    assert _sms(otp_sms) == (
        f"{code} is your OTP to apply for a new electricity connection. Valid for 10 minutes. "
        "Do not share it with anyone. -Urja Mitra",
        1,
    )

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(WrongOtp):
        apply(uow, _new_connection(wrong, sub_division_id=sub_division), upload_dir=tmp_path, now=NOW)
    assert session.scalars(select(ServiceRequest)).all() == []
    receipt = apply(uow, _new_connection(code, sub_division_id=sub_division), upload_dir=tmp_path, now=NOW)

    assert receipt.due_at == NOW + dt.timedelta(days=7)  # other municipal area: 7 days (Rules as amended in 2024)
    assert receipt.sms_to_ending == "2233"
    session.expire_all()
    request = session.scalars(select(ServiceRequest).where(ServiceRequest.number == receipt.number)).one()
    assert (request.kind, request.account_id, request.mobile, request.area_class) == (
        "new_connection",
        None,
        APPLICANT,
        "municipal",
    )
    assert request.payload["load_kw"] == "2.00"
    documents = session.scalars(select(Document).where(Document.request_id == request.id).order_by(Document.id)).all()
    assert [(d.label, d.owner_kind, d.content_type) for d in documents] == [
        ("id_proof", "request", "application/pdf"),
        ("ownership_proof", "request", "image/jpeg"),
    ]
    [ack] = _outbox(session, "request.application")
    assert ack.recipient == APPLICANT
    assert _sms(ack) == (
        f"Your application {receipt.number} for a new connection is registered. Track its status at {PORTAL} "
        "-Urja Mitra",
        1,
    )
    # The proof is spent: the same code files nothing more.
    with pytest.raises(NoPendingOtp):
        apply(uow, _new_connection(code, sub_division_id=sub_division), upload_dir=tmp_path, now=NOW)


@pytest.mark.parametrize(("area", "days"), [("metro", 3), ("municipal", 7), ("rural", 15)])
def test_a_new_connection_is_due_within_the_statutory_days_of_its_area(
    uow: UnitOfWork, session: Session, tmp_path: Path, area: str, days: int
) -> None:
    sub_division = factories.sub_division_of(session, factories.account(session))
    session.commit()
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id=f"form-{area}")
    code = _otp_sent(session, APPLICANT)

    receipt = apply(
        uow, _new_connection(code, sub_division_id=sub_division, area_class=area), upload_dir=tmp_path, now=NOW
    )

    assert receipt.due_at - NOW == dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"applicant_name": ""}, "applicant_name"),
        ({"address": " "}, "address"),
        ({"category": "XYZ"}, "category"),
        ({"load_kw": "0"}, "load_kw"),
        ({"load_kw": "2.555"}, "load_kw"),
        ({"load_kw": "abc"}, "load_kw"),
        ({"area_class": "town"}, "area_class"),
        ({"pin_code": "12345"}, "pin_code"),
        ({"otp_code": ""}, "otp_code"),
        ({"sub_division_id": 10**9}, "sub_division_id"),
        ({"uploads": (Upload(files.png(), "id.png", "id_proof"),)}, "ownership_proof"),
        ({"uploads": (Upload(files.png(), "deed.png", "ownership_proof"),)}, "id_proof"),
    ],
)
def test_a_new_connection_form_is_checked_before_the_otp_is_tried(
    uow: UnitOfWork, session: Session, tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    sub_division = factories.sub_division_of(session, factories.account(session))
    session.commit()
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id="form-x")
    code = _otp_sent(session, APPLICANT)

    with pytest.raises(InvalidRequest) as refused:
        apply(uow, _new_connection(code, **({"sub_division_id": sub_division} | changes)), upload_dir=tmp_path, now=NOW)
    assert refused.value.field == field
    # Nothing counted against the code: it still files the application.
    assert apply(uow, _new_connection(code, sub_division_id=sub_division), upload_dir=tmp_path, now=NOW).number


def test_lying_uploads_with_an_application_are_refused_and_nothing_is_stored(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    sub_division = factories.sub_division_of(session, factories.account(session))
    session.commit()
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id="form-lie")
    code = _otp_sent(session, APPLICANT)
    html_as_png = (Upload(files.HTML_PAGE, "id.png", "id_proof"), Upload(files.png(), "deed.png", "ownership_proof"))
    too_big = (
        Upload(files.pdf(), "id.pdf", "id_proof"),
        Upload(b"%PDF-1.7" + b" " * 3_000_000, "d.pdf", "ownership_proof"),
    )

    with pytest.raises(UnsupportedDocumentType):
        apply(
            uow, _new_connection(code, sub_division_id=sub_division, uploads=html_as_png), upload_dir=tmp_path, now=NOW
        )
    with pytest.raises(DocumentTooLarge):
        apply(uow, _new_connection(code, sub_division_id=sub_division, uploads=too_big), upload_dir=tmp_path, now=NOW)

    assert session.scalars(select(Document)).all() == []
    assert not any(p.name != "urjamitra.db" and not p.name.startswith("urjamitra.db-") for p in tmp_path.iterdir())


def test_the_public_status_shows_the_steps_and_nothing_about_the_applicant(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    acc = factories.account(session)
    sub_division = factories.sub_division_of(session, acc)
    sdo = _officer(session, acc)
    session.commit()
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id="form-pub")
    number = apply(
        uow,
        _new_connection(_otp_sent(session, APPLICANT), sub_division_id=sub_division, area_class="metro"),
        upload_dir=tmp_path,
        now=NOW,
    ).number
    advance_request(uow, number, "approved", staff_id=sdo.id, note="Sunita Devi to pay Rs 1,500 at the office", now=NOW)

    status = application_status(uow, number, now=NOW + dt.timedelta(days=5))

    assert (status.number, status.kind, status.status, status.overdue) == (number, "new_connection", "approved", True)
    assert status.due_at == NOW + dt.timedelta(days=3)
    assert [(s.status, s.note) for s in status.steps] == [("submitted", None), ("approved", None)]
    shown = repr(status)
    for private in ("Sunita", "Shastri Nagar", "208005", "2233", "LMV-1U", APPLICANT):
        assert private not in shown
    [told] = _outbox(session, "request.status")
    assert _sms(told) == (f"Your request {number} is now approved. See the details at {PORTAL} -Urja Mitra", 1)


def test_bill_revisions_and_unknown_numbers_have_no_public_status(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    bill = factories.bill(session, acc)
    session.commit()
    number = request_bill_revision(uow, acc.id, bill.id, "other", "Check.", now=NOW).number

    for asked in (number, "500999998", "12345", "abc"):
        with pytest.raises(UnknownRequest):
            application_status(uow, asked, now=NOW)


def test_a_load_change_online_goes_up_to_4_kw_and_one_at_a_time(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,), kind="rural")
    session.commit()

    with pytest.raises(LoadChangeAtOffice, match="more than 4 kW is changed at your sub-division office"):
        apply(uow, Application("load_change", account_id=acc.id, load_kw="5"), now=NOW)
    with pytest.raises(InvalidRequest, match=r"already 2\.00 kW"):
        apply(uow, Application("load_change", account_id=acc.id, load_kw="2"), now=NOW)
    receipt = apply(uow, Application("load_change", account_id=acc.id, load_kw=Decimal("4")), now=NOW)
    assert receipt.due_at == NOW + dt.timedelta(days=15)  # a rural feeder: a rural area
    with pytest.raises(ApplicationAlreadyOpen) as again:
        apply(uow, Application("load_change", account_id=acc.id, load_kw="3"), now=NOW)
    assert again.value.number == receipt.number

    [ack] = _outbox(session, "request.application")
    assert ack.recipient == REGISTERED
    assert _sms(ack)[0].startswith(f"Your application {receipt.number} for a load change is registered.")
    timeline = request_timeline(uow, receipt.number, Viewer(account_id=acc.id), now=NOW)
    assert timeline.details == {"load_kw": "4.00", "current_load_kw": "2.00"}


def test_name_change_and_disconnection_on_an_urban_account_take_the_metro_limits(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,))
    session.commit()
    assert time_limits().urban_feeder_area == "metro"

    with pytest.raises(InvalidRequest) as no_proof:
        apply(uow, Application("name_change", account_id=acc.id, applicant_name="Sita Verma"), now=NOW)
    assert no_proof.value.field == "ownership_proof"
    proof = (Upload(files.pdf("Succession certificate"), "succession.pdf", "ownership_proof"),)
    name = apply(
        uow,
        Application("name_change", account_id=acc.id, applicant_name="Sita Verma", uploads=proof),
        upload_dir=tmp_path,
        now=NOW,
    )
    off = apply(uow, Application("perm_disconnection", account_id=acc.id, description="House sold."), now=NOW)

    assert name.due_at == NOW + dt.timedelta(days=3)
    assert off.due_at == NOW + dt.timedelta(days=30)
    timeline = request_timeline(uow, name.number, Viewer(account_id=acc.id), now=NOW)
    assert timeline.details == {"new_name": "Sita Verma"}
    assert [(d.name, d.label) for d in timeline.documents] == [("succession.pdf", "ownership_proof")]
    assert [r.kind for r in my_requests(uow, acc.id, now=NOW)] == ["perm_disconnection", "name_change"]


def test_an_applicants_otp_codes_are_capped_per_mobile(uow: UnitOfWork, session: Session) -> None:
    from cis.errors import TooManyOtpRequests

    for n in range(3):
        request_mobile_otp(uow, APPLICANT, via="portal", now=NOW + dt.timedelta(minutes=n), request_id=f"cap-{n}")
    # The same request again is the same code, not a fourth.
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW, request_id="cap-0")
    with pytest.raises(TooManyOtpRequests):
        request_mobile_otp(uow, APPLICANT, via="portal", now=NOW + dt.timedelta(minutes=5), request_id="cap-3")
    assert len(_outbox(session, "otp.apply")) == 3
    request_mobile_otp(uow, APPLICANT, via="portal", now=NOW + dt.timedelta(hours=2), request_id="cap-4")
    assert len(_outbox(session, "otp.apply")) == 4
