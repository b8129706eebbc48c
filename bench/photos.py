"""Big phone photos made on the spot, for the scan benchmark and the tests of big photos."""

from __future__ import annotations

import os
import random

from PIL import Image


def big_photo(path: str | os.PathLike[str], width: int, height: int, quality: int, seed: int = 1) -> int:
    """A phone-sized photo file of sensor-like noise (the worst case for JPEG), written to `path`.

    A 509-px noise tile repeated (prime, so it never lines up with the 8-px JPEG blocks) makes
    the file as big as real noise in a fraction of the time. 8000×6000 at quality 45 is
    ~18 MB, at 92 ~47 MB; 4000×3000 at 38 ~4 MB. Returns the file size.
    """
    rng = random.Random(seed)
    tile = Image.frombytes("RGB", (509, 509), rng.randbytes(509 * 509 * 3))
    image = Image.new("RGB", (width, height))
    for y in range(0, height, 509):
        for x in range(0, width, 509):
            image.paste(tile, (x, y))
    image.save(path, "JPEG", quality=quality)
    return os.path.getsize(path)
