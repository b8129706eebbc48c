"""Big phone photos (issue 17): 12–108 MP JPEG files up to ~47 MB go through the scan pipeline
from a file path, scaled while decoding, and what is not a picture is refused clearly."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from mobile.services.errors import ScanError
from mobile.services.scan import BYTE_BUDGET, MAX_EDGE, open_image, process_scan
from tests.unit.mobile.images import big_photo, jpeg_bytes, text_page

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def photo_48mp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8000×6000 photo of ~18 MB, the size the issue reports as dead."""
    path = tmp_path_factory.mktemp("big") / "IMG_48MP.jpg"
    assert big_photo(path, 8000, 6000, quality=45) > 15_000_000
    return path


@pytest.mark.parametrize(("width", "height", "quality"), [(4000, 3000, 38), (6000, 8000, 60)])
def test_phone_photos_from_a_file_fit_the_budget(
    tmp_path: Path, width: int, height: int, quality: int
) -> None:
    path = tmp_path / "photo.jpg"
    big_photo(path, width, height, quality)
    scan = process_scan(path)
    assert len(scan.jpeg) <= BYTE_BUDGET
    assert max(scan.width, scan.height) <= MAX_EDGE
    stored = Image.open(io.BytesIO(scan.jpeg))
    assert stored.format == "JPEG" and (stored.width > stored.height) == (width > height)


def test_a_48_mp_jpeg_is_scaled_while_decoding(photo_48mp: Path) -> None:
    """DCT scaling: the decoder hands over 2,000 × 1,500, never the 48 MP picture (144 MB)."""
    image = open_image(photo_48mp, draft_edge=MAX_EDGE)
    assert image.size == (2000, 1500)


def test_the_file_is_never_read_into_memory_whole(photo_48mp: Path) -> None:
    """From a path, Python never holds the file's bytes: the decoder reads it in blocks."""
    size = photo_48mp.stat().st_size
    tracemalloc.start()
    try:
        process_scan(photo_48mp)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size // 2, (peak, size)  # ~5 MB here: encoded tries and decoder blocks


_RSS_CHILD = """
import json, sys
from mobile.services.scan import process_scan

def peak_kb():  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's across exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1])

before = peak_kb()
scan = process_scan(sys.argv[1])
print(json.dumps({"growth_kb": peak_kb() - before, "jpeg": len(scan.jpeg)}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_peak_memory_stays_below_one_full_size_decode(photo_48mp: Path) -> None:
    """The process's peak memory (Pillow's C buffers included, which tracemalloc cannot see)
    grows by less than a quarter of what the picture decoded at full size would take: ~26 MB
    here, the same for a 4 MB or a 47 MB file (bench/scan.py)."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(photo_48mp)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    growth = json.loads(done.stdout)["growth_kb"] * 1024
    assert growth > 0  # it did measure something (the drafted picture alone is 9 MB)
    full_decode = 8000 * 6000 * 3
    assert growth < full_decode // 4, growth


def test_a_108_mp_photo_is_not_mistaken_for_a_bomb(tmp_path: Path) -> None:
    """Pillow's own bomb guard refuses above 179 MP and warns above 89 MP: a 108 MP phone
    photo must pass, only our 200 MP bound applies."""
    path = tmp_path / "IMG_108MP.jpg"
    page = Image.new("L", (12000, 9000), 225)
    page.paste(text_page(3000, 2000).convert("L"), (4000, 3000))
    page.save(path, "JPEG", quality=80)
    del page
    scan = process_scan(path)
    assert len(scan.jpeg) <= BYTE_BUDGET and max(scan.width, scan.height) <= MAX_EDGE
    assert scan.width > scan.height


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims `width` × `height`."""
    data = bytearray(jpeg_bytes(Image.new("RGB", (64, 64), (90, 90, 90))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.jpg", b"", "空"),
        ("form.pdf", b"%PDF-1.7\n" + os.urandom(200_000), "不是图片"),
        ("noise.jpg", os.urandom(300_000), "不是图片"),
        ("bomb.jpg", _jpeg_claiming(20_000, 15_000), "太大"),
    ],
)
def test_files_that_are_not_pictures_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScanError, match=words) as info:
        process_scan(path)
    assert any("\u4e00" <= c <= "\u9fff" for c in str(info.value)) and any(c.isascii() and c.isalpha()
                                                                           for c in str(info.value))


def test_a_truncated_big_photo_is_refused_as_damaged(photo_48mp: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    with photo_48mp.open("rb") as source, cut.open("wb") as target:
        target.write(source.read(photo_48mp.stat().st_size // 3))
    with pytest.raises(ScanError, match="不完整"):
        process_scan(cut)


def test_a_file_gone_before_processing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="不完整"):
        process_scan(tmp_path / "gone.jpg")
