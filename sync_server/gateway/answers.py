"""A case's form answers (表单答案) checked at the gateway, against the version the case names.

A case that was filled with a form carries ``"form": {"id": FORM_ID, "version": VERSION}``
beside its `answers`. The gateway refuses the case when:

- the form reference is malformed, or names a version `ot-catalog` does not hold, or a form of
  another item (a device cannot pick a laxer form than its item's);
- the answers break the version's rules (`shared.forms.validate_answers`): unknown fields, wrong
  types, constraints, answers to questions that do not apply (relevance), and — once the case is
  past `draft` — required questions left empty. A draft is saved at every step, unfinished.

Cases without `form` (older than forms, or items without one) are not checked here.

Form versions never change once stored (`sync_server.forms.store`), so a version read from
`ot-catalog` is kept in memory for good; a version not found is asked again next time, so a form
loaded while the server runs is seen at once.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.forms import Form, FormDefinitionError, form_from_json, validate_answers
from shared.status import Status
from shared.workdays import CHINA_TIME
from sync_server.couch import Couch
from sync_server.gateway.facts import refuse
from sync_server.provision import CATALOG_DB

log = logging.getLogger(__name__)

FormKey = tuple[str, str]  # (form id, version)
FormBook = Mapping[FormKey, Form]  # the versions a batch's cases name, as found in ot-catalog
CACHED_VERSIONS = 512  # parsed versions kept per process: a county has tens of items with forms
PROBLEMS_SHOWN = 3  # problems named in one refusal; the app shows all of them while filling


def form_key(doc: Mapping[str, Any]) -> FormKey | None:
    """The (form id, version) a case names, or None (no form, or a malformed reference)."""
    ref = doc.get("form")
    if not isinstance(ref, Mapping):
        return None
    form_id, version = ref.get("id"), ref.get("version")
    if isinstance(form_id, str) and isinstance(version, str) and form_id and version:
        return form_id, version
    return None


class FormCache:
    """Parsed form versions read from ot-catalog, kept while the process runs."""

    def __init__(self, db: str = CATALOG_DB, size: int = CACHED_VERSIONS) -> None:
        self.db, self.size = db, size
        self._forms: OrderedDict[FormKey, Form] = OrderedDict()

    async def book(self, couch: Couch, docs: Sequence[Any]) -> dict[FormKey, Form]:
        """The versions the cases among `docs` name (one `_all_docs` for those not cached yet)."""
        wanted = {key for doc in docs if isinstance(doc, dict) and str(doc.get("_id", "")).startswith("case:")
                  and (key := form_key(doc)) is not None}
        missing = sorted(k for k in wanted if k not in self._forms)
        if missing:
            keys = [f"form:{i}@{v}" for i, v in missing]
            answer = await couch.post_json(f"/{self.db}/_all_docs", {"keys": keys},
                                           params={"include_docs": "true"})
            for row in answer.get("rows", []):
                self._remember(row.get("doc"))
        found = {k: self._forms[k] for k in wanted if k in self._forms}
        for key in found:
            self._forms.move_to_end(key)
        return found

    def _remember(self, doc: Any) -> None:
        if not isinstance(doc, dict) or doc.get("_deleted"):
            return
        try:
            form = form_from_json(doc.get("definition") or {})
        except FormDefinitionError as exc:  # only an admin writes ot-catalog: log, treat as unknown
            log.error("form document %s is not a valid definition: %s", doc.get("_id"), exc)
            return
        self._forms[(form.form_id, form.version)] = form
        while len(self._forms) > self.size:
            self._forms.popitem(last=False)


def check_answers(doc: Mapping[str, Any], forms: FormBook | None, now: float | None) -> str | None:
    """Why the case's answers may not be stored, or None (the module docstring lists the rules)."""
    if "form" not in doc or doc.get("form") is None:
        return None
    key = form_key(doc)
    if key is None:
        return refuse("表单引用格式错误", 'form must be {"id": FORM_ID, "version": VERSION}')
    form = (forms or {}).get(key)
    if form is None:
        return refuse(f"未知的表单版本 {key[0]}@{key[1]}",
                      f"unknown form version {key[0]}@{key[1]}: ot-catalog holds no such form")
    if form.item_code and form.item_code != doc.get("item_code"):
        return refuse(f"表单 {key[0]} 不属于事项 {doc.get('item_code')}",
                      f"form {key[0]} belongs to item {form.item_code}, not {doc.get('item_code')}")
    if form.situation and form.situation != doc.get("situation"):
        return refuse(f"表单 {key[0]} 只用于情形 {form.situation}",
                      f"form {key[0]} is for situation {form.situation}, not {doc.get('situation')}")
    today = datetime.fromtimestamp(time.time() if now is None else now, CHINA_TIME).date()
    problems = validate_answers(form, doc.get("answers", {}), today=today,
                                complete=doc.get("status") != Status.DRAFT)
    if not problems:
        return None
    shown = problems[:PROBLEMS_SHOWN]
    more_zh = f"（另有 {len(problems) - len(shown)} 处）" if len(problems) > len(shown) else ""
    more_en = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
    zh = "；".join(f"{p.path}：{p.message.zh}" for p in shown)
    en = "; ".join(f"{p.path}: {p.message.en}" for p in shown)
    return refuse(f"表单答案不符合要求：{zh}{more_zh}", f"answers break the form: {en}{more_en}")
