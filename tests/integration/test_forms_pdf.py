"""The blank application forms read back: every paper field's Hindi and English label, nothing online-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from cis import printing
from cis.application_forms import load_forms
from cis.forms_pdf import form_pdf
from cis.models.accounts import CATEGORIES
from cis.printing import FontsMissing
from tests.pdf_support import Extracted

FORMS = sorted(load_forms())


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Extracted]:
    printing.MISSING.clear()
    folder = tmp_path_factory.mktemp("forms")
    return {key: Extracted(form_pdf(key, portal_url="https://wss.urjamitra.in"), folder) for key in FORMS}


@pytest.mark.parametrize("key", FORMS)
def test_every_paper_field_is_printed_in_both_languages(printed: dict[str, Extracted], key: str) -> None:
    text = printed[key]
    the_form = load_forms()[key]
    assert text.has(the_form.title.hi)
    assert text.has(the_form.title.en)
    for part in the_form.sections:
        if the_form.on_paper(part.key):
            assert text.has(part.title.hi), part.key
            assert text.has(part.title.en), part.key
    for field in the_form.fields:
        if not field.paper:
            assert not text.has(field.label.en), field.name
            continue
        assert text.has(field.label.hi), field.name
        assert text.has(field.label.en), field.name
        for choice in field.choices:
            assert text.has(choice.label.hi), choice.value
            assert text.has(choice.label.en), choice.value


@pytest.mark.parametrize("key", FORMS)
def test_each_form_fits_its_pages_and_says_where_to_hand_it_in(printed: dict[str, Extracted], key: str) -> None:
    text = printed[key]
    assert text.pages == (2 if key == "new_connection" else 1)
    assert text.has("यह फ़ॉर्म दस्तावेज़ों की प्रतियों के साथ अपने उपखंड कार्यालय में जमा करें।")
    assert text.has("You can also apply online at https://wss.urjamitra.in.")
    assert text.has("हेल्पलाइन 1912, दिन-रात।")
    assert text.has("कार्यालय के उपयोग के लिए / For office use")
    assert text.has("तिथि / Date")


def test_the_new_connection_form_lists_every_tariff_category(printed: dict[str, Extracted]) -> None:
    text = printed["new_connection"]
    for code, description in CATEGORIES.items():
        assert text.has(f"{code}: {printing.hi(description)}"), code
        assert text.has(description), code
    assert text.has("kW")
    assert not text.has("OTP sent to your mobile")


def test_every_frame_label_has_its_hindi(printed: dict[str, Extracted]) -> None:
    assert not printing.MISSING, printing.MISSING


def test_missing_fonts_are_named_for_forms_too(tmp_path: Path) -> None:
    with pytest.raises(FontsMissing):
        form_pdf("load_change", font_dir=tmp_path)
