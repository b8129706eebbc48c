"""Generated test pictures: text pages (sharp or blurred), photos with EXIF and GPS, hostile files."""

from __future__ import annotations

import functools
import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.photos import big_photo

__all__ = ["big_photo", "exif_with_gps", "jpeg_bytes", "noisy_photo", "text_page"]

WORDS = [
    "申请",
    "材料",
    "身份证",
    "户口",
    "低保",
    "救助",
    "OneTrip",
    "village",
    "agent",
    "township",
    "county",
    "receipt",
    "2026",
]


def text_page(width: int = 2480, height: int = 3508, seed: int = 1, blur: float = 0.0) -> Image.Image:
    """A printed page (A4 at 300 dpi by default) of random words, optionally blurred."""
    return _text_page(width, height, seed, blur).copy()


@functools.lru_cache(maxsize=16)
def _text_page(width: int, height: int, seed: int, blur: float) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (236, 232, 222))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, height // 80))
    y = height // 20
    while y < height - height // 20:
        line = " ".join(rng.choice(WORDS[6:]) for _ in range(12))
        draw.text((width // 15, y), line, fill=(25, 25, 30), font=font)
        y += height // 50
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return image


def noisy_photo(width: int = 4000, height: int = 3000, seed: int = 2) -> Image.Image:
    """A 12 MP camera-like photo: a text page with sensor noise, hard for JPEG."""
    page = text_page(width, height, seed=seed)
    noise = Image.effect_noise((width, height), 18).convert("RGB")
    return Image.blend(page, noise, 0.12)


def jpeg_bytes(image: Image.Image, quality: int = 92, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    if exif is None:
        image.save(out, "JPEG", quality=quality)
    else:
        image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF with an orientation tag and a GPS position (a village in Ningbo)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (29.0, 52.0, 1.0), 3: "E", 4: (121.0, 33.0, 2.0)}
    return exif
