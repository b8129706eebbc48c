"""Item forms in `ot-catalog` (事项表单入库): load a workbook, export it again, read a version.

Documents (devices pull them with the rest of the catalog)::

    form:<form_id>@<version>   {"type": "form", "item_code", "form_id", "version", "loaded_at",
                                "definition": {onetrip-form/1}, "_attachments": {"form.xlsx": …}}
    item-form:<item_code>      {"type": "item_form", "item_code", "form_id", "version",
                                "versions": [every version loaded for the item, oldest first]}
    item-form:<item_code>:<situation>   the same for a form of one situation (情形) of the item;
                                the app uses it for that situation instead of the item's form

A version is immutable once stored: a case names the version it was filled with and keeps
being checked against it, so loading different content under a stored version is refused
(raise `version` in the settings sheet). Loading the same workbook again changes nothing.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyio import to_thread

from shared.catalog import item_doc_id
from shared.text import Message
from sync_server.couch import Couch, doc_path
from sync_server.forms.xlsform import FormSheetError, SheetProblem, definition_of
from sync_server.provision import CATALOG_DB, upsert

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = "form.xlsx"
FORMS_DIR = Path(__file__).resolve().parents[2] / "assets" / "catalog" / "forms"


class FormStoreError(ValueError):
    """A form that cannot be stored or found; the message is "中文 / English"."""


def form_doc_id(form_id: str, version: str) -> str:
    return f"form:{form_id}@{version}"


def item_form_id(item_code: str, situation: str | None = None) -> str:
    return f"item-form:{item_code}" + (f":{situation}" if situation else "")


@dataclass(frozen=True)
class FormLoad:
    form_id: str
    version: str
    written: bool  # False when exactly this version was stored already


async def load_form(couch: Couch, item_code: str, data: bytes, loaded_at: str,
                    situation: str | None = None) -> FormLoad:
    """Validate the workbook and store it as the current form of the item (or of one of its
    situations); raises `FormSheetError` for the workbook, `FormStoreError` for the item."""
    item = await couch.get_doc(CATALOG_DB, item_doc_id(item_code))
    if item is None:
        raise FormStoreError(f"事项目录中没有事项 {item_code} / no item {item_code} in the catalog")
    if situation and situation not in {s.get("code") for s in item.get("situations", [])}:
        raise FormStoreError(f"事项 {item_code} 没有情形 {situation} / item {item_code} has no situation "
                             f"{situation}")
    definition = await to_thread.run_sync(definition_of, data, item_code)
    if situation:
        definition["situation"] = situation
    form_id, version = definition["form_id"], definition["version"]
    doc_id = form_doc_id(form_id, version)
    stored = await couch.get_doc(CATALOG_DB, doc_id)
    written = stored is None
    if stored is not None and stored.get("definition") != definition:
        raise FormSheetError([SheetProblem("settings", 2, "version", Message(
            f"版本 {version} 已载入且内容不同：修改表单时请提高版本号",
            f"version {version} is stored with different content: a changed form needs a new version"))])
    if stored is None:
        await couch.put_doc(CATALOG_DB, {
            "_id": doc_id, "type": "form", "item_code": item_code, "form_id": form_id, "version": version,
            "loaded_at": loaded_at, "definition": definition,
            "_attachments": {WORKBOOK: {"content_type": XLSX, "data": base64.b64encode(data).decode()}},
        })
    pointer_id = item_form_id(item_code, situation)
    pointer = await couch.get_doc(CATALOG_DB, pointer_id)
    versions = [v for v in (pointer or {}).get("versions", []) if v != [form_id, version]]
    await upsert(couch, CATALOG_DB, {
        "_id": pointer_id, "type": "item_form", "item_code": item_code, "form_id": form_id,
        "version": version, "versions": [*versions, [form_id, version]],
        **({"situation": situation} if situation else {}),
    })
    return FormLoad(form_id, version, written)


async def current_form(couch: Couch, item_code: str, situation: str | None = None) -> dict[str, Any] | None:
    """The `form:` document of the current version for the situation (its own form, else the
    item's), or None when there is none."""
    pointer = await couch.get_doc(CATALOG_DB, item_form_id(item_code, situation)) if situation else None
    pointer = pointer or await couch.get_doc(CATALOG_DB, item_form_id(item_code))
    if pointer is None:
        return None
    return await couch.get_doc(CATALOG_DB, form_doc_id(pointer["form_id"], pointer["version"]))


async def export_form(couch: Couch, item_code: str, version: str | None = None,
                      situation: str | None = None) -> bytes:
    """The workbook as it was loaded (the current version of the item's, or the situation's, form,
    or `version`)."""
    pointer = await couch.get_doc(CATALOG_DB, item_form_id(item_code, situation))
    if pointer is None:
        where = f"{item_code} {situation}" if situation else item_code
        raise FormStoreError(f"事项 {where} 没有表单 / item {where} has no form")
    doc_id = form_doc_id(pointer["form_id"], version or pointer["version"])
    if await couch.get_doc(CATALOG_DB, doc_id) is None:
        raise FormStoreError(f"事项 {item_code} 没有版本 {version} 的表单 / item {item_code} has no form "
                             f"version {version}")
    response = await couch.request("GET", f"{doc_path(CATALOG_DB, doc_id)}/{WORKBOOK}")
    return response.content


def _write_new(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a half-written export never replaces a good file


async def cmd_load_form(couch: Couch, item_code: str, file: str, loaded_at: str,
                        situation: str | None = None) -> str:
    data = await to_thread.run_sync(Path(file).read_bytes)
    result = await load_form(couch, item_code, data, loaded_at, situation)
    state = "已载入" if result.written else "无变化"
    return (f"表单{state}：{item_code} → {result.form_id} 版本 {result.version} / form "
            f"{'loaded' if result.written else 'unchanged'}: {item_code} -> {result.form_id} "
            f"version {result.version}")


async def cmd_export_form(couch: Couch, item_code: str, file: str, version: str | None = None,
                          situation: str | None = None) -> str:
    data = await export_form(couch, item_code, version, situation)
    await to_thread.run_sync(_write_new, Path(file), data)
    return f"表单已导出：{item_code} → {file} / form of {item_code} exported to {file}"


async def load_shipped_forms(couch: Couch, loaded_at: str, folder: Path = FORMS_DIR) -> list[FormLoad]:
    """Every workbook of assets/catalog/forms/ (named after its item) into ot-catalog (the demo)."""
    loads = []
    for path in sorted(folder.glob("*.xlsx")):
        loads.append(await load_form(couch, path.stem, path.read_bytes(), loaded_at))
    return loads
