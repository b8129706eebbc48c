"""The filled application form (申请表) as a document: a PDF laid out like the paper form, and
a PNG preview of the same content.

From the answers (`shared.forms.summary.answer_summary`: form order, labels, chosen choices'
labels), the applicant block and the signature: title, the applicant's details, every answered
question in a two-column table, each repeat (household members) as a table with one row per
instance, then the signature, the date, the agent and the tracking code. The PDF is drawn with
fpdf2 (pure Python) and the CJK font the receipt uses (`mobile.services.fonts`); the preview
with Pillow. Without a CJK font there is no document (`NoCjkFont`): a form with its Chinese
left out would be no form at all.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image, ImageDraw

from mobile.services.fonts import Font, cjk_font_path, load_font
from shared.forms import FieldType, Form, field_state, label_text
from shared.forms.summary import answer_summary

FONT = "cjk"
DECLARATION = "本人承诺以上所填内容真实、完整。 I declare that the above is true and complete."
HEADINGS = FontFace(emphasis="", fill_color=(230, 233, 238))  # one CJK face: no bold


class NoCjkFont(RuntimeError):
    """No font with Chinese glyphs on this device."""


@dataclass(frozen=True)
class FormDocument:
    """What the 申请表 shows besides the answers; texts already as printed."""

    item_name: str
    applicant: Sequence[tuple[str, str]]  # (label, value): name, ID number, phone
    signed: str  # how the applicant signed (签名, 按手印, 代签 …)
    signed_on: str  # YYYY-MM-DD, the China date of submission
    agent: str
    tracking_code: str
    signature_png: bytes | None = None  # PNG signature or JPEG fingerprint photo


def rows_of(form: Form, answers: Mapping[str, Any], today: date) -> list[tuple[str, Any]]:
    """The table: ("label", "value") for a question, ("label", (headers, rows)) for a repeat.

    A calculation without a label of its own is printed through the note that shows it (the
    note's text with the values filled in), as the agent saw it.
    """
    out: list[tuple[str, Any]] = []
    for entry in answer_summary(form, answers):
        if entry["type"] == "calculate" and form.field(str(entry["name"])).label is None:
            continue
        if "instances" in entry:
            headers: list[str] = []
            for instance in entry["instances"]:
                for cell in instance:
                    if cell["label"] not in headers:
                        headers.append(cell["label"])
            rows = [[_value(next((c for c in inst if c["label"] == h), None)) for h in headers]
                    for inst in entry["instances"]]
            out.append((str(entry["label"]), (headers, rows)))
        else:
            out.append((str(entry["label"]), _value(entry)))
    for item in form.pages():
        if item.type is FieldType.NOTE and field_state(form, answers, item.name, today=today).relevant:
            out.append(("说明 Note", label_text(form, answers, item.name, today=today).zh))
    return out


def _value(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return ""
    if "value_label" in entry:
        return str(entry["value_label"])
    value = entry.get("value")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _font_args() -> tuple[str, int]:
    path = cjk_font_path()
    if path is None:
        raise NoCjkFont("no CJK font found")
    # Noto Sans CJK collections hold JP, KR, SC, TC, HK faces: simplified Chinese is the third.
    index = 2 if path.suffix == ".ttc" and "NotoSansCJK" in path.name else 0
    return str(path), index


def render_pdf(form: Form, answers: Mapping[str, Any], doc: FormDocument) -> bytes:
    """The 申请表 as an A4 PDF."""
    path, index = _font_args()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font(FONT, fname=path, collection_font_number=index)
    pdf.set_title(form.title.zh)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(FONT, size=18)
    pdf.cell(width, 12, form.title.zh, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    pdf.cell(width, 6, form.title.en, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(width, 6, f"事项 Item：{doc.item_name}    受理编号 Tracking code：{doc.tracking_code}",
                   new_x="LMARGIN", new_y="NEXT")  # a long bilingual item name wraps
    pdf.ln(2)
    pdf.set_font(FONT, size=11)
    _section(pdf, "申请人 Applicant")
    with pdf.table(col_widths=(35, 65), first_row_as_headings=False, line_height=7) as table:
        for label, value in doc.applicant:
            table.row([label, value])
    pdf.ln(3)
    _section(pdf, "申请内容 Application")
    plain = [(label, value) for label, value in rows_of(form, answers, date.fromisoformat(doc.signed_on))]
    with pdf.table(col_widths=(45, 55), first_row_as_headings=False, line_height=7) as table:
        for label, value in plain:
            if isinstance(value, str):
                table.row([label, value])
    for label, value in plain:
        if isinstance(value, tuple):
            headers, rows = value
            pdf.ln(3)
            _section(pdf, label)
            pdf.set_font(FONT, size=9)
            widths = tuple(_weight(h) for h in headers)
            with pdf.table(line_height=6, headings_style=HEADINGS, col_widths=widths) as table:
                table.row(headers)
                for row in rows:
                    table.row(row)
            pdf.set_font(FONT, size=11)
    pdf.ln(4)
    _section(pdf, "声明与签名 Declaration and signature")
    pdf.multi_cell(width, 6, DECLARATION, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 7, f"申请人签名 Signature（{doc.signed}）：", new_x="LMARGIN", new_y="NEXT")
    if doc.signature_png:
        pdf.image(io.BytesIO(doc.signature_png), w=60)
    pdf.cell(width, 7, f"日期 Date：{doc.signed_on}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 7, f"代办员 Agent：{doc.agent}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 7, f"受理编号 Tracking code：{doc.tracking_code}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _weight(header: str) -> int:
    """Column width in a repeat's table: an ID number needs twice the room of a name."""
    return 2 if "身份证" in header or "号码" in header else 1


def _section(pdf: FPDF, text: str) -> None:
    pdf.set_fill_color(230, 233, 238)
    pdf.cell(pdf.epw, 8, text, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


# -- the PNG preview ---------------------------------------------------------------------------

WIDTH = 1240  # A4 at 150 dpi
MARGIN = 70
LINE = 44


def render_preview(form: Form, answers: Mapping[str, Any], doc: FormDocument) -> bytes:
    """The same content as a PNG, for the screen and for staff who open it on a phone."""
    font, cjk = load_font(26)
    if not cjk:
        raise NoCjkFont("no CJK font found")
    title, _ = load_font(44)
    small, _ = load_font(22)
    blocks: list[tuple[str, Any]] = [("§", "申请人 Applicant"), *doc.applicant, ("§", "申请内容 Application")]
    tables: list[tuple[str, Any]] = []
    for label, value in rows_of(form, answers, date.fromisoformat(doc.signed_on)):
        (blocks if isinstance(value, str) else tables).append((label, value))
    signature = Image.open(io.BytesIO(doc.signature_png)).convert("RGB") if doc.signature_png else None
    if signature is not None:
        signature.thumbnail((420, 160))
    height = MARGIN * 2 + 140 + LINE * (len(blocks) + 8)
    height += sum(LINE * (len(v[1]) + 2) for _, v in tables) + (signature.height if signature else 0)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = MARGIN
    _centre(draw, form.title.zh, title, y)
    y += 60
    _centre(draw, form.title.en, small, y)
    y += 40
    heading = f"受理编号 {doc.tracking_code} · 事项 {doc.item_name}"  # the code first: never clipped
    draw.text((MARGIN, y), _clip(heading, small, WIDTH - 2 * MARGIN), font=small, fill="black")
    y += LINE
    split = MARGIN + 420
    for label, value in blocks:
        if label == "§":
            draw.rectangle((MARGIN, y, WIDTH - MARGIN, y + LINE), fill=(230, 233, 238), outline="black")
            draw.text((MARGIN + 10, y + 8), str(value), font=font, fill="black")
        else:
            draw.rectangle((MARGIN, y, WIDTH - MARGIN, y + LINE), outline="black")
            draw.line((split, y, split, y + LINE), fill="black")
            draw.text((MARGIN + 10, y + 8), _clip(label, font, split - MARGIN - 20), font=font, fill="black")
            draw.text((split + 10, y + 8), _clip(str(value), font, WIDTH - MARGIN - split - 20), font=font,
                      fill="black")
        y += LINE
    for label, (headers, rows) in tables:
        y += 12
        draw.rectangle((MARGIN, y, WIDTH - MARGIN, y + LINE), fill=(230, 233, 238), outline="black")
        draw.text((MARGIN + 10, y + 8), label, font=font, fill="black")
        y += LINE
        weights = [_weight(h) for h in headers]
        unit = (WIDTH - 2 * MARGIN) / max(1, sum(weights))
        for row in [headers, *rows]:
            x = float(MARGIN)
            for text, weight in zip(row, weights, strict=False):
                cell = unit * weight
                draw.rectangle((x, y, x + cell, y + LINE), outline="black")
                draw.text((x + 6, y + 10), _clip(str(text), small, cell - 12), font=small, fill="black")
                x += cell
            y += LINE
    y += 20
    draw.text((MARGIN, y), f"申请人签名 Signature（{doc.signed}）：", font=font, fill="black")
    y += LINE
    if signature is not None:
        image.paste(signature, (MARGIN + 20, y))
        y += signature.height
    for line in (f"日期 Date：{doc.signed_on}", f"代办员 Agent：{doc.agent}",
                 f"受理编号 Tracking code：{doc.tracking_code}"):
        draw.text((MARGIN, y), line, font=font, fill="black")
        y += LINE
    out = io.BytesIO()
    image.crop((0, 0, WIDTH, min(height, y + MARGIN))).save(out, "PNG", optimize=True)
    return out.getvalue()


def _centre(draw: ImageDraw.ImageDraw, text: str, font: Font, y: int) -> None:
    width = draw.textlength(text, font=font)
    draw.text(((WIDTH - width) / 2, y), text, font=font, fill="black")


def _clip(text: str, font: Font, room: float) -> str:
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text + "…"


def preview_jpegs(png: bytes, thumb_width: int = 240) -> tuple[bytes, bytes]:
    """The preview as a JPEG and a thumbnail, for the screens that show a material's scan."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    big = io.BytesIO()
    image.save(big, "JPEG", quality=85)
    image.thumbnail((thumb_width, thumb_width * 2))
    small = io.BytesIO()
    image.save(small, "JPEG", quality=80)
    return big.getvalue(), small.getvalue()
