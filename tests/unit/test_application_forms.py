"""The application forms' definitions: the packaged file is complete, and a broken one says what is wrong."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from cis.application_forms import FORMS_FILE, FormDataError, form, load_forms, parse_forms


def _data() -> dict[str, Any]:
    with FORMS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def test_the_five_forms_file_their_own_kind_of_request() -> None:
    forms = load_forms()
    assert {key: f.kind for key, f in forms.items()} == {
        "new_connection": "new_connection",
        "load_change": "load_change",
        "name_change": "name_change",
        "perm_disconnection": "perm_disconnection",
        "bill_revision": "bill_revision",
    }


def test_online_fields_are_the_ones_the_request_use_cases_take() -> None:
    online = {
        key: [f.name for f in f_.online_fields() if f.type not in ("declaration",)] for key, f_ in load_forms().items()
    }
    assert online == {
        "new_connection": [
            "applicant_name",
            "mobile",
            "otp_code",
            "address",
            "pin_code",
            "area_class",
            "sub_division_id",
            "category",
            "load_kw",
            "description",
            "id_proof",
            "ownership_proof",
        ],
        "load_change": ["load_kw", "description"],
        "name_change": ["applicant_name", "description", "ownership_proof", "id_proof"],
        "perm_disconnection": ["description"],
        "bill_revision": ["bill_id", "reason", "description", "evidence"],
    }


def test_paper_forms_ask_for_the_account_and_a_signature_but_no_otp() -> None:
    for key, f in load_forms().items():
        paper = {field.name for field in f.fields if field.paper}
        assert "signature" in paper, key
        assert "otp_code" not in paper, key
        if key != "new_connection":
            assert "account_no" in paper, key


def test_bill_revision_reasons_are_those_of_the_sop() -> None:
    reason = next(f for f in form("bill_revision").fields if f.name == "reason")
    assert [c.value for c in reason.choices] == [
        "wrong_reading",
        "meter_defective",
        "estimated_bill",
        "wrong_category_load",
        "payment_not_credited",
        "other",
    ]
    assert reason.choices[0].label.hi == "मीटर रीडिंग गलत"


def test_an_unknown_form_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="no form 'solar'"):
        form("solar")


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_data())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["forms"]["load_change"]["fields"][0].update(type="slider"), "type must be one of"),
        (lambda d: d["forms"]["load_change"]["fields"][0]["label"].pop("hi"), r"must be \{ en = \.\.\., hi"),
        (lambda d: d["forms"]["load_change"]["fields"][0]["label"].update(hi="Account"), "not in Devanagari"),
        (lambda d: d["forms"]["load_change"]["fields"][0].update(colour="red"), "unknown keys"),
        (lambda d: d["forms"]["load_change"]["fields"][0].update(section="elsewhere"), "not among the form's sections"),
        (lambda d: d["forms"]["load_change"]["fields"][0].update(boxes=None), "digits need boxes"),
        (lambda d: d["forms"]["load_change"]["fields"][-1].update(online=True), "signature is for paper only"),
        (lambda d: d["forms"]["load_change"].update(kind="solar"), "kind must be one of"),
        (lambda d: d["forms"]["bill_revision"]["fields"][4].update(choices=[]), "a choice needs choices"),
        (lambda d: d["forms"]["name_change"]["fields"][5].update(document="selfie"), "a file needs document"),
        (lambda d: d["forms"]["load_change"]["fields"].append(dict(d["forms"]["load_change"]["fields"][0])), "twice"),
        (lambda d: d["forms"]["load_change"]["sections"].append("extra"), "have no title"),
    ],
)
def test_a_broken_file_says_what_and_where(change: Any, message: str) -> None:
    with pytest.raises(FormDataError, match=message):
        parse_forms(_broken(change))
