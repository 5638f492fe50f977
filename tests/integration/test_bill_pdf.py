"""The bill PDF read back as a consumer would: one page, the right Hindi and English words, the right amounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from cis import my_account, printing
from cis.bill_pdf import Issuer, bill_pdf, draw_bill_pdf
from cis.db import UnitOfWork
from cis.my_account import AccountOverview, BillDocument, SlabLine
from cis.numbers import bill_id_for_no, bill_no_for_id
from cis.printing import FontsMissing
from tests import factories
from tests.pdf_support import Extracted

ACCOUNT = AccountOverview(
    account_id=1,
    account_no="1000007920",
    name="Ramesh Kumar Verma",
    name_hi="रमेश कुमार वर्मा",
    address="House 117, Shastri Nagar Road 4, Kidwai Nagar, Kanpur 208011",
    address_hi="मकान 117, शास्त्री नगर रोड 4, किदवई नगर, कानपुर 208011",
    category="LMV-1U",
    category_description="Domestic, urban, metered",
    sanctioned_load_kw=Decimal("2.00"),
    supply_type="LT-1PH",
    status="active",
    connected_on=dt.date(2015, 4, 1),
    feeder_id=1,
    feeder_code="F0123",
    feeder_name="Kidwai Nagar-2",
    sub_division="Kidwai Nagar",
    sub_division_hi="किदवई नगर",
    meter_no="GEN20054321",
    meters=(("GEN20054321", dt.date(2015, 4, 1), None),),
    mobiles=(),
    alert_channel="sms",
    sms_opt_out=False,
    preferred_language="hi",
)
BILL = BillDocument(
    bill_id=654321,
    account=ACCOUNT,
    cycle="2026-10",
    version=1,
    status="issued",
    issued_on=dt.date(2026, 11, 3),
    period_start=dt.date(2026, 9, 15),
    period_end=dt.date(2026, 10, 15),
    previous_kwh=10_240,
    current_kwh=10_660,
    units=420,
    basis="estimated",
    category="LMV-1U",
    load_kw=Decimal("2.00"),
    meter_no="GEN20054321",
    slabs=(
        SlabLine(0, 150, 150, 550, 82_500),
        SlabLine(151, 300, 150, 600, 90_000),
        SlabLine(301, None, 120, 650, 78_000),
    ),
    energy_paise=250_500,
    fixed_paise=22_000,
    minimum_paise=0,
    duty_paise=13_625,
    rounding_paise=-25,
    arrears_paise=172_700,
    lps_paise=2_159,
    amount_paise=460_959,
    due_date=dt.date(2026, 11, 18),
    lps_basis_points_per_month=125,
    amount_after_due_paise=466_721,
    paid_paise=0,
    outstanding_paise=460_959,
    schedule_code="UPERC-2022-23",
    supersedes_id=None,
    revision_reason=None,
)
ISSUER = Issuer(portal_url="https://wss.urjamitra.in")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Extracted:
    printing.MISSING.clear()
    return Extracted(bill_pdf(BILL, issuer=ISSUER), tmp_path_factory.mktemp("bill"))


def test_the_bill_is_one_page(printed: Extracted) -> None:
    assert printed.pages == 1


@pytest.mark.parametrize(
    "text",
    [
        "ऊर्जा मित्र विद्युत वितरण",
        "Urja Mitra Electricity Distribution",
        "बिजली बिल / Electricity bill",
        "अक्टूबर 2026 / October 2026",
        "खाता संख्या / Account",
        "1000007920",
        "रमेश कुमार वर्मा / Ramesh Kumar Verma",
        "मकान 117, शास्त्री नगर रोड 4, किदवई नगर",
        "House 117, Shastri Nagar Road 4",
        "श्रेणी / Category",
        "घरेलू, शहरी, मीटर युक्त / Domestic,",
        "स्वीकृत भार / Sanctioned",
        "2.00 kW",
        "मीटर संख्या / Meter",
        "GEN20054321",
        "Kidwai Nagar-2 (F0123)",
        "15-09-2026 – 15-10-2026",
        "10,240 kWh",
        "10,660 kWh",
        "बिल का आधार / Basis of",
        "अनुमानित / Estimated",
    ],
)
def test_the_consumer_and_the_readings_are_printed(printed: Extracted, text: str) -> None:
    assert printed.has(text), text


def test_the_bill_number_a_consumer_registers_with_is_printed_not_the_row_id(printed: Extracted) -> None:
    assert BILL.bill_no == bill_no_for_id(654321) == "100006543217"
    assert printed.has("बिल संख्या / Bill number")
    line = next(line for line in printed.poppler.splitlines() if "Billnumber" in "".join(line.split()))
    assert "100006543217" in line
    assert bill_id_for_no(BILL.bill_no) == BILL.bill_id  # what the portal's registration reads back


@pytest.mark.parametrize(
    ("label", "amount"),
    [
        ("ऊर्जा शुल्क, यूनिट 0–150 / Energy charge, units 0–150", "₹825.00"),
        ("ऊर्जा शुल्क, यूनिट 151–300 / Energy charge, units 151–300", "₹900.00"),
        ("ऊर्जा शुल्क, 300 से अधिक यूनिट / Energy charge, units above 300", "₹780.00"),
        ("स्थायी शुल्क / Fixed charge", "₹220.00"),
        ("विद्युत शुल्क / Electricity duty", "₹136.25"),
        ("पूरे रुपये में पूर्णांकन / Rounded off to the whole rupee", "−₹0.25"),
        ("बकाया / Arrears", "₹1,727.00"),
        ("विलंब भुगतान अधिभार / Late payment surcharge", "₹21.59"),
        ("कुल देय राशि / Total payable", "₹4,609.59"),
    ],
)
def test_each_charge_line_is_printed_with_its_amount(printed: Extracted, label: str, amount: str) -> None:
    assert printed.has(label), label
    line = next(
        line for line in printed.poppler.splitlines() if "".join(label.split("/")[-1].split()) in "".join(line.split())
    )
    assert line.rstrip().endswith(amount), line


def test_the_amounts_payable_and_how_to_pay(printed: Extracted) -> None:
    for text in (
        "देय तिथि तक भुगतान करें",
        "Pay by the due date: 18-11-2026",
        "₹4,609.59",
        "देय तिथि के बाद देय राशि",
        "Payable after the due date",
        "₹4,667.21",
        "भुगतान कैसे करें",
        "How to pay",
        "https://wss.urjamitra.in",
        "हेल्पलाइन 1912, दिन-रात",
        "Helpline 1912, day and night",
        "कंप्यूटर से बना बिल",
    ):
        assert printed.has(text), text


def test_every_label_printed_has_its_hindi_in_the_catalog(printed: Extracted) -> None:
    assert not printing.MISSING, printing.MISSING


def test_the_catalog_is_complete_and_its_placeholders_match() -> None:
    with printing.CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="hi")
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"no Hindi for {message.id!r}"
        assert not message.fuzzy, message.id
        names = re.compile(r"%\((\w+)\)s")
        assert sorted(names.findall(str(message.id))) == sorted(names.findall(str(message.string))), message.id
        assert re.search("[\u0900-\u097f]", str(message.string)), f"{message.id!r} is not in Devanagari"


def test_a_revised_bill_says_so_and_names_the_bill_it_replaces(tmp_path: Path) -> None:
    revised = dataclasses.replace(BILL, version=2, supersedes_id=654300, revision_reason="Meter re-read: 10,580 kWh")
    text = Extracted(bill_pdf(revised, issuer=ISSUER), tmp_path)
    assert text.pages == 1
    assert text.has("संशोधित बिल / Revised bill")
    assert text.has("बिल संख्या 100006543001 के स्थान पर")  # bill_no_for_id(654300)
    assert text.has("Replaces bill number 100006543001. Reason: Meter re-read: 10,580 kWh")
    assert text.has("100006543217 (v2)")


def test_a_bill_without_its_slabs_prints_one_energy_line(tmp_path: Path) -> None:
    plain = dataclasses.replace(BILL, slabs=None, basis="actual")
    text = Extracted(bill_pdf(plain), tmp_path)
    assert text.has("ऊर्जा शुल्क / Energy charge")
    assert text.has("मीटर रीडिंग / Meter read")
    assert not text.has("Energy charge, units")
    assert not text.has("Online at")  # no portal address given


def test_the_same_bill_gives_the_same_bytes_and_is_drawn_once() -> None:
    assert draw_bill_pdf(BILL, issuer=ISSUER) == draw_bill_pdf(BILL, issuer=ISSUER)
    first = bill_pdf(BILL, issuer=ISSUER)
    assert bill_pdf(BILL, issuer=ISSUER) is first


def test_missing_fonts_are_named(tmp_path: Path) -> None:
    with pytest.raises(FontsMissing, match="fonts-noto-core"):
        bill_pdf(BILL, font_dir=tmp_path)


def test_a_bill_from_the_database_prints_its_stored_figures(uow: UnitOfWork, session: Session, tmp_path: Path) -> None:
    acc = factories.account(session, mobiles=("+919876543210",))
    factories.meter(session, acc, number="SEC00077")
    factories.priced_bill(session, acc, cycle="2026-10", units=240, arrears_paise=50_000, lps_paise=625)
    session.commit()
    doc = my_account.current_bill(uow, acc.id)
    assert doc is not None

    text = Extracted(bill_pdf(doc), tmp_path)

    assert text.pages == 1
    assert text.has(acc.account_no)
    assert text.has(doc.bill_no)
    assert text.has("रमेश वर्मा / Ramesh Verma")
    assert text.has("SEC00077")
    assert text.has("₹825.00")  # 150 units at ₹5.50
    assert text.has("₹540.00")  # 90 units at ₹6.00
    assert text.has("₹500.00")  # arrears
    assert text.has("₹2,170.25")  # ₹1,664 + ₹500 + ₹6.25
    assert "9876543210" not in text.poppler


def test_bills_drawn_at_once_in_several_threads_are_each_right() -> None:
    """The parsed fonts are shared between documents, and a web worker draws several at once."""
    from concurrent.futures import ThreadPoolExecutor

    docs = [dataclasses.replace(BILL, bill_id=n, amount_paise=100_000 + n) for n in range(8)]
    alone = [draw_bill_pdf(doc, issuer=ISSUER) for doc in docs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda doc: draw_bill_pdf(doc, issuer=ISSUER), docs))
    assert together == alone


def test_the_installed_fonts_serve_when_no_cut_down_copy_can_be_kept(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may write there: a font planted in it must never be used
    assert not printing._private_folder(shared)
    printing.set_font_cache(None)
    try:
        printing._FONTS.clear()
        text = Extracted(draw_bill_pdf(BILL, issuer=ISSUER), tmp_path)
    finally:
        printing.set_font_cache(printing.default_font_cache())
        printing._FONTS.clear()
    assert text.pages == 1
    assert text.has("कुल देय राशि / Total payable")
    assert text.has("₹4,609.59")
