"""Translations (多语言): user-facing strings by key, Chinese first with English second.

`assets/i18n/zh.json` and `en.json` map the same keys to text. Language "zh" shows
"下一步 Next" (Chinese, then English for staff and visitors who read only English);
"en" shows English only. A key missing from a file shows the other language, then the key,
so a forgotten translation is visible but never crashes a screen.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

I18N_DIR = Path(__file__).resolve().parents[2] / "assets" / "i18n"


@lru_cache(maxsize=4)
def _table(language: str) -> dict[str, str]:
    path = I18N_DIR / f"{language}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold one JSON object")
    return {str(k): str(v) for k, v in data.items()}


class Translator:
    """Looks up keys; `t("next")` → "下一步 Next" in "zh", "Next" in "en"."""

    def __init__(self, language: str = "zh") -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        zh = _table("zh").get(key)
        en = _table("en").get(key)
        if self.language == "en":
            text = en or zh or key
        elif zh and en and zh != en:
            text = f"{zh} {en}"
        else:
            text = zh or en or key
        return text.format(**values) if values else text

    def zh(self, key: str) -> str:
        return _table("zh").get(key, key)


def keys(language: str) -> set[str]:
    """All keys of one language file (a test checks both files have the same)."""
    return set(_table(language))
