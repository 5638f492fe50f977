"""Uploads are what their bytes say, never what their name says; PDFs carry nothing active."""

from __future__ import annotations

import pytest

from cis.documents import (
    MAX_BYTES,
    DamagedDocument,
    DocumentTooLarge,
    EmptyDocument,
    UnsafeDocument,
    UnsupportedDocumentType,
    check_file,
    safe_name,
)
from tests import support_files as files


def test_a_png_a_jpeg_and_a_pdf_are_typed_by_their_bytes() -> None:
    assert check_file(files.png(), "photo.png").content_type == "image/png"
    assert check_file(files.jpeg(), "meter.jpg").content_type == "image/jpeg"
    assert check_file(files.pdf(), "bill.pdf").content_type == "application/pdf"
    # A JPEG called .png is a JPEG: the name decides nothing.
    assert check_file(files.jpeg(), "meter.png").content_type == "image/jpeg"


def test_an_html_page_named_png_is_refused_as_a_web_page() -> None:
    with pytest.raises(UnsupportedDocumentType) as refused:
        check_file(files.HTML_PAGE, "photo.png")
    assert str(refused.value) == (
        "'photo.png' is a web page (HTML), not a PDF, JPEG or PNG. Please attach a PDF, JPEG or PNG."
    )


def test_an_svg_named_png_is_refused_as_a_drawing() -> None:
    with pytest.raises(UnsupportedDocumentType, match="is an SVG drawing, not a PDF, JPEG or PNG"):
        check_file(files.SVG_IMAGE, "meter.png")


def test_a_file_that_starts_like_a_png_but_is_not_one_is_damaged() -> None:
    with pytest.raises(DamagedDocument, match="looks like a PNG but cannot be read"):
        check_file(b"\x89PNG\r\n\x1a\n" + files.HTML_PAGE, "x.png")
    truncated = files.jpeg(400, 300)[:-200]
    with pytest.raises(DamagedDocument, match="JPEG"):
        check_file(truncated, "x.jpg")


@pytest.mark.parametrize(
    ("action", "what"),
    [
        (b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>", "JavaScript"),
        (b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>", "JavaScript"),  # names spelt with #xx escapes
        (b"<< /S /Launch /F (cmd.exe) >>", "an action that starts a program"),
        (b"<< /S /GoTo /D [3 0 R /Fit] /Names << /EmbeddedFiles 9 0 R >> >>", "embedded files"),
    ],
)
def test_a_pdf_with_active_content_is_refused(action: bytes, what: str) -> None:
    with pytest.raises(UnsafeDocument) as refused:
        check_file(files.pdf_with_open_action(action), "bill.pdf")
    assert refused.value.what == what
    assert "Please print it to a new PDF or scan it" in str(refused.value)


def test_javascript_compressed_into_an_object_stream_is_found() -> None:
    with pytest.raises(UnsafeDocument, match="JavaScript"):
        check_file(files.pdf_with_javascript_in_object_stream(), "bill.pdf")


def test_an_open_action_that_only_shows_the_first_page_is_fine() -> None:
    assert check_file(files.pdf_with_open_action(b"[3 0 R /Fit]"), "ok.pdf").content_type == "application/pdf"


def test_an_encrypted_pdf_cannot_be_checked_so_it_is_refused() -> None:
    data = files.pdf().replace(b"trailer\n<<", b"trailer\n<< /Encrypt 99 0 R", 1)
    with pytest.raises(UnsafeDocument, match="encryption"):
        check_file(data, "locked.pdf")


def test_a_pdf_without_its_end_is_damaged() -> None:
    with pytest.raises(DamagedDocument, match="PDF"):
        check_file(files.pdf()[:-40], "cut.pdf")


def test_empty_and_oversized_files_are_refused() -> None:
    with pytest.raises(EmptyDocument):
        check_file(b"", "nothing.pdf")
    with pytest.raises(DocumentTooLarge, match="larger than 2 MB"):
        check_file(files.png() + b"\0" * MAX_BYTES, "huge.png")


def test_a_huge_image_in_pixels_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(DamagedDocument):
        check_file(files.png(8000, 6000), "bomb.png")


def test_the_kept_name_is_the_last_path_part_without_control_characters_and_at_most_120_characters() -> None:
    assert safe_name("C:\\Users\\ram\\..\\bill.pdf") == "bill.pdf"
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("a\x00b\nc.pdf") == "abc.pdf"
    assert safe_name("") == "document"
    assert len(safe_name("x" * 500 + ".pdf")) == 120
