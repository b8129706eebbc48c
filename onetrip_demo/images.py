"""Sample material images (样本材料图片) for the demo township, drawn with Pillow.

Document-like pictures — a household register page, an ID card front, a bank card, a
disability assessment, a blank form — each stamped 样本 / SAMPLE across its face, so no
one mistakes a screenshot for a real person's papers. The names and numbers drawn are the
demo's generated ones (already marked as samples). Deterministic: the same arguments give
the same bytes, so a seeded demo is reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/share/fonts/opentype"), Path("/usr/share/fonts/truetype"))
FONT_NAMES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
# A phone scan after the app's pipeline is a few hundred pixels wide; small keeps the demo fast.
SIZE = (480, 320)
THUMB = 160
JPEG_QUALITY = 70

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Person:
    """What a sample document shows of its owner (already sample-marked)."""

    name: str
    id_masked: str
    birth: str  # "1950-03-07"
    address: str


@cache
def font(size: int) -> Font:
    """Noto CJK when installed, else Pillow's default font (CJK then draws as boxes)."""
    for folder in FONT_DIRS:
        for name in FONT_NAMES:
            path = folder / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default()


def _canvas(colour: tuple[int, int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", SIZE, colour)
    return image, ImageDraw.Draw(image)


@cache
def _mark() -> Image.Image:
    overlay = Image.new("RGBA", (SIZE[0] * 2, SIZE[1] // 2), (0, 0, 0, 0))
    ImageDraw.Draw(overlay).text((SIZE[0] // 2, 10), "样本 SAMPLE", fill=(220, 30, 30, 150), font=font(64))
    return overlay.rotate(20, expand=True)


def _stamp(image: Image.Image) -> Image.Image:
    """The diagonal red 样本 SAMPLE mark over the whole face."""
    rotated = _mark()
    base = image.convert("RGBA")
    base.alpha_composite(rotated, (-SIZE[0] // 2, SIZE[1] // 2 - rotated.height // 2))
    return base.convert("RGB")


def _lines(draw: ImageDraw.ImageDraw, rows: list[str], top: int, left: int = 24, size: int = 20) -> None:
    for n, row in enumerate(rows):
        draw.text((left, top + n * (size + 12)), row, fill=(30, 30, 30), font=font(size))


def id_card(person: Person) -> Image.Image:
    image, draw = _canvas((236, 242, 248))
    draw.rounded_rectangle((8, 8, SIZE[0] - 8, SIZE[1] - 8), radius=18, outline=(120, 150, 190), width=3)
    draw.rectangle((340, 60, 450, 200), fill=(200, 210, 225))
    draw.text((360, 120), "照片", fill=(120, 130, 150), font=font(22))
    _lines(draw, [f"姓名 {person.name}", f"出生 {person.birth}", f"住址 {person.address}",
                  f"公民身份号码 {person.id_masked}"], 40, size=18)
    return _stamp(image)


def hukou(person: Person) -> Image.Image:
    image, draw = _canvas((250, 246, 232))
    draw.text((150, 14), "居民户口簿 · 常住人口登记卡", fill=(120, 60, 20), font=font(20))
    for y in range(60, SIZE[1] - 20, 40):
        draw.line((16, y, SIZE[0] - 16, y), fill=(200, 170, 130))
    _lines(draw, [f"姓名 {person.name}", "户主或与户主关系 户主", f"出生日期 {person.birth}",
                  f"住址 {person.address}", f"公民身份号码 {person.id_masked}"], 68, size=18)
    return _stamp(image)


def bank_card(person: Person) -> Image.Image:
    image, draw = _canvas((30, 90, 150))
    draw.rounded_rectangle((8, 8, SIZE[0] - 8, SIZE[1] - 8), radius=24, outline=(200, 220, 255), width=3)
    draw.text((28, 24), "示范农商银行 DEMO BANK", fill=(255, 255, 255), font=font(22))
    draw.rectangle((40, 100, 110, 150), fill=(220, 190, 90))
    draw.text((40, 180), "6200 0000 0000 0000", fill=(255, 255, 255), font=font(30))
    draw.text((40, 240), person.name, fill=(255, 255, 255), font=font(22))
    return _stamp(image)


def assessment(person: Person) -> Image.Image:
    image, draw = _canvas((255, 255, 255))
    draw.text((110, 14), "残疾评定表（样本）", fill=(20, 20, 20), font=font(24))
    _lines(draw, [f"申请人 {person.name}", f"身份证号 {person.id_masked}", "残疾类别 肢体  等级 三级",
                  "评定医院 示范县人民医院", "评定医师 （签名）"], 64, size=18)
    draw.rectangle((330, 220, 450, 300), outline=(200, 40, 40), width=3)
    return _stamp(image)


def form(title: str) -> Image.Image:
    """Any other paper: a titled form with ruled lines, the same for everyone.

    Forms carry no name on purpose: identical bytes are stored and pulled once (the local
    store is content-addressed), which keeps the demo's sync short.
    """
    image, draw = _canvas((252, 252, 250))
    draw.text((24, 14), title[:22], fill=(20, 20, 20), font=font(22))
    for y in range(70, SIZE[1] - 30, 34):
        draw.line((24, y, SIZE[0] - 24, y), fill=(190, 190, 190))
    _lines(draw, ["申请人 ________", "身份证号 ________", "日期 ____年__月__日"], 76, size=18)
    return _stamp(image)


DRAWN = {"id_card": id_card, "hukou": hukou, "bank_card": bank_card, "disability_cert": assessment,
         "assessment": assessment}


def material_image(kind: str, title: str, person: Person) -> tuple[bytes, bytes]:
    """The scan (JPEG) and its thumbnail for a material of `kind` owned by `person`."""
    drawer = DRAWN.get(kind)
    return _encoded(drawer(person)) if drawer is not None else _form_files(title)


@cache
def _form_files(title: str) -> tuple[bytes, bytes]:
    return _encoded(form(title))


def _encoded(image: Image.Image) -> tuple[bytes, bytes]:
    thumb = image.resize((THUMB, THUMB * SIZE[1] // SIZE[0]), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return _jpeg(image), _jpeg(thumb)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
