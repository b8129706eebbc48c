"""Item forms end to end: load-form and export-form on the real engine, the gateway's refusals.

Each shipped form is loaded into ot-catalog (idempotent: the same workbook gives the same
version), then a valid and a broken filling of each is pushed through the gateway by an agent.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from onetrip_demo.answers import FORM_ITEMS, FORM_VERSION, sample_answers
from sync_server.catalog_store import SEED_CATALOG, load_catalog_file
from sync_server.couch import Couch
from sync_server.forms.store import (
    FORMS_DIR,
    FormStoreError,
    current_form,
    export_form,
    form_doc_id,
    load_form,
    load_shipped_forms,
)
from sync_server.forms.xlsform import FormSheetError
from sync_server.provision import CATALOG_DB, provision
from tests.integration.sync_server.gateway_helpers import client, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for
from tests.unit.shared.forms.test_shipped_forms import BROKEN

NOW = "2026-12-07T02:00:00Z"


@pytest.fixture
async def catalog(couch: Couch) -> AsyncIterator[Couch]:
    """ot-catalog with the seed catalog and the shipped forms (both loads are idempotent)."""
    await provision(couch)
    await load_catalog_file(couch, SEED_CATALOG)
    await load_shipped_forms(couch, NOW)
    yield couch


def relabelled(data: bytes, version: str, form_id: str) -> bytes:
    """The workbook with another first label, form id and version (a county's edit)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    book["survey"]["C2"] = "修改后的标题"
    book["settings"]["A2"] = form_id
    book["settings"]["B2"] = version
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_load_is_idempotent_and_export_gives_the_workbook_back(catalog: Couch) -> None:
    original = (FORMS_DIR / "JZ-001.xlsx").read_bytes()
    again = await load_form(catalog, "JZ-001", original, NOW)
    assert (again.form_id, again.version, again.written) == ("JZ-001", FORM_VERSION, False)
    assert await export_form(catalog, "JZ-001") == original
    doc = await current_form(catalog, "JZ-001")
    assert doc is not None and doc["definition"]["fields"][0]["name"] == "household"
    assert doc["_attachments"]["form.xlsx"]["length"] == len(original)


async def test_versions_are_kept_and_immutable(catalog: Couch) -> None:
    item, form_id = "LN-001", f"LN-001-{uuid.uuid4().hex[:8]}"  # an item without a shipped form
    first = relabelled((FORMS_DIR / "JZ-002.xlsx").read_bytes(), "1", form_id)
    second = relabelled(first, "2", form_id)
    await load_form(catalog, item, first, NOW)
    await load_form(catalog, item, second, NOW)
    with pytest.raises(FormSheetError) as caught:  # other content under a stored version
        await load_form(catalog, item, _changed(first), NOW)
    assert str(caught.value.problems[0]).startswith("settings!2 version: 版本 1 已载入且内容不同")
    pointer = await catalog.get_doc(CATALOG_DB, f"item-form:{item}")
    assert pointer is not None and pointer["version"] == "2"
    assert pointer["versions"][-2:] == [[form_id, "1"], [form_id, "2"]]
    assert await export_form(catalog, item, "1") == first  # the old version stays, as loaded
    assert await export_form(catalog, item) == second
    assert await catalog.get_doc(CATALOG_DB, form_doc_id(form_id, "1")) is not None


def _changed(data: bytes) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    book["survey"]["C3"] = "又改了一处"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_form_needs_a_catalog_item_and_a_stored_form(catalog: Couch) -> None:
    with pytest.raises(FormStoreError, match="no item XX-999"):
        await load_form(catalog, "XX-999", (FORMS_DIR / "JZ-001.xlsx").read_bytes(), NOW)
    with pytest.raises(FormStoreError, match="has no form"):
        await export_form(catalog, "HJ-001")


def test_cli_reports_a_bad_sheet_by_row_and_exports(catalog: Couch, couchdb_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "COUCHDB_URL": couchdb_url, "ONETRIP_DATA": str(tmp_path / "data")}
    book = openpyxl.load_workbook(FORMS_DIR / "JZ-002.xlsx")
    book["survey"]["A4"] = "geopoint"
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    run = [sys.executable, "-m", "sync_server.cli", "admin"]
    refused = subprocess.run([*run, "load-form", "JZ-002", str(bad)], env=env, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "survey!4 A (type): 不支持的题型 geopoint" in refused.stderr, refused.stderr
    out = tmp_path / "out.xlsx"
    exported = subprocess.run([*run, "export-form", "JZ-002", "--output", str(out)], env=env,
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes() == (FORMS_DIR / "JZ-002.xlsx").read_bytes()


# --- the gateway -------------------------------------------------------------------------------


def form_case(village: str, item: str, answers: dict[str, Any] | None, status: str = "submitted",
              version: str = FORM_VERSION, form_id: str | None = None) -> dict[str, Any]:
    return make_case(village, status=status, item_code=item, answers=answers or {},
                     form={"id": form_id or item, "version": version})


def push(server: RunningServer, township: Township, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with client(server.url, token_for(server.url, township.agents[0])) as c:
        answer = c.post(f"/{township.dbs[0]}/_bulk_docs", json={"docs": docs})
    assert answer.status_code == 201, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def today() -> date:
    return datetime.now(UTC).date()


@pytest.mark.parametrize("item", FORM_ITEMS)
async def test_the_gateway_accepts_a_valid_filling_and_refuses_a_broken_one(
        catalog: Couch, api_server: RunningServer, township: Township, item: str) -> None:
    valid = sample_answers(item, today())
    change, path, words = BROKEN[item]
    broken = {k: v for k, v in {**(valid or {}), **change}.items() if v is not None}
    answers = push(api_server, township, [form_case(township.villages[0], item, valid),
                                          form_case(township.villages[0], item, broken)])
    assert answers[0].get("ok") is True, answers[0]
    assert answers[1]["error"] == "forbidden"
    assert f"{path}: " in answers[1]["reason"] and words in answers[1]["reason"], answers[1]
    assert answers[1]["reason"].startswith("表单答案不符合要求：")


async def test_the_gateway_refuses_unknown_versions_and_other_items_forms(
        catalog: Couch, api_server: RunningServer, township: Township) -> None:
    village = township.villages[0]
    pension = sample_answers("SB-001", today())
    answers = push(api_server, township, [
        form_case(village, "SB-001", pension, version="1999"),  # a version nobody loaded
        form_case(village, "SB-002", pension, form_id="SB-001"),  # a form of another item
        make_case(village, status="submitted", item_code="SB-001", answers={}, form={"id": "SB-001"}),
        make_case(village, status="submitted", item_code="SB-001", answers={"anything": 1}),  # no form
    ])
    assert "unknown form version SB-001@1999" in answers[0]["reason"]
    assert "form SB-001 belongs to item SB-001, not SB-002" in answers[1]["reason"]
    assert "form must be" in answers[2]["reason"]
    assert answers[3].get("ok") is True  # a case without a form (an older case) stays valid


async def test_a_draft_may_be_unfinished_but_not_wrong(
        catalog: Couch, api_server: RunningServer, township: Township) -> None:
    village = township.villages[0]
    answers = push(api_server, township, [
        form_case(village, "JZ-002", {"emergency_type": "fire"}, status="draft"),
        form_case(village, "JZ-002", {"emergency_type": "fire"}, status="submitted"),
        form_case(village, "JZ-002", {"emergency_type": "fire", "emergency_other": "x"}, status="draft"),
    ])
    assert answers[0].get("ok") is True
    assert "incident_date: this question is required" in answers[1]["reason"]
    assert "(and " in answers[1]["reason"]  # more problems than the refusal lists
    assert "emergency_other: this question does not apply here" in answers[2]["reason"]


async def test_an_old_case_keeps_validating_against_its_own_version(
        catalog: Couch, api_server: RunningServer, township: Township) -> None:
    item, form_id = "LN-002", f"LN-002-{uuid.uuid4().hex[:8]}"
    old = (FORMS_DIR / "JZ-002.xlsx").read_bytes()
    await load_form(catalog, item, relabelled(old, "1", form_id), NOW)
    book = openpyxl.load_workbook(io.BytesIO(relabelled(old, "2", form_id)))
    book["survey"]["A2"] = "integer"  # version 2: emergency_type becomes a number
    book["survey"]["B2"] = "emergency_code"
    book["survey"]["M3"] = "${emergency_code} = 9"
    out = io.BytesIO()
    book.save(out)
    await load_form(catalog, item, out.getvalue(), NOW)
    filled = sample_answers("JZ-002", today())
    answers = push(api_server, township, [form_case(township.villages[0], item, filled, version="1",
                                                    form_id=form_id),
                                          form_case(township.villages[0], item, filled, version="2",
                                                    form_id=form_id)])
    assert answers[0].get("ok") is True, answers[0]
    assert "the form has no question named 'emergency_type'" in answers[1]["reason"]


async def test_a_situation_may_have_its_own_form(
        catalog: Couch, api_server: RunningServer, township: Township) -> None:
    item, form_id = "LN-001", f"LN-001-self-{uuid.uuid4().hex[:8]}"
    workbook = relabelled((FORMS_DIR / "JZ-002.xlsx").read_bytes(), "1", form_id)
    with pytest.raises(FormStoreError, match="item LN-001 has no situation nobody"):
        await load_form(catalog, item, workbook, NOW, situation="nobody")
    await load_form(catalog, item, workbook, NOW, situation="self")
    own = await current_form(catalog, item, "self")
    assert own is not None and own["form_id"] == form_id and own["definition"]["situation"] == "self"
    assert await export_form(catalog, item, situation="self") == workbook
    filled = sample_answers("JZ-002", today())
    self_case, proxy_case = (make_case(township.villages[0], status="submitted", item_code=item, situation=s,
                                       answers=filled, form={"id": form_id, "version": "1"})
                             for s in ("self", "proxy"))
    answers = push(api_server, township, [self_case, proxy_case])
    assert answers[0].get("ok") is True, answers[0]
    assert f"form {form_id} is for situation self, not proxy" in answers[1]["reason"]
