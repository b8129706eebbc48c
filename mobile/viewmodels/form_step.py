"""The wizard's form step (表单): the item's own questions, one screen per question group.

Driven by the shared evaluator (`shared.forms`, docs/forms.md) — the same code the gateway
checks the case with — so what the app saves always passes the gateway:

- a value the agent typed that breaks its type or rule is *held* on screen with its message,
  never saved into the draft (a draft is checked with `complete=False`, every rule but
  `required` holds);
- answers to questions that no longer apply (relevance) are dropped when saved;
- calculations are stored with the answers once the form is complete (the county gets them).

Pre-fill (免填): answers the same citizen gave in an earlier case, for a field of the same name,
are offered when the form is first opened for the case, and marked as pre-filled while they
still equal the earlier answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from mobile.store.errors import NotFound
from shared.forms import Field, FieldType, Form, form_from_json, validate_answers
from shared.forms.answers import MAX_INSTANCES, field_state, is_empty
from shared.forms.model import ANSWERED
from shared.text import Message

FormLoader = Callable[[str, str], Form | None]  # (item code, situation) → the current form, or None

NOT_INTEGER = Message("请输入整数", "enter a whole number")
NOT_NUMBER = Message("请输入数字", "enter a number")
NOT_DATE = Message("日期格式为 年-月-日，如 2026-01-31", "a date is YYYY-MM-DD, e.g. 2026-01-31")
TOO_MANY = Message(f"最多 {MAX_INSTANCES} 项", f"at most {MAX_INSTANCES} entries")

_INTEGER = re.compile(r"[+-]?\d{1,15}")
_DECIMAL = re.compile(r"[+-]?(\d{1,15}(\.\d{0,6})?|\.\d{1,6})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PATH = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]\.([A-Za-z_][A-Za-z0-9_]*)")


class CatalogDocs:
    """The part of a local store the loader reads: ot-catalog as pulled."""

    def __init__(self, get: Callable[[str], Mapping[str, Any]]) -> None:
        self.get = get

    def __call__(self, item_code: str, situation: str) -> Form | None:
        return load_form(self.get, item_code, situation)


def load_form(get: Callable[[str], Mapping[str, Any]], item_code: str, situation: str) -> Form | None:
    """The current form of `item_code` (a situation's own form first) from the pulled catalog.

    `get` raises NotFound for a document not pulled (yet): no form then.
    """
    ids = ([f"item-form:{item_code}:{situation}"] if situation else []) + [f"item-form:{item_code}"]
    for doc_id in ids:
        try:
            pointer = get(doc_id)
            stored = get(f"form:{pointer['form_id']}@{pointer['version']}")
            return form_from_json(stored["definition"])
        except (NotFound, KeyError, TypeError, ValueError):  # not pulled yet, or malformed
            continue
    return None


@dataclass(frozen=True)
class Page:
    """One screen: a top-level group or repeat, or a run of top-level questions."""

    fields: tuple[Field, ...]
    title: Message | None

    @property
    def repeat(self) -> Field | None:
        return self.fields[0] if len(self.fields) == 1 and self.fields[0].type is FieldType.REPEAT else None


def pages_of(form: Form) -> list[Page]:
    pages: list[Page] = []
    loose: list[Field] = []
    for item in form.pages():
        if item.type in (FieldType.GROUP, FieldType.REPEAT):
            if loose:
                pages.append(Page(tuple(loose), None))
                loose = []
            pages.append(Page((item,), item.label))
        elif item.type is not FieldType.CALCULATE:
            loose.append(item)
    if loose:
        pages.append(Page(tuple(loose), None))
    return pages


def questions(fields: Sequence[Field]) -> list[Field]:
    """The fields shown on a screen, groups flattened (a repeat's own fields excluded)."""
    out: list[Field] = []
    for item in fields:
        if item.type is FieldType.GROUP:
            out += questions(item.fields)
        elif item.type is not FieldType.CALCULATE:
            out.append(item)
    return out


def key(name: str, index: int | None) -> str:
    """The path of an answer: ``name`` or ``repeat[i].name``."""
    return name if index is None else f"@{index}.{name}"


def parse_typed(item: Field, text: Any) -> tuple[Any, Message | None]:
    """The typed answer for what was typed or picked, or (text, message) when it is not one."""
    if isinstance(text, list):
        return [str(v) for v in text], None
    if text is None:
        return None, None
    raw = str(text).strip()
    if not raw:
        return None, None
    if item.type is FieldType.INTEGER:
        return (int(raw), None) if _INTEGER.fullmatch(raw) else (raw, NOT_INTEGER)
    if item.type is FieldType.DECIMAL:
        if not _DECIMAL.fullmatch(raw):
            return raw, NOT_NUMBER
        number = float(raw)
        return (int(number) if number.is_integer() else number), None
    if item.type is FieldType.DATE:
        try:
            return (date.fromisoformat(raw).isoformat(), None) if _DATE.fullmatch(raw) else (raw, NOT_DATE)
        except ValueError:
            return raw, NOT_DATE
    if item.type is FieldType.ID_NUMBER:
        return "".join(raw.split()).upper(), None
    return raw, None


class FormAnswers:
    """The answers of one case being filled, with what is held back (typed but not valid)."""

    def __init__(self, form: Form, answers: Mapping[str, Any], today: Callable[[], date]) -> None:
        self.form = form
        self.today = today
        self.answers: dict[str, Any] = {
            k: ([dict(i) for i in v] if isinstance(v, list) and form.by_name.get(k) is not None
                and form.field(k).type is FieldType.REPEAT else v)
            for k, v in answers.items()
        }
        self.held: dict[str, tuple[Any, Message]] = {}  # key → (what was typed, why not saved)

    # -- reading -----------------------------------------------------------------------------

    def value(self, name: str, index: int | None = None) -> Any:
        held = self.held.get(key(name, index))
        if held is not None:
            return held[0]
        return self._container(name, index).get(name)

    def error(self, name: str, index: int | None = None) -> Message | None:
        held = self.held.get(key(name, index))
        if held is not None:
            return held[1]
        return field_state(self.form, self.answers, name, today=self.today(), index=index).error

    def relevant(self, name: str, index: int | None = None) -> bool:
        return field_state(self.form, self.answers, name, today=self.today(), index=index).relevant

    def instances(self, repeat: str) -> int:
        items = self.answers.get(repeat)
        return len(items) if isinstance(items, list) else 0

    # -- writing -----------------------------------------------------------------------------

    def set(self, name: str, text: Any, index: int | None = None) -> None:
        item = self.form.field(name)
        value, problem = parse_typed(item, text)
        container = self._container(name, index)
        self.held.pop(key(name, index), None)
        if problem is not None:
            container.pop(name, None)
            self.held[key(name, index)] = (value, problem)
            return
        if is_empty(value):
            container.pop(name, None)
            return
        container[name] = value
        state = field_state(self.form, self.answers, name, today=self.today(), index=index)
        if state.error is not None:  # a rule of its own (constraint, choice): shown, not saved
            container.pop(name, None)
            self.held[key(name, index)] = (value, state.error)

    def add_instance(self, repeat: str) -> Message | None:
        items = self.answers.setdefault(repeat, [])
        if len(items) >= MAX_INSTANCES:
            return TOO_MANY
        items.append({})
        return None

    def remove_instance(self, repeat: str, index: int) -> None:
        items = self.answers.get(repeat)
        if not isinstance(items, list) or not 0 <= index < len(items):
            return
        del items[index]
        if not items:
            del self.answers[repeat]
        # held values of later instances move up one
        moved: dict[str, tuple[Any, Message]] = {}
        for k, v in self.held.items():
            if k.startswith("@"):
                at, _, name = k[1:].partition(".")
                i = int(at)
                if i == index:
                    continue
                moved[key(name, i - 1 if i > index else i)] = v
            else:
                moved[k] = v
        self.held = moved

    def page_problems(self, page: Page, *, complete: bool) -> list[Message]:
        """Problems of the fields on `page` (held values first): empty when it may be left."""
        names = {f.name for f in page.fields}
        for item in page.fields:
            names |= {f.name for f in self._walk(item)}
        found: list[Message] = []
        for k, (_, message) in self.held.items():
            if k.rsplit(".", 1)[-1] in names:
                found.append(message)
        for problem in validate_answers(self.form, self.answers, today=self.today(), complete=complete):
            match = _PATH.fullmatch(problem.path)
            name = match.group(3) if match else problem.path
            repeat = match.group(1) if match else ""
            if name in names or repeat in names:
                found.append(problem.message)
        return found

    def saved(self, *, with_calculations: bool = False) -> dict[str, Any]:
        """The answers as they may be stored: irrelevant answers dropped, then any answer still
        breaking a rule (another answer changed under it) held back until it is fixed."""
        self._drop_irrelevant()
        out = _copy(self.answers)
        if with_calculations:
            for item in self.form.walk():
                if item.type is FieldType.CALCULATE and item.repeat is None:
                    value = field_state(self.form, out, item.name, today=self.today()).value
                    if isinstance(value, float) and math.isfinite(value):
                        out[item.name] = int(value) if value.is_integer() else value
                    elif isinstance(value, str) and value:
                        out[item.name] = value
        for _ in range(8):
            problems = validate_answers(self.form, out, today=self.today(), complete=False)
            if not problems:
                break
            for problem in problems:
                _pop_path(out, problem.path)
        return out

    def _drop_irrelevant(self) -> None:
        for item in self.form.walk():
            if item.type not in ANSWERED and item.type is not FieldType.REPEAT:
                continue
            if item.repeat is None:
                if item.name in self.answers and not self.relevant(item.name):
                    del self.answers[item.name]
                    self.held.pop(key(item.name, None), None)
                continue
            for i in range(self.instances(item.repeat)):
                instance = self.answers[item.repeat][i]
                if item.name in instance and not self.relevant(item.name, i):
                    del instance[item.name]

    def _walk(self, item: Field) -> list[Field]:
        out = [item]
        for sub in item.fields:
            out += self._walk(sub)
        return out

    def _container(self, name: str, index: int | None) -> dict[str, Any]:
        item = self.form.field(name)
        if item.repeat is None:
            return self.answers
        items = self.answers.setdefault(item.repeat, [])
        assert index is not None and 0 <= index < len(items), f"{name}: no instance {index}"
        instance: dict[str, Any] = items[index]
        return instance


def _copy(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ([dict(i) for i in v] if isinstance(v, list) and v and isinstance(v[0], dict) else
                (list(v) if isinstance(v, list) else v)) for k, v in answers.items()}


def _pop_path(answers: dict[str, Any], path: str) -> None:
    match = _PATH.fullmatch(path)
    if match is None:
        answers.pop(path, None)
        return
    items = answers.get(match.group(1))
    index = int(match.group(2))
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        items[index].pop(match.group(3), None)


def prefill_names(form: Form) -> list[str]:
    """Fields an earlier answer may pre-fill: top-level questions and whole repeats."""
    return [f.name for f in form.walk()
            if f.repeat is None and (f.type in ANSWERED or f.type is FieldType.REPEAT)]
