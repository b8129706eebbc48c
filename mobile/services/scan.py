"""Scan pipeline (材料扫描): a phone photo of a document becomes a compact, clean JPEG.

Steps: refuse what is not a sane image → EXIF orientation → downscale → document
enhancement (grayscale, contrast, sharpen) or photo mode → blur score → JPEG within a byte
budget, metadata (EXIF, GPS) dropped by re-encoding → thumbnail.

Bytes are the scarce resource in a village, so the budget is a hard bound: quality steps
down, then the size, until the JPEG fits.

Phone photos reach 48–200 MP and 50 MB. The pipeline takes a file path as well as bytes: from a
path the decoder reads the file in small blocks, so the file's bytes are never all in memory,
and a JPEG is scaled down while it is decoded (`Image.draft`: DCT scaling by 1/2…1/8), so a
48 MP photo never exists at full size in memory either (ADR 0119).
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from mobile.services.errors import ScanError

# Long edge of a stored scan: an A4 page at ~2,000 px keeps 10-pt print legible.
MAX_EDGE = 2000
# 12 MP phone photos must land at or below this (issue 6).
BYTE_BUDGET = 200_000
THUMB_EDGE = 320
# Larger than any phone camera (a 200 MP sensor is 16,320 × 12,240); beyond it we refuse
# instead of decoding: a decompression bomb is a small file that inflates to gigabytes.
MAX_PIXELS = 200_000_000
# Formats other than JPEG cannot be scaled while decoding: they are decoded at full size
# (3 bytes a pixel), so they get a lower bound. No phone camera saves PNG or WebP photos;
# 50 MP covers any screenshot or scanner page and costs at most 150 MB while decoding.
MAX_FULL_DECODE_PIXELS = 50_000_000
# Blur is measured on a fixed-size copy so that the score does not depend on resolution.
BLUR_EDGE = 1000
# Variance of the Laplacian below which we ask for a retake. Tuned on generated text pages
# (tests/unit/mobile/images.py, A4 at 300 dpi): sharp pages score ~2,500–2,900, a Gaussian
# blur of radius 2 ~1,400 (still legible), radius 4 ~150 and radius 6 ~70 (unreadable small print).
BLUR_THRESHOLD = 300.0
_PAPER = 200
_WHITEN = [value if value < _PAPER else 255 for value in range(256)]
_QUALITIES = (80, 70, 60, 50, 40)
EMPTY = "文件是空的，请重新拍照 The file is empty: take the photo again"
NOT_AN_IMAGE = "这不是图片文件，请拍照或选择照片 Not a picture: take a photo or pick an image"
TOO_LARGE = "图片太大，无法处理 The picture is too large to process: take a normal photo"
DAMAGED = "图片文件不完整，请重新拍照 The picture is damaged or incomplete: take it again"
# Pillow warns above 89 MP and refuses above 179 MP; our own bound above is the one that
# matters, so Pillow's is raised to it (otherwise a 108 MP or 200 MP phone photo is refused).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)


class ScanMode(StrEnum):
    """Document pages are enhanced in grayscale; photos (e.g. of a house) keep colour."""

    DOCUMENT = "document"
    PHOTO = "photo"


@dataclass(frozen=True)
class Scan:
    """The result of the pipeline: the stored JPEG, its thumbnail and the blur verdict."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    blur_score: float
    blurry: bool

    content_type: str = "image/jpeg"


# What the pipeline reads: the bytes of a photo, or the path of a file holding them.
ScanSource = bytes | os.PathLike[str] | str


def open_image(source: ScanSource, draft_edge: int | None = None) -> Image.Image:
    """Opens and fully decodes `source`, refusing non-images, truncated files and bombs.

    `draft_edge` lets the JPEG decoder scale down by 1/2…1/8 while decoding (a 48 MP photo
    decodes at 1/4 its size and memory) as long as the long edge stays at least that large.
    A path is read in blocks by the decoder and closed once the pixels are decoded.
    """
    if isinstance(source, bytes):
        if not source:
            raise ScanError(EMPTY)
        stream: BinaryIO = io.BytesIO(source)
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below, after the decoding
        except OSError as error:
            raise ScanError(DAMAGED) from error
    with stream:
        if not stream.read(1):
            raise ScanError(EMPTY)
        stream.seek(0)
        return _decode(stream, draft_edge)


