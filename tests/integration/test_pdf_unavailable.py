"""A server without the Noto fonts (Debian's fonts-noto-core) answers the PDF routes with a polite 503 in the page's
language, not a crash: the fonts are looked for when a PDF is drawn (`cis.printing`), which raises FontsMissing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cis.printing import FontsMissing
from tests.web_support import build_site, running


def _no_fonts(*_args: object, **_kwargs: object) -> bytes:
    raise FontsMissing(Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"))


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "cannot be made as PDF files"), ("hi", "PDF फ़ाइल के रूप में नहीं बन पा रहे हैं")],
)
def test_a_form_pdf_without_fonts_is_a_polite_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, words: str
) -> None:
    site = build_site(tmp_path)
    monkeypatch.setattr("cis.web.forms.form_pdf", _no_fonts)  # the drawing step, as it fails without the fonts
    with running(site.app()) as client:
        response = client.get("/forms/new-connection.pdf", headers={"Accept-Language": language})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"]
    assert words in response.get_data(as_text=True)
    assert "1912" in response.get_data(as_text=True)
