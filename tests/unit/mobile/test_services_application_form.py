"""The filled 申请表: a PDF read back (pages, text) and a PNG preview, from a form's answers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from mobile.services import application_form
from mobile.services.application_form import FormDocument, NoCjkFont, render_pdf, render_preview, rows_of
from shared.forms import form_from_json, validate_answers
from tests.unit.mobile.factories import id_number
from tests.unit.mobile.test_viewmodels_wizard_form import TODAY, definition

ANSWERS = {
    "residence": "rural", "household_size": 3, "housing": "own",
    "hardship_reasons": ["illness", "disability"],
    "applicant_income": 300, "applicant_health": "chronic", "applicant_work": "farming",
    "members": [
        {"member_name": "李桂兰", "member_id": id_number(201), "relation": "spouse",
         "member_health": "healthy", "member_work": "unable", "member_income": 0},
        {"member_name": "王小明", "member_id": id_number(202), "relation": "child",
         "member_health": "healthy", "member_work": "employed", "member_income": 1200.5},
    ],
    "total_income": 1500.5, "per_capita_income": 500.17, "has_account": "no",
}


def document(signature: bytes | None = None) -> FormDocument:
    applicant = [("姓名 Name", "王秀英"), ("身份证号 ID number", id_number())]
    return FormDocument("最低生活保障申请（低保）", applicant,
                        "本人签名 Signature", TODAY.isoformat(), "agent1", "ABCD-EFGH-JKLM", signature)


def flat(text: str) -> str:
    return re.sub(r"[\s\x00]+", "", text)  # pypdf spaces (and NUL-pads) CID-font glyphs


def signature_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 160), "white").save(out, "PNG")
    return out.getvalue()


def test_the_pdf_reads_back_with_every_answer_member_and_the_signature_block() -> None:
    form = form_from_json(definition("JZ-001"))
    assert validate_answers(form, ANSWERS, today=TODAY) == []
    pdf = render_pdf(form, ANSWERS, document(signature_png()))
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = flat("".join(page.extract_text() for page in reader.pages))
    for expected in ("最低生活保障申请表", "王秀英", id_number(), "农村户籍", "因病、因残", "李桂兰",
                     "王小明", "配偶", "1200.5", "人均500.17元", "ABCD-EFGH-JKLM", "agent1",
                     TODAY.isoformat()):
        assert flat(expected) in text, expected
    assert "total_income" not in text  # a calculation is printed through its note, not by name


def test_rows_follow_the_form_with_a_table_for_the_members() -> None:
    form = form_from_json(definition("JZ-001"))
    rows = dict(rows_of(form, ANSWERS, TODAY))
    assert rows["户籍类型"] == "农村户籍" and rows["主要困难原因（可多选）"] == "因病、因残"
    headers, members = rows["共同生活的家庭成员（申请人以外）"]
    assert headers[0] == "姓名" and [m[0] for m in members] == ["李桂兰", "王小明"]


def test_the_preview_is_a_png_page(tmp_path: Path) -> None:
    form = form_from_json(definition("JZ-001"))
    png = render_preview(form, ANSWERS, document(signature_png()))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 1240 and image.height > 1000
    (tmp_path / "form.png").write_bytes(png)


def test_without_a_cjk_font_there_is_no_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(application_form, "cjk_font_path", lambda: None)
    form = form_from_json(definition("JZ-001"))
    with pytest.raises(NoCjkFont):
        render_pdf(form, ANSWERS, document())
