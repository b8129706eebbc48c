"""Answers laid out in form order with labels and types (表单答案摘要).

For readers that do not evaluate the form: the county hand-off record and, next, the printed
application form (申请表). One entry per answered question, groups flattened, repeats kept::

    {"name": "relation", "type": "select_one", "label": "与申请人关系", "label_en": "Relation",
     "value": "spouse", "value_label": "配偶"}
    {"name": "members", "type": "repeat", "label": "家庭成员", "label_en": "…",
     "instances": [[entry, …], …]}

Values keep their JSON types (int, number, "YYYY-MM-DD", choice names); `value_label` is the
chosen choice's Chinese label (labels joined with "、" for select_multiple).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.forms.answers import is_empty
from shared.forms.model import Field, FieldType, Form


def _entry(form: Form, item: Field, value: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": item.name, "type": item.type.value,
                             "label": item.label.zh if item.label else item.name,
                             "label_en": item.label.en if item.label else item.name, "value": value}
    if item.type in (FieldType.SELECT_ONE, FieldType.SELECT_MULTIPLE):
        labels = {c.name: c.label.zh for c in form.choices.get(item.list, ())}
        picked = value if isinstance(value, list) else [value]
        entry["value_label"] = "、".join(labels.get(str(p), str(p)) for p in picked)
    return entry


def _entries(form: Form, fields: tuple[Field, ...], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in fields:
        if item.type is FieldType.GROUP:
            out += _entries(form, item.fields, answers)
        elif item.type is FieldType.REPEAT:
            instances = answers.get(item.name)
            if isinstance(instances, list) and instances:
                entry = _entry(form, item, None)
                del entry["value"]
                entry["instances"] = [_entries(form, item.fields, i)
                                      for i in instances if isinstance(i, Mapping)]
                out.append(entry)
        elif item.type is not FieldType.NOTE and not is_empty(answers.get(item.name)):
            out.append(_entry(form, item, answers[item.name]))
    return out


def answer_summary(form: Form, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The answered questions of `answers` (already valid for `form`), in form order."""
    return _entries(form, form.fields, answers)
