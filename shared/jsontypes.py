"""The type of a JSON object as the code handles it: a CouchDB document, a request or response body."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
