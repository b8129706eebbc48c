"""Receipt (受理回执) as an image: what the agent shows, shares or prints for the citizen.

Holds the tracking code large, the QR of the citizen tracking page, the item, the materials
received, the one-time list of missing materials (一次性告知), the promised time limit and
whom to call.
"""

from __future__ import annotations

import io
import re
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
    due_date: str = ""  # YYYY-MM-DD; empty when unknown
    signed: str = ""  # how the applicant signed, e.g. "代签 Proxy signs · 李卫东 330***…1234"
    due_estimated: bool = True  # counted from submission: the clock starts when the township accepts


def render_receipt(data: ReceiptData) -> bytes:
    """Draws the receipt and returns PNG bytes."""
    out = io.BytesIO()
    render_page(data.title, data.tracking_code, data.tracking_url, _lines(data), qr_box=12).save(
        out, "PNG", optimize=True
    )
    return out.getvalue()


def render_page(title: str, tracking_code: str, qr_text: str, lines: list[tuple[str, bool]], *,
                qr_box: int) -> Image.Image:
    """The page the receipt and the result slip share: title, tracking code, QR code, then the
    lines (bold ones black), each wrapped to the width."""
    body, cjk = load_font(34)
    big, _ = load_font(64)
    wrapped = [(part, bold) for text, bold in lines for part in _wrap(_fit(text, cjk), body)]
    qr = draw_qr(qr_text, box_size=qr_box).convert("RGB")
    line_height = 50
    height = MARGIN * 2 + 90 + 100 + qr.height + 30 + line_height * len(wrapped)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = MARGIN
    draw.text((MARGIN, y), _fit(title, cjk), fill="black", font=big)
    y += 90
    draw.text((MARGIN, y), tracking_code, fill="black", font=big)
    y += 100
    image.paste(qr, ((WIDTH - qr.width) // 2, y))
    y += qr.height + 30
    for text, bold in wrapped:
        draw.text((MARGIN, y), text, fill="black" if bold else (40, 40, 40), font=body)
        y += line_height
    return image


def _lines(data: ReceiptData) -> list[tuple[str, bool]]:
    lines: list[tuple[str, bool]] = [
        (f"事项 Item: {data.item_name}", True),
        (f"申请人 Applicant: {data.applicant_masked}", False),
        *([(f"签署 Signed: {data.signed}", False)] if data.signed else []),
        (f"承诺时限 Time limit: {data.time_limit_days} 个工作日 working days", True),
        *_due(data),
        ("已收材料 Materials received:", True),
    ]
    lines += [(f"  ✓ {name}", False) for name in data.received] or [("  —", False)]
    if data.missing:
        lines.append(("一次性告知：还需补交 One-time notice, still needed:", True))
        lines += [(f"  × {name}", False) for name in data.missing]
    lines += [
        ("查询进度 How to check your case:", True),
        (f"  扫上方二维码，或用手机打开 Scan the QR code above, or open {data.tracking_url}", False),
        (f"  输入查询码 {data.tracking_code} 和身份证号后4位 Enter the tracking code and the last 4"
         " characters of the ID number", False),
    ]
    lines += [(f"代办员 Agent: {data.agent}", False), (f"联系 Contact: {data.contact}", False)]
    lines += [(text, False) for text in data.extra]
    lines.append((f"时间 Issued: {data.issued_at}", False))
    return lines


def _fit(text: str, cjk: bool) -> str:
    return text if cjk else latin_only(text)


def _due(data: ReceiptData) -> list[tuple[str, bool]]:
    if not data.due_date:
        return []
    if not data.due_estimated:
        return [(f"办结期限 Due by: {data.due_date}", True)]
    return [(f"预计办结 Expected by: {data.due_date}（如当日受理 if accepted the same day；"
             "补交材料期间暂停 paused while documents are missing）", True)]


# A line breaks between tokens: a run of Latin letters, digits and ASCII signs (a word, a
# phone number, a URL), a run of spaces, or one other character (a Chinese character may
# end a line anywhere). Closing punctuation stays with what it closes.
_TOKEN = re.compile(r"\s+|[!-~\u00a0-\u024f]+|.[，。、；：！？）」』》,.;:!?)]*")
_BREAK_AFTER = "/-?&=._"  # where an over-long word (a URL) may be broken
INDENT = "    "


def _wrap(text: str, font: Font) -> list[str]:
    """Breaks a line where it would leave the page: between English words, never inside one
    (a word longer than the line — a long URL — breaks after a / or -), and between Chinese
    characters, which have no spaces."""
    limit = WIDTH - 2 * MARGIN
    parts: list[str] = []
    current = ""
    for token in _TOKEN.findall(text):
        if font.getlength(current + token) <= limit:
            current += token
            continue
        if token.isspace():  # the break itself: no spaces carried to the next line
            parts.append(current.rstrip())
            current = INDENT
            continue
        if current.strip():
            parts.append(current.rstrip())
            current = INDENT
        room = limit - font.getlength(current)
        for piece in _split_word(token, font, room, limit - font.getlength(INDENT)):
            if font.getlength(current + piece) > limit and current.strip():
                parts.append(current.rstrip())
                current = INDENT
            current += piece
    return [*parts, current]


def _split_word(word: str, font: Font, first: float, rest: float) -> list[str]:
    """Pieces of a word too long for a line: each as long as fits, broken after a / or - if
    the piece has one, else at the last character that fits."""
    if font.getlength(word) <= first:
        return [word]
    pieces: list[str] = []
    room = first
    while word and font.getlength(word) > room:
        end = 1
        while end < len(word) and font.getlength(word[: end + 1]) <= room:
            end += 1
        cut = max((i + 1 for i in range(end) if word[i] in _BREAK_AFTER), default=end)
        cut = cut if cut > end // 2 else end  # a sign early in the piece would waste the line
        pieces.append(word[:cut])
        word = word[cut:]
        room = rest
    return [*pieces, word] if word else pieces
