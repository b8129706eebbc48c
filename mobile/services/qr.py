"""QR codes (二维码): drawn with `qrcode`, read with zxing-cpp behind a small interface.

Reading stays behind `QrReader` because a zxing-cpp wheel for Android is unverified: an APK
build without it falls back to typing the code (see mobile/viewmodels/delivery.py).
"""

from __future__ import annotations

import io
from typing import Protocol

import qrcode
import qrcode.constants
from PIL import Image

from mobile.services.errors import QrError, ScanError
from mobile.services.scan import open_image

NO_READER = "本机无法识别二维码，请手动输入 This phone cannot read QR codes: type the code"
NOT_FOUND = (
    "没有识别到二维码，请靠近重拍或手动输入 No QR code found: move closer and retake, or type the code"
)


class QrReader(Protocol):
    """Reads the texts of the QR codes in a picture."""

    def read(self, data: bytes) -> list[str]: ...


def draw_qr(text: str, box_size: int = 10, border: int = 4) -> Image.Image:
    """The QR code of `text` as a Pillow image (error correction M survives a creased print)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L")


def qr_png(text: str, box_size: int = 10) -> bytes:
    """The QR code of `text` as PNG bytes, for the screen and attachments."""
    out = io.BytesIO()
    draw_qr(text, box_size=box_size).save(out, "PNG", optimize=True)
    return out.getvalue()


class ZxingReader:
    """QrReader on zxing-cpp; imported lazily so the app starts where the wheel is missing."""

    def read(self, data: bytes) -> list[str]:
        try:
            import zxingcpp
        except ImportError as error:  # pragma: no cover - depends on the platform build
            raise QrError(NO_READER) from error
        try:
            image = open_image(data)
        except ScanError as error:
            raise QrError(str(error)) from error
        results = zxingcpp.read_barcodes(
            image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
        return [result.text for result in results if result.valid]


def read_qr(data: bytes, reader: QrReader | None = None) -> str:
    """The text of the one QR code in the picture; QrError when there is none."""
    texts = (reader or ZxingReader()).read(data)
    if not texts:
        raise QrError(NOT_FOUND)
    return texts[0]
