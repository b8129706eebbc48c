"""A font with Chinese glyphs (中文字体) for images the app draws (receipts).

Pillow's built-in font has no CJK glyphs. We look for a CJK font bundled in assets/fonts/
first (an APK build should put one there), then the usual Debian/Android locations. If none
is found, images are drawn with the built-in font and the Chinese half of each line is left
out, so the English half stays readable (see docs/app.md).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

ASSET_FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/system/fonts/NotoSansCJK-Regular.ttc",  # Android
    "/system/fonts/NotoSansSC-Regular.otf",
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "C:/Windows/Fonts/msyh.ttc",  # Windows
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The first CJK font file found, or None."""
    bundled = sorted(ASSET_FONTS.glob("*.tt[fc]")) + sorted(ASSET_FONTS.glob("*.otf"))
    for candidate in [*bundled, *map(Path, SYSTEM_FONTS)]:
        if candidate.is_file():
            return candidate
    return None


def load_font(size: int) -> tuple[Font, bool]:
    """A font of `size` pixels and whether it draws Chinese."""
    path = cjk_font_path()
    if path is not None:
        return ImageFont.truetype(str(path), size), True
    return ImageFont.load_default(size=size), False


def latin_only(text: str) -> str:
    """Drops CJK characters (and the space they leave) for a font without them."""
    kept = "".join(ch for ch in text if ord(ch) < 0x2E80)
    return " ".join(kept.split())
