"""Request bodies (请求体): size caps, gzip decoding with a decompressed cap, spooling.

A body is refused with 413 as soon as it passes its cap — before it is read whole when
`Content-Length` says so, else while it streams — and a gzipped body is capped after
decompression too, so a small zip bomb cannot expand into memory.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import AsyncIterator
from typing import IO, Any

from starlette.requests import Request

from sync_server import jsonlimits
from sync_server.errors import ApiError

MAX_REQUEST = 32 * 1024 * 1024  # bytes: a batch of documents, or one document with its scans
MAX_SMALL = 1024 * 1024  # bytes: _revs_diff, _bulk_get, _changes doc_ids, _local checkpoints
SPOOL_IN_MEMORY = 1024 * 1024  # bytes of a multipart body kept in memory before going to disk


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"请求过大（上限 {limit // (1024 * 1024)} MB）/ request body larger than "
                    f"{limit // (1024 * 1024)} MB: send smaller batches", error="request_entity_too_large")


async def decoded_chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body, gunzipped when `Content-Encoding: gzip`, raising 413 past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise ApiError(415, f"不支持的压缩方式 / unsupported Content-Encoding {encoding!r}")
    gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    received = produced = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        if gunzip is None:
            produced += len(chunk)
            yield chunk
            continue
        try:
            out = gunzip.decompress(chunk, limit - produced + 1)
        except zlib.error:
            raise ApiError(400, "gzip 数据损坏 / corrupt gzip body") from None
        produced += len(out)
        if produced > limit or gunzip.unconsumed_tail:
            raise too_large(limit)
        if out:
            yield out
    if gunzip is not None and not gunzip.eof:
        raise ApiError(400, "gzip 数据不完整 / truncated gzip body")


async def read_bytes(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in decoded_chunks(request, limit):
        body += chunk
    return bytes(body)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request, limit: int) -> Any:
    """A JSON body (`Content-Type: application/json`), 400 when malformed."""
    if media_type(request) != "application/json":
        raise ApiError(415, "需要 application/json / Content-Type must be application/json",
                       error="bad_content_type")
    raw = await read_bytes(request, limit)
    try:
        return jsonlimits.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "JSON 格式错误 / the body is not valid JSON", error="bad_request") from None


async def spool(request: Request, limit: int) -> IO[bytes]:
    """The decoded body in a temporary file (in memory up to 1 MB), rewound."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - caller closes
    try:
        async for chunk in decoded_chunks(request, limit):
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file
