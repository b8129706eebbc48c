"""Scan benchmark (材料扫描基准): one 12 MP phone photo of a document through the scan pipeline.

Run: `.venv/bin/python -m bench.scan [--runs 5]`. Not a test: it generates a 4000×3000 photo of
a printed page (text lines, paper tint, sensor noise — JPEG quality 92, as a phone saves it),
runs `mobile.services.scan.process_scan` on it `--runs` times and prints the median seconds per
photo, the stored JPEG and thumbnail sizes against the 200 KB budget, and the blur score.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time

from PIL import Image, ImageDraw, ImageFont

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
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


if __name__ == "__main__":
    main()
