"""A Chinese web font (网页中文字体) for the app in web mode.

Flutter's web renderer fetches fallback fonts for Chinese from a CDN; with `no_cdn` (needed
offline) it has none and draws boxes. So web mode serves its own font: a subset of the
machine's Noto Sans CJK SC (Debian `fonts-noto-cjk`) holding GB 2312 (6,763 characters:
names and the catalog) plus every character of the translations and the seed catalog,
about 1.5 MB instead of 19 MB. It is made once (≈20 s) into assets/fonts/ and reused.
Android builds draw Chinese with the system fonts and do not need it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FONT_FAMILY = "Noto Sans SC"
FILE_NAME = "NotoSansSC-subset.generated.otf"
SOURCES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf", "Noto Sans SC"),
)
# Marks the screens draw besides CJK: ✓ × ⚠ ↑ ↓ · and full-width punctuation.
_EXTRA = "✓×⚠↑↓·—…“”‘’、。，：；！？（）《》【】"


def _gb2312() -> set[int]:
    chars = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def _wanted(text_files: list[Path]) -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180)) | _gb2312() | {ord(c) for c in _EXTRA}
    for path in text_files:
        chars |= {ord(c) for c in path.read_text(encoding="utf-8") if ord(c) >= 0x80}
    return chars


def ensure_web_font(assets: Path) -> str | None:
    """The font's path relative to `assets` (made if missing), or None without a source font."""
    target = assets / "fonts" / FILE_NAME
    if target.is_file() and target.stat().st_size > 0:
        return f"fonts/{FILE_NAME}"
    source = next(((Path(p), name) for p, name in SOURCES if Path(p).is_file()), None)
    if source is None:
        log.warning("no CJK font found (install fonts-noto-cjk): Chinese shows as boxes in web mode")
        return None
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    path, family = source
    if path.suffix == ".ttc":
        names = [f["name"].getDebugName(1) for f in TTCollection(str(path), lazy=True).fonts]
        font = TTFont(str(path), fontNumber=names.index(family), lazy=True)
    else:
        font = TTFont(str(path), lazy=True)
    options = subset.Options()
    options.layout_features = ["kern", "palt", "vert"]
    options.name_IDs = [1, 2, 4, 6]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    texts = sorted((assets / "i18n").glob("*.json")) + sorted((assets / "catalog").glob("*.json"))
    subsetter.populate(unicodes=_wanted(texts))
    log.info("making the web font from %s (once)", path.name)
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it lists every glyph at INFO
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)
    return f"fonts/{FILE_NAME}"
