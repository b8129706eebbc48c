"""The inline `_bulk_docs` body built with the base64 spliced in (ADR 0152) is the JSON of
`encode_inline`'s documents, whatever the documents hold."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from mobile.replication.multipart import encode_inline, inline_bulk_body


def _docs() -> list[dict[str, Any]]:
    return [
        {
            "_id": "case:1",
            "_rev": "3-c",
            "applicant": {"name": "张三", "note": 'quote " and \\ backslash'},
            "_attachments": {
                "front.jpg": {"content_type": "image/jpeg", "data": b"\xff\xd8\x00\x01" * 300},
                "back.png": {"content_type": "image/png", "data": bytes(7), "digest": "md5-x", "revpos": 2},
                "old.jpg": {"stub": True, "digest": "md5-y", "revpos": 1, "length": 3},
            },
        },
        {"_id": "case:2", "_rev": "1-a", "status": "submitted"},
    ]


def test_the_spliced_body_is_the_json_of_the_inline_documents() -> None:
    docs = _docs()
    body = json.loads(inline_bulk_body(docs))
    assert body == {"docs": [encode_inline(d) for d in docs], "new_edits": False}
    front = body["docs"][0]["_attachments"]["front.jpg"]
    assert front["revpos"] == 3 and front["digest"].startswith("md5-")  # as the source holds it


def test_a_document_holding_the_placeholder_itself_is_encoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs()
    docs[0]["applicant"]["note"] = "feedc0de"  # the placeholder a (forced) token would become
    monkeypatch.setattr(secrets, "token_hex", lambda n: "feedc0de")
    body = json.loads(inline_bulk_body(docs))
    assert body == {"docs": [encode_inline(d) for d in docs], "new_edits": False}
    assert body["docs"][0]["applicant"]["note"] == "feedc0de"
