"""Receipt (受理回执) as an image: what the agent shows, shares or prints for the citizen.

Holds the tracking code large, the QR of the citizen tracking page, the item, the materials
received, the one-time list of missing materials (一次性告知), the promised time limit and
whom to call.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from mobile.services.fonts import Font, latin_only, load_font
from mobile.services.qr import draw_qr

WIDTH = 1080  # a phone screen's width in pixels: sharp when shared in a chat
MARGIN = 60


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on a receipt; texts are already bilingual."""

    tracking_code: str
    tracking_url: str
    item_name: str
    applicant_masked: str
    received: tuple[str, ...]
    missing: tuple[str, ...]
    time_limit_days: int
    agent: str
    contact: str
    issued_at: str
    title: str = "受理回执 Receipt"
    extra: tuple[str, ...] = field(default=())


def render_receipt(data: ReceiptData) -> bytes:
    """Draws the receipt and returns PNG bytes."""
    body, cjk = load_font(34)
    big, _ = load_font(64)
    lines = _lines(data)
    qr = draw_qr(data.tracking_url, box_size=12).convert("RGB")
    line_height = 50
    height = MARGIN * 2 + 90 + 100 + qr.height + 30 + line_height * sum(len(_wrap(t, body)) for t, _ in lines)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = MARGIN
    draw.text((MARGIN, y), _fit(data.title, cjk), fill="black", font=big)
    y += 90
    draw.text((MARGIN, y), data.tracking_code, fill="black", font=big)
    y += 100
    image.paste(qr, ((WIDTH - qr.width) // 2, y))
    y += qr.height + 30
    for text, bold in lines:
        for part in _wrap(_fit(text, cjk), body):
            draw.text((MARGIN, y), part, fill="black" if bold else (40, 40, 40), font=body)
            y += line_height
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _lines(data: ReceiptData) -> list[tuple[str, bool]]:
    lines: list[tuple[str, bool]] = [
        (f"事项 Item: {data.item_name}", True),
        (f"申请人 Applicant: {data.applicant_masked}", False),
        (f"承诺时限 Time limit: {data.time_limit_days} 个工作日 working days", True),
        ("已收材料 Materials received:", True),
    ]
    lines += [(f"  ✓ {name}", False) for name in data.received] or [("  —", False)]
    if data.missing:
        lines.append(("一次性告知：还需补交 One-time notice, still needed:", True))
        lines += [(f"  × {name}", False) for name in data.missing]
    lines += [(f"代办员 Agent: {data.agent}", False), (f"联系 Contact: {data.contact}", False)]
    lines += [(text, False) for text in data.extra]
    lines.append((f"时间 Issued: {data.issued_at}", False))
    return lines


def _fit(text: str, cjk: bool) -> str:
    return text if cjk else latin_only(text)


def _wrap(text: str, font: Font) -> list[str]:
    """Breaks a line where it would leave the page; Chinese has no spaces, so per character."""
    limit = WIDTH - 2 * MARGIN
    parts: list[str] = []
    current = ""
    for ch in text:
        if current and font.getlength(current + ch) > limit:
            parts.append(current)
            current = "    " + ch if ch != " " else "    "
        else:
            current += ch
    return [*parts, current]
