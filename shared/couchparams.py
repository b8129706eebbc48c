"""CouchDB query parameters (查询参数) as the server wants them in a URL; pure, no I/O.

Booleans are `true`/`false`, lists and objects (`open_revs`) and the key parameters (`startkey`,
`key`, …, whatever their type) are JSON, `None` is left out, anything else (seqs: opaque strings
or numbers) is sent as it is. Used by both the device's replicator and the server's client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

JSON_KEYS = frozenset({"startkey", "endkey", "key", "start_key", "end_key"})


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The query string values of `params`; None when there is nothing to send."""
    if not params:
        return None
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, (list, dict)) or key in JSON_KEYS:
            encoded[key] = json.dumps(value, separators=(",", ":"))
        else:
            encoded[key] = str(value)
    return encoded
