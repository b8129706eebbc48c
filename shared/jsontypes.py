"""The type of a JSON object as the code handles it: a CouchDB document, a request or response body."""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8_encodable(text: str) -> bool:
    """False when `text` holds half of a UTF-16 pair: JSON can escape it (`"\\ud800"`), UTF-8
    cannot carry it — so neither SQLite nor an HTTP answer can store it."""
    return text.isascii() or _LONE_SURROGATE.search(text) is None