def _decode(stream: BinaryIO, draft_edge: int | None) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream)
            width, height = image.size
            limit = MAX_PIXELS if image.format in ("JPEG", "MPO") else MAX_FULL_DECODE_PIXELS
            if width * height > limit:
                raise ScanError(TOO_LARGE)
            if draft_edge is not None and image.format in ("JPEG", "MPO"):
                scale = draft_edge / max(width, height)
                image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            image.load()
        except ScanError:
            raise
        except UnidentifiedImageError as error:
            raise ScanError(NOT_AN_IMAGE) from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ScanError(TOO_LARGE) from error
        except (OSError, SyntaxError, ValueError) as error:
            raise ScanError(DAMAGED) from error
    return image


def blur_score(image: Image.Image) -> float:
    """Variance of the Laplacian of a grayscale copy: low means blurred (模糊)."""
    gray = image.convert("L")
    gray.thumbnail((BLUR_EDGE, BLUR_EDGE), Image.Resampling.BILINEAR)
    edges = gray.filter(_LAPLACIAN)
    return float(ImageStat.Stat(edges).var[0])


def process_scan(
    source: ScanSource,
    mode: ScanMode = ScanMode.DOCUMENT,
    *,
    max_edge: int = MAX_EDGE,
    byte_budget: int = BYTE_BUDGET,
) -> Scan:
    """Runs the whole pipeline on the bytes or the file of a photo or picked file."""
    image = open_image(source, draft_edge=max_edge)
    image = ImageOps.exif_transpose(image)
    image = _downscale(image.convert("RGB"), max_edge)
    score = blur_score(image)
    image = _enhance(image) if mode is ScanMode.DOCUMENT else image
    jpeg = _encode_within(image, byte_budget)
    thumb = image.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    stored = Image.open(io.BytesIO(jpeg))
    return Scan(
        jpeg=jpeg,
        thumbnail=_encode(thumb, 60),
        width=stored.width,
        height=stored.height,
        blur_score=score,
        blurry=score < BLUR_THRESHOLD,
    )


def _downscale(image: Image.Image, max_edge: int) -> Image.Image:
    if max(image.size) > max_edge:
        image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    return image


def _enhance(image: Image.Image) -> Image.Image:
    # Grayscale halves nothing in JPEG but removes colour noise; autocontrast whitens the
    # paper under a village lamp; the unsharp mask brings back the strokes downscaling softened.
    # Paper lighter than _PAPER after stretching becomes pure white: its texture and sensor
    # noise are what JPEG spends most bytes on in a document photo.
    gray = ImageOps.autocontrast(image.convert("L"), cutoff=1)
    gray = gray.filter(ImageFilter.UnsharpMask(radius=2, percent=80, threshold=3))
    return gray.point(_WHITEN)


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No `exif=` argument: the re-encoded file carries no EXIF block, so no GPS position.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _encode_within(image: Image.Image, byte_budget: int) -> bytes:
    """The best quality that fits; when even the lowest does not, a smaller picture.

    Each encode of a 2,000-px picture costs ~0.3 s, so the qualities are bisected (the first
    one tried is the best: most documents fit at once) and the size is cut by the estimated
    factor rather than by fixed steps: a noisy 48 MP photo took 5.6 s here, now ~1.5 s.
    """
    while True:
        best = _encode(image, _QUALITIES[0])
        if len(best) <= byte_budget:
            return best
        worst = _encode(image, _QUALITIES[-1])
        if len(worst) <= byte_budget:
            return _bisect_quality(image, byte_budget, worst)
        if max(image.size) < 200:
            return worst
        # JPEG size grows about with the pixel count: shrink the area by the overshoot (with 10 %
        # to spare), but at least by ¾ a side so that the loop surely ends, at most by half.
        scale = min(0.75, max(0.5, math.sqrt(byte_budget / len(worst)) * 0.95))
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)


def _bisect_quality(image: Image.Image, byte_budget: int, fits: bytes) -> bytes:
    """The highest of _QUALITIES[1:-1] that fits, else `fits` (the lowest quality)."""
    low, high = 0, len(_QUALITIES) - 2  # candidates _QUALITIES[1 : -1], best first
    best = fits
    while low < high:
        middle = (low + high) // 2
        jpeg = _encode(image, _QUALITIES[1 + middle])
        if len(jpeg) <= byte_budget:
            best, high = jpeg, middle
        else:
            low = middle + 1
    return best
