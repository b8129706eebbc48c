"""Small factories for gateway tests: documents and an authenticated client."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
from ulid import ULID

from shared.ids import case_id, event_id, material_id
from sync_server.couch import Couch

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(100)


def make_case(village: str, status: str = "draft", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": case_id(ULID()), "type": "case", "item_code": "DEMO-001", "situation": "first",
        "division": {"village": village, "township": village[:9], "county": village[:6]},
        "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": "13800000000"},
        "answers": {}, "materials": [], "missing": [], "status": status, "agent": "a",
        "created_at": "2026-11-24T06:30:00Z", "updated_at": "2026-11-24T06:30:00Z", "meta": {"fields": {}},
    }
    doc.update(overrides)
    return doc


def make_event(case: str, kind: str = "created", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": event_id(case, ULID()), "type": "event", "case_id": case, "kind": kind,
                           "by": "a", "role": "village_agent", "device": "d",
                           "device_time": "2026-11-24T06:30:00Z", "data": {}}
    doc.update(overrides)
    return doc


def make_material(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": material_id(ULID()), "type": "material", "kind": "hukou",
                           "owner_hash": hashlib.sha256(b"330212199001011234").hexdigest(),
                           "owner_masked": "330212********1234", "valid_until": None}
    doc.update(overrides)
    return doc


def attachment(data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base + "/sync", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def count_requests(couch: Couch, path_end: str) -> list[str]:
    """The paths of `couch`'s requests ending in `path_end` from now on (a list that grows): through
    its httpx client, and the look-ups through its aiohttp pool (`Couch.post_json`)."""
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        if request.url.path.endswith(path_end):
            seen.append(request.url.path)

    post_json = couch.post_json

    async def noted_post_json(path: str, body: Any, **kwargs: Any) -> Any:
        if path.endswith(path_end):
            seen.append(path)
        return await post_json(path, body, **kwargs)

    couch.client.event_hooks["request"].append(hook)
    setattr(couch, "post_json", noted_post_json)  # noqa: B010 - an instance attribute over the method
    return seen
