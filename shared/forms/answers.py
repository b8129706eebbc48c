"""Answers (表单答案) checked against a form version: the one evaluator of app and gateway.

Answers are a JSON object keyed by field name; groups only arrange screens and add no level;
a repeat's answers are a list of objects, one per instance (a household member)::

    {"applicant_income": 1200, "health": "good",
     "members": [{"member_name": "…", "relation": "spouse", "member_income": 800}]}

Values: text, date (``YYYY-MM-DD``), select_one and id_number are strings; integer an int;
decimal a number; select_multiple a list of choice names; a calculate, when present, must
equal what its calculation gives; a note never has an answer.

`validate_answers` lists every problem as (field path, message); `field_state` answers what the
app asks while a field is on screen. Relevance decides which answers may exist: an answer to a
question whose `relevant` (or an enclosing group's) is false is a problem, never kept silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.forms.evaluation import Scope, evaluate, to_bool, to_number, to_string
from shared.forms.expr import Value
from shared.forms.model import ANSWERED, Choice, Field, FieldType, Form
from shared.idnumber import is_valid_id_number
from shared.text import Message

Answers = Mapping[str, Any]
# A repeat's instances: a household has a handful of members; the bound keeps a hostile case
# (a constraint summing over the repeat, checked per instance) from costing quadratic time.
MAX_INSTANCES = 100
_MAX_DEPTH = 32  # calculations that refer to calculations (cycles are refused by form_from_json)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one answer: `path` is ``name`` or ``repeat[i].name`` (0-based)."""

    path: str
    message: Message


@dataclass(frozen=True)
class FieldState:
    """A field as the app shows it now."""

    relevant: bool
    required: bool
    error: Message | None  # the answer breaks a rule (required, type, constraint), or None
    value: Any  # the current answer; for a calculate, its computed value


REQUIRED = Message("此项必填", "this question is required")
NOT_RELEVANT = Message("此项不适用，请删除该答案", "this question does not apply here: remove the answer")


def path_of(name: str, repeat: str | None = None, index: int | None = None) -> str:
    return name if repeat is None or index is None else f"{repeat}[{index}].{name}"


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _as_value(raw: Any) -> Value:
    if isinstance(raw, bool) or is_empty(raw):
        return "" if is_empty(raw) else ("true" if raw else "false")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, list):
        return " ".join(str(v) for v in raw)
    return str(raw) if not isinstance(raw, (dict,)) else ""


class _Context:
    """Resolves `${name}` for one form, answers, day and (optionally) repeat instance."""

    def __init__(self, form: Form, answers: Answers, today: date, complete: bool = True) -> None:
        self.form, self.answers, self.today = form, answers, today
        self.complete = complete  # False: a draft, whose required questions may still be empty

    def instances(self, repeat: str) -> list[Mapping[str, Any]]:
        items = self.answers.get(repeat)
        return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []

    def raw(self, name: str, index: int | None) -> Any:
        item = self.form.field(name)
        if item.repeat is None:
            return self.answers.get(name)
        instances = self.instances(item.repeat)
        return instances[index].get(name) if index is not None and index < len(instances) else None

    def value(self, name: str, index: int | None, depth: int = 0, repeat: str | None = None) -> Value:
        """`${name}` seen from instance `index` of `repeat` (or from outside every repeat)."""
        item = self.form.by_name.get(name)
        if item is None or depth > _MAX_DEPTH:
            return ""
        if item.type is FieldType.REPEAT:
            return tuple("1" for _ in self.instances(name))
        if item.repeat is not None and (index is None or item.repeat != repeat):
            # outside its repeat (or in another one): every instance's value, a node-set
            return tuple(self.value(name, n, depth + 1, item.repeat)
                         for n in range(len(self.instances(item.repeat))))
        if item.type is FieldType.CALCULATE and item.calculation is not None:
            return evaluate(item.calculation, self.scope(index, depth=depth + 1, repeat=item.repeat))
        return _as_value(self.raw(name, index))

    def scope(self, index: int | None, current: Value = "", depth: int = 0,
              repeat: str | None = None) -> Scope:
        return Scope(lambda ref: self.value(ref, index, depth, repeat), self.today, current)

    def relevant(self, item: Field, index: int | None) -> bool:
        for name in (*item.parents, item.name):
            node = self.form.field(name).relevant
            if node is not None and not to_bool(evaluate(node, self.scope(index, repeat=item.repeat))):
                return False
        return True

    def required(self, item: Field, index: int | None) -> bool:
        return item.required is not None and to_bool(evaluate(item.required,
                                                              self.scope(index, repeat=item.repeat)))

    def choices(self, item: Field, index: int | None) -> tuple[Choice, ...]:
        options = self.form.choices.get(item.list, ())
        if item.choice_filter is None:
            return options
        node = item.choice_filter
        return tuple(c for c in options if to_bool(evaluate(node, Scope(
            lambda ref: self.value(ref, index, 0, item.repeat), self.today, "", c.columns))))


