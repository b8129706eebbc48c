"""Signature (签名) rendering: finger strokes on the pad become a PNG attachment.

A stroke is the list of (x, y) points of one finger movement, in pad coordinates. The pad
refuses a signature with too little ink: a tap or a stray line is not a signature.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

from mobile.services.errors import SignatureError

Point = tuple[float, float]
Stroke = Sequence[Point]

# A Chinese name written with a finger spans a good part of the pad: ink shorter than this
# share of the pad width, or a bounding box narrower than MIN_SPAN, is a tap or a slip.
MIN_INK = 0.6
MIN_SPAN = 0.15
LINE_WIDTH = 4


def ink_length(strokes: Sequence[Stroke]) -> float:
    """Total drawn length over all strokes, in pad units."""
    return sum(math.dist(a, b) for stroke in strokes for a, b in itertools.pairwise(stroke))


def check_signature(strokes: Sequence[Stroke], width: float, height: float) -> None:
    """Raises SignatureError when the strokes are empty or too little to be a signature."""
    points = [p for stroke in strokes for p in stroke]
    if len(points) < 2:
        raise SignatureError("请签名 Please sign: the pad is empty")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    if ink_length(strokes) < MIN_INK * width or span < MIN_SPAN * min(width, height):
        raise SignatureError("签名太短，请清除后重签 The signature is too short: clear and sign again")


def render_signature(strokes: Sequence[Stroke], width: int, height: int) -> bytes:
    """Draws the strokes black on white and returns a compact grayscale PNG."""
    check_signature(strokes, width, height)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) == 1:
            points = points * 2
        draw.line(points, fill=0, width=LINE_WIDTH, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
