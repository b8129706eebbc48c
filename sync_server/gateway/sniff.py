"""Attachment types by content (附件类型识别): magic bytes, never the declared type.

Only the formats a case or material may carry: JPEG, PNG and WebP scans and signatures,
and PDF documents.
"""

from __future__ import annotations

import re

ALLOWED = ("image/jpeg", "image/png", "image/webp", "application/pdf")
MAX_ATTACHMENT = 5 * 1024 * 1024  # bytes: a scan is ~300 KB after the app's pipeline; 5 MB is a raw photo
SNIFF_BYTES = 16  # the longest signature below (WebP: RIFF····WEBP) fits

_PRINTABLE = re.compile(r"[\x20-\x7e]+")
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


def parse_type(declared: object) -> str | None:
    """The allow-listed content type `declared` names (parameters dropped), or None.

    Only printable ASCII is read: a CR/LF or non-Latin-1 text would be copied into a multipart
    header or an answer's Content-Type (and pouchdb-server answers 500 for it). What is stored and
    re-emitted is always the canonical name from `ALLOWED`, never the device's text.
    """
    if not isinstance(declared, str) or len(declared) > 200 or not _PRINTABLE.fullmatch(declared):
        return None
    base = normalize_type(declared)
    return base if base in ALLOWED else None


def check_attachment(name: str, declared: str, head: bytes, length: int) -> str | None:
    """Why the attachment is refused, or None when it may be stored."""
    if length > MAX_ATTACHMENT:
        return f"附件 {name} 超过 5 MB / attachment {name} is larger than 5 MB ({length} bytes)"
    if parse_type(declared) is None:
        return (f"附件 {name} 的类型不在允许列表 / attachment {name}: content type {declared[:60]!r} "
                f"is not one of {', '.join(ALLOWED)}")
    actual = sniff(head)
    if actual is None:
        return (f"附件 {name} 不是 JPEG、PNG、WebP 或 PDF 文件 / attachment {name} is not a JPEG, PNG, "
                "WebP or PDF file (checked by content)")
    if normalize_type(declared) != actual:
        return (f"附件 {name} 的类型不符 / attachment {name} is declared {declared!r} "
                f"but its content is {actual}")
    return None
