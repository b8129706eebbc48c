"""QR round trip, signature rendering and refusal, receipt image with Chinese text."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from mobile.services.errors import QrError, SignatureError
from mobile.services.fonts import cjk_font_path, latin_only, load_font
from mobile.services.qr import qr_png, read_qr
from mobile.services.receipt import MARGIN, WIDTH, ReceiptData, _lines, _wrap, render_receipt
from mobile.services.signature import render_signature
from tests.unit.mobile.images import jpeg_bytes, text_page


def test_qr_round_trip_through_a_tilted_photo() -> None:
    url = "http://127.0.0.1:8000/d/eyJhbGciOiJFZERTQSJ9.payload.signature"
    picture = Image.open(io.BytesIO(qr_png(url))).convert("RGB").resize((420, 420))
    photo = Image.new("RGB", (900, 700), (210, 200, 190))
    photo.paste(picture.rotate(12, expand=True, fillcolor="white"), (200, 100))
    assert read_qr(jpeg_bytes(photo, quality=70)) == url


def test_picture_without_qr_is_refused() -> None:
    with pytest.raises(QrError, match="二维码"):
        read_qr(jpeg_bytes(text_page(600, 800)))


def test_non_image_is_a_qr_error() -> None:
    with pytest.raises(QrError):
        read_qr(b"not an image")


def test_reader_is_replaceable() -> None:
    class Fixed:
        def read(self, data: bytes) -> list[str]:
            return ["typed"]

    assert read_qr(b"", reader=Fixed()) == "typed"


def _name_strokes() -> list[list[tuple[float, float]]]:
    return [
        [(40.0 + i * 10, 80.0) for i in range(20)],
        [(140.0, 30.0 + i * 8) for i in range(15)],
        [(60.0 + i * 12, 150.0 - i * 3) for i in range(18)],
    ]


def test_signature_renders_black_ink_on_white() -> None:
    png = render_signature(_name_strokes(), 400, 200)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (400, 200)
    assert image.getpixel((100, 80)) == 0 and image.getpixel((390, 190)) == 255


@pytest.mark.parametrize(
    "strokes",
    [[], [[(10.0, 10.0)]], [[(10.0, 10.0), (14.0, 12.0)]], [[(10.0, 10.0), (30.0, 10.0)] * 20]],
)
def test_empty_or_tiny_signature_is_refused(strokes: list[list[tuple[float, float]]]) -> None:
    with pytest.raises(SignatureError):
        render_signature(strokes, 400, 200)


def _receipt(**overrides: object) -> ReceiptData:
    values: dict[str, object] = {
        "tracking_code": "OT-7KQ2-M9XA",
        "tracking_url": "http://127.0.0.1:8000/t/OT7KQ2M9XA",
        "item_name": "城乡居民养老保险参保登记 Pension enrolment",
        "applicant_masked": "330212********1234",
        "received": ("居民身份证 ID card",),
        "missing": ("银行卡 Bank card",),
        "time_limit_days": 3,
        "agent": "张三",
        "contact": "0574-88888888",
        "issued_at": "2026-11-24 14:30",
    }
    values.update(overrides)
    return ReceiptData(**values)  # type: ignore[arg-type]  # any field overridden, of any type


def test_receipt_is_a_png_whose_qr_leads_to_the_tracking_page() -> None:
    png = render_receipt(_receipt())
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 1080
    assert read_qr(png) == "http://127.0.0.1:8000/t/OT7KQ2M9XA"


def test_receipt_grows_with_the_missing_list() -> None:
    short = Image.open(io.BytesIO(render_receipt(_receipt(missing=()))))
    long = Image.open(io.BytesIO(render_receipt(_receipt(missing=tuple(f"材料 {i}" for i in range(8))))))
    assert long.height > short.height


def test_machine_has_a_cjk_font_or_receipt_falls_back() -> None:
    # Documented need (docs/app.md): Debian fonts-noto-cjk or a font in assets/fonts/.
    if cjk_font_path() is None:
        pytest.skip("no CJK font installed: receipts fall back to English only")
    assert cjk_font_path() is not None


def test_latin_only_keeps_the_english_half() -> None:
    assert latin_only("下一步 Next") == "Next"
    assert latin_only("事项 Item: 低保 Subsistence allowance") == "Item: Subsistence allowance"


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", text))


@pytest.mark.parametrize("text", [
    "代办员 Agent: 王代办 — the agent keeps a background check of every step for the township",
    "联系 Contact: 鄞州区便民服务中心 Township service centre, telephone 0574-86780000 (weekdays)",
    "  × 家庭经济状况声明 Household income statement (signed by every adult in the household)",
])
def test_receipt_lines_break_between_words_never_inside_one(text: str) -> None:
    font, cjk = load_font(34)
    text = text if cjk else latin_only(text)
    lines = _wrap(text, font)
    assert len(lines) > 1  # long enough to wrap at 1080 px
    limit = WIDTH - 2 * MARGIN
    assert all(font.getlength(line) <= limit for line in lines)
    kept = set().union(*(_words(line) for line in lines))
    assert _words(text) <= kept  # "background" and "0574-86780000" whole on one line
    assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")


def test_chinese_wraps_at_any_character_and_a_long_url_after_a_slash() -> None:
    font, cjk = load_font(34)
    if not cjk:
        pytest.skip("no CJK font installed")
    chinese = "一次性告知：" + "户口簿居民身份证银行卡" * 8
    lines = _wrap(chinese, font)
    limit = WIDTH - 2 * MARGIN
    assert len(lines) > 1 and all(font.getlength(line) <= limit for line in lines)
    assert font.getlength(lines[0] + lines[1].strip()[0]) > limit  # the first line is full
    url = "https://zwfw.yinzhou.example.gov.cn/onetrip/track/" + "K7QM9XRT2HNC" * 4
    pieces = _wrap(url, font)
    assert len(pieces) > 1 and pieces[0].endswith("/")
    assert "".join(p.strip() for p in pieces) == url


def test_receipt_says_when_it_is_due_and_how_to_look_it_up() -> None:
    data = _receipt(due_date="2026-11-27")
    text = "\n".join(line for line, _ in _lines(data))
    assert "预计办结 Expected by: 2026-11-27" in text
    assert data.tracking_url in text and data.tracking_code in text and "后4位" in text
    accepted = "\n".join(line for line, _ in _lines(_receipt(due_date="2026-11-27", due_estimated=False)))
    assert "办结期限 Due by: 2026-11-27" in accepted and "预计" not in accepted
