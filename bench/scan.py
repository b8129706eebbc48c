"""Scan benchmark (材料扫描基准): one 12 MP phone photo of a document through the scan pipeline.

Run: `.venv/bin/python -m bench.scan [--runs 5]`. Not a test: it generates a 4000×3000 photo of
a printed page (text lines, paper tint, sensor noise — JPEG quality 92, as a phone saves it),
runs `mobile.services.scan.process_scan` on it `--runs` times and prints the median seconds per
photo, the stored JPEG and thumbnail sizes against the 200 KB budget, and the blur score.

Then big phone photos (issue 17): ~4, ~18 and ~47 MB JPEG files of sensor noise (the worst case
for JPEG) at 12 and 48 MP, each processed in a fresh process so that its peak memory
(`VmHWM`, Pillow's C buffers included) is its own: from bytes read whole, as the app did
before, and from the file's path, as it does now. Printed: seconds, peak memory growth, and
the ratio bytes ÷ path.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

from PIL import Image, ImageDraw, ImageFont

from bench.photos import big_photo
from mobile.services.scan import BYTE_BUDGET, ScanMode, process_scan

WIDTH, HEIGHT = 4000, 3000
WORDS = ("申请人", "身份证", "户口簿", "残疾人证", "村民委员会", "乡镇人民政府", "OneTrip", "2026", "No.",
         "application", "household", "address", "signature", "approved", "材料", "一次性告知")


def document_photo(seed: int = 12) -> bytes:
    """A phone photo (12 MP, JPEG quality 92) of a printed page lying on a desk."""
    rng = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT), (118, 96, 74))  # the desk around the page
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = 380, 160, WIDTH - 420, HEIGHT - 140
    draw.rectangle((left, top, right, bottom), fill=(236, 232, 222))
    font = ImageFont.load_default(size=44)
    title = ImageFont.load_default(size=80)
    draw.text((left + 240, top + 90), "OneTrip Application Form 2026", fill=(20, 20, 25), font=title)
    y = top + 260
    while y < bottom - 120:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11)))
        draw.text((left + 140, y), line, fill=(25, 25, 30), font=font)
        y += 74
    noise = Image.effect_noise((WIDTH, HEIGHT), 18).convert("RGB")
    photo = Image.blend(image, noise, 0.10)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92)
    return out.getvalue()


# name → (width, height, JPEG quality) of a noise photo of about that many megabytes.
BIG = {"4 MB 12 MP": (4000, 3000, 38), "18 MB 48 MP": (8000, 6000, 45), "47 MB 48 MP": (8000, 6000, 92)}
_CHILD = """
import json, sys, time
from pathlib import Path
from mobile.services.scan import process_scan

def peak_kb():  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's across exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1])

path, how = Path(sys.argv[1]), sys.argv[2]
before = peak_kb()
started = time.perf_counter()
scan = process_scan(path.read_bytes() if how == "bytes" else path)
seconds = time.perf_counter() - started
growth = peak_kb() - before
print(json.dumps({"seconds": seconds, "mb": growth / 1024, "kb": len(scan.jpeg) / 1000,
                  "size": [scan.width, scan.height]}))
"""


class Measured(TypedDict):
    """What the child process prints: seconds, peak memory growth, stored size."""

    seconds: float
    mb: float
    kb: float
    size: list[int]


def measure(path: Path, how: str) -> Measured:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), how],
                          capture_output=True, text=True, check=True)
    result: Measured = json.loads(done.stdout)
    return result


def big_photos() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, (width, height, quality) in BIG.items():
            path = Path(folder) / "photo.jpg"
            big_photo(path, width, height, quality)
            whole, streamed = measure(path, "bytes"), measure(path, "path")
            print(f"{name:12s} ({path.stat().st_size / 1e6:.1f} MB, {width}×{height}): "
                  f"bytes {whole['seconds']:.2f} s +{whole['mb']:.0f} MB | "
                  f"path {streamed['seconds']:.2f} s +{streamed['mb']:.0f} MB | "
                  f"memory bytes ÷ path {whole['mb'] / max(streamed['mb'], 1):.2f}; "
                  f"stored {streamed['size'][0]}×{streamed['size'][1]} {streamed['kb']:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-big", action="store_true", help="skip the big phone photos")
    args = parser.parse_args()
    photo = document_photo()
    print(f"input: {WIDTH}×{HEIGHT} JPEG q92, {len(photo) / 1e6:.2f} MB")
    for mode in (ScanMode.DOCUMENT, ScanMode.PHOTO):
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            scan = process_scan(photo, mode)
            times.append(time.perf_counter() - started)
        print(f"{mode.value:8s} median {statistics.median(times):.2f} s/photo "
              f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs); "
              f"stored {scan.width}×{scan.height} {len(scan.jpeg) / 1000:.0f} KB "
              f"(budget {BYTE_BUDGET / 1000:.0f} KB), thumbnail {len(scan.thumbnail) / 1000:.1f} KB, "
              f"blur score {scan.blur_score:.0f}{' (retake)' if scan.blurry else ''}")
    if not args.no_big:
        big_photos()


if __name__ == "__main__":
    main()
