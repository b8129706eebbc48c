"""JSON answers that survive any stored text (JSON 应答).

Starlette's `JSONResponse` writes UTF-8, which cannot carry a lone UTF-16 surrogate: JSON can
(`"\\ud800"`), and pouchdb-server stores what it is given, so data written before the gateway
refused such strings (ADR 0105), or straight into the engine, would turn an answer built from
it into a 500. This class answers the same bytes as Starlette's in every other case and, only
for such content, the same JSON with every non-ASCII character escaped.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse as _StarletteJSON


class JSONResponse(_StarletteJSON):
    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
            return text.encode("ascii")
