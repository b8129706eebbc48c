"""Attachment types by content (附件类型识别): magic bytes, never the declared type.

Only the formats a case or material may carry: JPEG, PNG and WebP scans and signatures,
and PDF documents.
"""

from __future__ import annotations

ALLOWED = ("image/jpeg", "image/png", "image/webp", "application/pdf")
MAX_ATTACHMENT = 5 * 1024 * 1024  # bytes: a scan is ~300 KB after the app's pipeline; 5 MB is a raw photo
SNIFF_BYTES = 16  # the longest signature below (WebP: RIFF····WEBP) fits

_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}


def sniff(head: bytes) -> str | None:
    """The content type `head` (the first bytes) proves, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def normalize_type(declared: str) -> str:
    base = declared.split(";")[0].strip().lower()
    return _ALIASES.get(base, base)


def check_attachment(name: str, declared: str, head: bytes, length: int) -> str | None:
    """Why the attachment is refused, or None when it may be stored."""
    if length > MAX_ATTACHMENT:
        return f"附件 {name} 超过 5 MB / attachment {name} is larger than 5 MB ({length} bytes)"
    actual = sniff(head)
    if actual is None:
        return (f"附件 {name} 不是 JPEG、PNG、WebP 或 PDF 文件 / attachment {name} is not a JPEG, PNG, "
                "WebP or PDF file (checked by content)")
    if normalize_type(declared) != actual:
        return (f"附件 {name} 的类型不符 / attachment {name} is declared {declared!r} "
                f"but its content is {actual}")
    return None
