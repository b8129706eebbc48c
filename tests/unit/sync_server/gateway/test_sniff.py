"""Attachment types come from the bytes, not from what the client declares."""

from __future__ import annotations

import pytest

from sync_server.gateway.sniff import MAX_ATTACHMENT, check_attachment, sniff


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"MZ\x90\x00\x03", None),
        (b"\x7fELF\x02\x01", None),
        (b"<svg xmlns=", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_sniff(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_check_attachment_reasons() -> None:
    jpeg = b"\xff\xd8\xff\xe0"
    assert check_attachment("a.jpg", "image/jpeg", jpeg, 100) is None
    assert check_attachment("a.jpg", "image/jpg", jpeg, 100) is None  # a common alias
    assert "5 MB" in str(check_attachment("a.jpg", "image/jpeg", jpeg, MAX_ATTACHMENT + 1))
    assert "content" in str(check_attachment("a.jpg", "image/jpeg", b"MZ\x90\x00", 100))
    assert "declared" in str(check_attachment("a.png", "image/png", jpeg, 100))


def test_a_pdf_is_stored_and_anything_else_labelled_pdf_is_refused() -> None:
    """The app's generated 申请表 is a PDF: a PDF passes, a PNG or a script called PDF does not."""
    assert check_attachment("form.pdf", "application/pdf", b"%PDF-1.3\n%", 40_000) is None
    assert "declared" in str(check_attachment("form.pdf", "application/pdf", b"\x89PNG\r\n\x1a\n", 100))
    assert "content" in str(check_attachment("form.pdf", "application/pdf", b"<script>alert(1)", 100))
