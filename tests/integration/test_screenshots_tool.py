"""`make screenshots` (tools/screenshots.py) without a browser: picture compression, the
sample scan, and stopping the stack with SIGINT like Ctrl-C. The browser run itself is
`make screenshots` (about 2 minutes), checked by a person looking at the pictures."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from tools.screenshots import MAX_BYTES, _stop, optimize, sample_scan


def test_optimize_keeps_the_size_and_makes_a_small_palette_png(tmp_path: Path) -> None:
    image = Image.new("RGB", (360, 760), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 360, 60), fill="#0B5CAD")
    for y in range(80, 740, 24):
        draw.text((12, y), "办件 Cases 查询码 Tracking code 0123-4567", fill="#111111")
    path = tmp_path / "screen.png"
    image.save(path)
    before = path.stat().st_size
    optimize(path)
    with Image.open(path) as small:
        assert small.size == (360, 760)
        assert small.mode == "P"
    assert path.stat().st_size <= before
    assert path.stat().st_size < MAX_BYTES


def test_sample_scan_is_a_jpeg_document() -> None:
    with Image.open(io.BytesIO(sample_scan(["居民身份证（样本）", "姓名 王秀英（样本）"]))) as scan:
        assert scan.format == "JPEG"
        assert scan.size == (640, 400)


def test_the_stack_is_stopped_with_sigint() -> None:
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGINT, lambda *_: sys.exit(7))\n"
             "print('ready', flush=True)\n"
             "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    _stop(proc)
    assert proc.returncode == 7  # its own SIGINT handler ran: a clean stop, not a kill
    proc.stdout.close()
