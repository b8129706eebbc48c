"""QR round trip, signature rendering and refusal, receipt image with Chinese text."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mobile.services.errors import QrError, SignatureError
from mobile.services.fonts import cjk_font_path, latin_only
from mobile.services.qr import qr_png, read_qr
from mobile.services.receipt import ReceiptData, render_receipt
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
    return ReceiptData(**values)  # type: ignore[arg-type]


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
