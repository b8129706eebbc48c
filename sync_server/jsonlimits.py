"""JSON limits (JSON 限制): nesting depth and string size of every JSON body the server reads.

    value = loads(raw)    # parsed, then the limits; ValueError when malformed as before

Limits real documents never reach (ADR 0104): a case nests 5 levels (`meta.fields.<field>.vv`),
a `_bulk_docs` body 2 more. A string is at most 1 MiB (a name, a note, a document id) except
the base64 `data` of an inline attachment (`_attachments.<name>.data`), which may reach 7 MiB:
the write rules cap the attachment itself at 5 MiB (4/3 of that in base64). All the other
strings of a body together are at most 8 MiB — CouchDB's own `max_document_size` for one
document, and a hundred cases are a few hundred KB. Deeper nesting is 400, longer strings
413 — never a `RecursionError` 500 (Python's parser gives up near 1,000 levels), and never a
30 MB "field" (or thirty 1 MiB ones) that sidesteps the attachment cap and makes every device
that pulls the document hold it in memory.

Parsing is orjson's, about twice as fast as the standard library's on a batch of cases
(ADR 0153), with the standard parser as the reference: whatever orjson refuses (a lone
surrogate escape, `NaN`, a number past a double, a UTF-16 body, nesting past 1,024) or may
read differently (an integer past 64 bits, which orjson reads as a float) is parsed again by
`json.loads`, so every body reads exactly as it did before. `NaN` and infinite numbers are
refused there: they are not JSON (RFC 8259), and no engine stores them.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from sync_server.errors import ApiError

MAX_DEPTH = 64  # nesting levels of objects and arrays
MAX_STRING = 1024 * 1024  # characters of any string or object key
MAX_INLINE_ATTACHMENT = 7 * 1024 * 1024  # characters of `_attachments.<name>.data` (base64)
MAX_TEXT = 8 * 1024 * 1024  # characters of all strings and keys of a body but inline attachment data
# orjson reads an integer past 64 bits as a float: any float this large may have been one.
INTEGER_AS_FLOAT = float(2**63)


def too_deep() -> ApiError:
    return ApiError(400, f"JSON 嵌套过深（上限 {MAX_DEPTH} 层）/ JSON nested deeper than {MAX_DEPTH} levels",
                    error="bad_request")


def too_long(limit: int, what: str = "a JSON string is") -> ApiError:
    return ApiError(413, f"JSON 字符串过长（上限 {limit // 1024} KiB）/ {what} longer than "
                    f"{limit // 1024} KiB: send files as attachments", error="request_entity_too_large")


def loads(raw: bytes | str) -> Any:
    """The JSON value of `raw` within the limits: ApiError past them, ValueError when malformed."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _reference_loads(raw)
    if check(value):  # a float that may have been a long integer: read it as the reference does
        return _reference_loads(raw)
    return value


def _reference_loads(raw: bytes | str) -> Any:
    try:
        value = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise too_deep() from None
    check(value)
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is past a double")
    return number


# What a container is, for the attachment exception: 0 anything, 1 an `_attachments` object,
# 2 one attachment (its `data` may be long).
_PLAIN, _ATTACHMENTS, _ATTACHMENT = 0, 1, 2


def check(value: Any) -> bool:
    """Raise ApiError when `value` nests deeper than MAX_DEPTH or holds strings past their limits.

    True when it holds a float of at least `INTEGER_AS_FLOAT` in magnitude."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise too_long(MAX_STRING)
        return False
    if isinstance(value, float):
        return abs(value) >= INTEGER_AS_FLOAT
    text = 0
    large = False
    stack: list[tuple[Any, int, int]] = [(value, 1, _PLAIN)]
    while stack:
        node, depth, kind = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep()
        if isinstance(node, dict):
            for key, item in node.items():
                text += len(key)
                if len(key) > MAX_STRING:
                    raise too_long(MAX_STRING)
                if isinstance(item, str):
                    if kind == _ATTACHMENT and key == "data":
                        if len(item) > MAX_INLINE_ATTACHMENT:
                            raise too_long(MAX_INLINE_ATTACHMENT)
                        continue
                    text += len(item)
                    if len(item) > MAX_STRING:
                        raise too_long(MAX_STRING)
                elif isinstance(item, (dict, list)):
                    inner = (_ATTACHMENTS if key == "_attachments" and kind == _PLAIN else
                             _ATTACHMENT if kind == _ATTACHMENTS else _PLAIN)
                    stack.append((item, depth + 1, inner))
                elif isinstance(item, float) and abs(item) >= INTEGER_AS_FLOAT:
                    large = True
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str):
                    text += len(item)
                    if len(item) > MAX_STRING:
                        raise too_long(MAX_STRING)
                elif isinstance(item, (dict, list)):
                    stack.append((item, depth + 1, _PLAIN))
                elif isinstance(item, float) and abs(item) >= INTEGER_AS_FLOAT:
                    large = True
        if text > MAX_TEXT:
            raise too_long(MAX_TEXT, "the text of this body is")
    return large
