"""Scan pipeline on generated pictures: size budget, orientation, blur, metadata, hostile files."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from mobile.services.errors import ScanError
from mobile.services.scan import BYTE_BUDGET, MAX_EDGE, ScanMode, blur_score, process_scan
from tests.unit.mobile.images import exif_with_gps, jpeg_bytes, noisy_photo, text_page


def test_twelve_megapixel_photo_fits_the_byte_budget() -> None:
    data = jpeg_bytes(noisy_photo(4000, 3000))
    scan = process_scan(data)
    assert len(data) > 1_000_000
    assert len(scan.jpeg) <= BYTE_BUDGET
    assert max(scan.width, scan.height) <= MAX_EDGE
    assert len(scan.thumbnail) < 20_000
    assert Image.open(io.BytesIO(scan.jpeg)).format == "JPEG"


def test_small_page_keeps_its_size() -> None:
    scan = process_scan(jpeg_bytes(text_page(800, 1100)))
    assert (scan.width, scan.height) == (800, 1100)


@pytest.mark.parametrize("blur", [0, 1])
def test_sharp_pages_pass(blur: float) -> None:
    assert not process_scan(jpeg_bytes(text_page(blur=blur))).blurry


@pytest.mark.parametrize("blur", [4, 6])
def test_blurred_pages_ask_for_a_retake(blur: float) -> None:
    scan = process_scan(jpeg_bytes(text_page(blur=blur)))
    assert scan.blurry


def test_blur_score_orders_sharp_above_blurred() -> None:
    scores = [blur_score(text_page(1240, 1754, blur=b)) for b in (0, 1, 2, 4)]
    assert scores == sorted(scores, reverse=True)


def test_exif_orientation_is_applied_and_gps_stripped() -> None:
    # A landscape sensor image tagged "rotate 90° CW" (orientation 6) is a portrait page.
    data = jpeg_bytes(text_page(1200, 900), exif=exif_with_gps(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825) is not None
    scan = process_scan(data)
    stored = Image.open(io.BytesIO(scan.jpeg))
    assert (stored.width, stored.height) == (900, 1200)
    assert len(stored.getexif()) == 0
    assert b"PhoneMaker" not in scan.jpeg and b"Exif" not in scan.jpeg
    assert b"Exif" not in scan.thumbnail


def test_document_mode_is_grayscale_and_photo_mode_keeps_colour() -> None:
    data = jpeg_bytes(Image.new("RGB", (600, 400), (200, 30, 30)))
    assert Image.open(io.BytesIO(process_scan(data).jpeg)).mode == "L"
    assert Image.open(io.BytesIO(process_scan(data, ScanMode.PHOTO).jpeg)).mode == "RGB"


def test_png_and_webp_inputs_are_accepted() -> None:
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        text_page(600, 800).save(out, fmt)
        assert process_scan(out.getvalue()).width == 600


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "空"),
        (b"%PDF-1.4 not a picture", "不是图片"),
        (b"hello world" * 100, "不是图片"),
    ],
)
def test_non_images_are_refused_clearly(data: bytes, words: str) -> None:
    with pytest.raises(ScanError, match=words):
        process_scan(data)


def test_truncated_file_is_refused() -> None:
    data = jpeg_bytes(text_page(800, 1000))
    with pytest.raises(ScanError, match="不完整"):
        process_scan(data[: len(data) // 2])


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG claiming a huge size: a decompression bomb's front."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_without_decoding() -> None:
    with pytest.raises(ScanError, match="太大"):
        process_scan(_png_header_only(60_000, 60_000))


def test_error_messages_are_bilingual() -> None:
    with pytest.raises(ScanError) as info:
        process_scan(b"junk")
    message = str(info.value)
    assert "图片" in message and "picture" in message