def _type_error(item: Field, raw: Any, ctx: _Context, index: int | None) -> Message | None:
    kind = item.type
    if kind in (FieldType.TEXT, FieldType.DATE, FieldType.SELECT_ONE, FieldType.ID_NUMBER) \
            and not isinstance(raw, str):
        return Message("答案应为文字", "the answer must be a string")
    if kind is FieldType.INTEGER and (isinstance(raw, bool) or not isinstance(raw, int)):
        return Message("应为整数", "the answer must be a whole number")
    if kind is FieldType.DECIMAL and (isinstance(raw, bool) or not isinstance(raw, (int, float))
                                      or not math.isfinite(raw)):
        return Message("应为数字", "the answer must be a number")
    if kind is FieldType.DATE:
        try:
            date.fromisoformat(raw)
        except ValueError:
            return Message("日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
        if len(raw) != 10:
            return Message("日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
    if kind is FieldType.ID_NUMBER and not is_valid_id_number(raw, today=ctx.today):
        return Message("身份证号码无效（请核对校验位）",
                       "not a valid resident ID number (check the last character)")
    if kind in (FieldType.SELECT_ONE, FieldType.SELECT_MULTIPLE):
        names = {c.name for c in ctx.choices(item, index)}
        picked = [raw] if kind is FieldType.SELECT_ONE else raw
        if not isinstance(picked, list) or not all(isinstance(p, str) for p in picked) \
                or len(set(picked)) != len(picked):
            return Message("应为不重复的选项列表", "the answer must be a list of distinct choices")
        wrong = [p for p in picked if p not in names]
        if wrong:
            return Message(f"不是可选的选项：{', '.join(wrong)}",
                           f"not among the choices offered: {', '.join(wrong)}")
    return None


def _answer_error(item: Field, raw: Any, ctx: _Context, index: int | None) -> Message | None:
    """Why a present answer of a relevant question is wrong: its type, then its constraint."""
    error = _type_error(item, raw, ctx, index)
    if error is not None or item.constraint is None:
        return error
    if to_bool(evaluate(item.constraint, ctx.scope(index, current=_as_value(raw), repeat=item.repeat))):
        return None
    return item.constraint_message or Message(f"答案不符合要求（{item.constraint_text}）",
                                              f"the answer breaks the rule {item.constraint_text}")


def _same(a: Value, b: Any) -> bool:
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        number = to_number(a)
        return math.isclose(number, float(b), rel_tol=1e-9, abs_tol=1e-9)
    return to_string(a) == to_string(_as_value(b))


def _check(item: Field, container: Answers, ctx: _Context, index: int | None,
           problems: list[Problem]) -> None:
    path = path_of(item.name, item.repeat, index)
    present = item.name in container and not is_empty(container[item.name])
    relevant = ctx.relevant(item, index)
    if item.type is FieldType.GROUP:
        for child in item.fields:
            _check(child, container, ctx, index, problems)
        return
    if item.type is FieldType.REPEAT:
        _check_repeat(item, container, ctx, relevant, problems)
        return
    if not present:
        if relevant and item.type in ANSWERED and ctx.complete and ctx.required(item, index):
            problems.append(Problem(path, item.required_message or REQUIRED))
        return
    if not relevant:
        problems.append(Problem(path, NOT_RELEVANT))
    elif item.type is FieldType.NOTE:
        problems.append(Problem(path, Message("说明项没有答案", "a note takes no answer")))
    elif item.type is FieldType.CALCULATE:
        computed = ctx.value(item.name, index, repeat=item.repeat)
        if not _same(computed, container[item.name]):
            problems.append(Problem(path, Message(f"计算值应为 {to_string(computed)}",
                                                  f"the calculated value is {to_string(computed)}")))
    else:
        error = _answer_error(item, container[item.name], ctx, index)
        if error is not None:
            problems.append(Problem(path, error))


def _check_repeat(item: Field, container: Answers, ctx: _Context, relevant: bool,
                  problems: list[Problem]) -> None:
    raw = container.get(item.name)
    if is_empty(raw):
        if relevant and ctx.complete and ctx.required(item, None):
            problems.append(Problem(item.name, item.required_message or REQUIRED))
        return
    if not relevant:
        problems.append(Problem(item.name, NOT_RELEVANT))
        return
    if not isinstance(raw, list) or not all(isinstance(i, Mapping) for i in raw):
        problems.append(Problem(item.name, Message("重复组应为对象列表",
                                                   "a repeat's answer is a list of objects")))
        return
    if len(raw) > MAX_INSTANCES:
        problems.append(Problem(item.name, Message(f"最多 {MAX_INSTANCES} 项",
                                                   f"at most {MAX_INSTANCES} instances")))
        return
    names = _answer_names(item.fields)
    for n, instance in enumerate(raw):
        for key in sorted(set(instance) - names):
            problems.append(Problem(path_of(key, item.name, n), _unknown(key)))
        for child in item.fields:
            _check(child, instance, ctx, n, problems)


def _answer_names(fields: tuple[Field, ...]) -> set[str]:
    """The keys one level of answers may hold: fields, through groups, not into repeats."""
    names: set[str] = set()
    for item in fields:
        if item.type is FieldType.GROUP:
            names |= _answer_names(item.fields)
        else:
            names.add(item.name)
    return names


def _unknown(key: str) -> Message:
    return Message(f"表单中没有此项：{key}", f"the form has no question named {key!r}")


def validate_answers(form: Form, answers: Any, *, today: date, complete: bool = True) -> list[Problem]:
    """Every problem of `answers` against `form`, in sheet order (empty when they are valid).

    `complete=False` (a draft): required questions may still be empty; every other rule holds.
    """
    if not isinstance(answers, Mapping):
        return [Problem("", Message("答案应为对象", "answers must be an object"))]
    ctx = _Context(form, answers, today, complete)
    problems = [Problem(key, _unknown(key)) for key in sorted(set(answers) - _answer_names(form.fields))]
    for item in form.fields:
        _check(item, answers, ctx, None, problems)
    return problems


def field_state(form: Form, answers: Answers, name: str, *, today: date,
                index: int | None = None) -> FieldState:
    """The field `name` (in repeat instance `index`) given the answers so far: for the app's wizard."""
    item = form.field(name)
    ctx = _Context(form, answers, today)
    relevant = ctx.relevant(item, index)
    required = relevant and ctx.required(item, index)
    if item.type is FieldType.CALCULATE:
        return FieldState(relevant, False, None, ctx.value(name, index, repeat=item.repeat))
    raw = ctx.raw(name, index) if item.type not in (FieldType.GROUP, FieldType.REPEAT) else None
    error: Message | None = None
    if relevant and item.type in ANSWERED:
        if is_empty(raw):
            error = (item.required_message or REQUIRED) if required else None
        else:
            error = _answer_error(item, raw, ctx, index)
    return FieldState(relevant, required, error, raw)


def choices_for(form: Form, answers: Answers, name: str, *, today: date,
                index: int | None = None) -> tuple[Choice, ...]:
    """The choices a select offers now (its choice_filter applied)."""
    return _Context(form, answers, today).choices(form.field(name), index)


_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def label_text(form: Form, answers: Answers, name: str, *, today: date, index: int | None = None) -> Message:
    """The field's label with each `${field}` replaced by its current value (a note's totals)."""
    item = form.field(name)
    label = item.label or Message(name, name)
    ctx = _Context(form, answers, today)

    def fill(text: str) -> str:
        return _REF.sub(lambda m: to_string(ctx.value(m.group(1), index, repeat=item.repeat)), text)

    return Message(fill(label.zh), fill(label.en))


def default_answer(form: Form, name: str, *, today: date) -> Any:
    """The answer a question starts with (its `default`), typed; None without a default."""
    item = form.field(name)
    text = item.default.strip()
    if not text:
        return None
    if text == "today()":
        return today.isoformat()
    if item.type is FieldType.INTEGER:
        return int(float(text))
    if item.type is FieldType.DECIMAL:
        return float(text)
    if item.type is FieldType.SELECT_MULTIPLE:
        return text.split()
    return text
