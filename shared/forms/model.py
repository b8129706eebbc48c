"""Form definitions (表单定义): the JSON the app and the server both read, and its typed model.

The JSON definition (``format: onetrip-form/1``, stored in `ot-catalog` as ``form:<id>@<version>``;
the full description is docs/forms.md)::

    {"format": "onetrip-form/1", "form_id": "JZ-001", "version": "2026120701",
     "item_code": "JZ-001", "situation"?: "first", "title": {"zh": …, "en": …},
     "fields": [{"name", "type", "label": {"zh", "en"}, "hint"?, "required"?, "required_message"?,
                 "constraint"?, "constraint_message"?, "relevant"?, "calculation"?, "default"?,
                 "list"?, "choice_filter"?, "fields"? (group / repeat), "row"}],
     "choices": {"<list>": [{"name", "label": {"zh", "en"}, "columns": {…}}]}}

Expressions are kept as XLSForm text (``${income} > 0``) and parsed here once (`shared.forms.expr`).
Field names are unique in a form (XLSForm requires it), so answers are addressed by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.forms.expr import ExpressionError, Node, parse, references
from shared.text import Message

FORMAT = "onetrip-form/1"


class FieldType(StrEnum):
    """The question types of the supported XLSForm subset, plus OneTrip's `id_number`."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    SELECT_ONE = "select_one"
    SELECT_MULTIPLE = "select_multiple"
    NOTE = "note"
    CALCULATE = "calculate"
    GROUP = "group"
    REPEAT = "repeat"
    ID_NUMBER = "id_number"  # a GB 11643 resident ID number, check character verified


ANSWERED = frozenset({FieldType.TEXT, FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE,
                      FieldType.SELECT_ONE, FieldType.SELECT_MULTIPLE, FieldType.ID_NUMBER})


class FormDefinitionError(ValueError):
    """A stored definition that does not follow `onetrip-form/1` (never a user's answers)."""


@dataclass(frozen=True)
class Choice:
    name: str
    label: Message
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """One question, note, calculation, group or repeat."""

    name: str
    type: FieldType
    label: Message | None = None
    hint: Message | None = None
    required: Node | None = None
    required_text: str = ""
    required_message: Message | None = None
    constraint: Node | None = None
    constraint_text: str = ""
    constraint_message: Message | None = None
    relevant: Node | None = None
    calculation: Node | None = None
    default: str = ""
    list: str = ""
    choice_filter: Node | None = None
    fields: tuple[Field, ...] = ()
    row: int = 0
    repeat: str | None = None  # the enclosing repeat's name
    parents: tuple[str, ...] = ()  # enclosing groups and repeats, outermost first


@dataclass(frozen=True)
class Form:
    """A parsed form version."""

    form_id: str
    version: str
    item_code: str
    title: Message
    fields: tuple[Field, ...]
    choices: Mapping[str, tuple[Choice, ...]]
    by_name: Mapping[str, Field]
    situation: str = ""  # the situation (情形) the form is for; "" for the whole item

    def field(self, name: str) -> Field:
        return self.by_name[name]

    def walk(self) -> Iterator[Field]:
        """Every field, depth first, in sheet order."""
        stack = list(reversed(self.fields))
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(item.fields))

    def pages(self) -> tuple[Field, ...]:
        """The top-level fields: the app shows one top-level group (or question) per screen."""
        return self.fields


def _message(value: Any, what: str) -> Message | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Message(value, value)
    if isinstance(value, Mapping) and isinstance(value.get("zh"), str):
        return Message(value["zh"], str(value.get("en") or value["zh"]))
    raise FormDefinitionError(f"{what} must be a string or {{zh, en}}")


def _expr(value: Any, what: str, *, columns: bool = False) -> Node | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise FormDefinitionError(f"{what} must be an expression string")
    try:
        return parse(value, columns=columns)
    except ExpressionError as exc:
        raise FormDefinitionError(f"{what}: {exc.message.en}") from None


def _field(raw: Any, repeat: str | None, parents: tuple[str, ...]) -> Field:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise FormDefinitionError("a field must be an object with a name")
    name = raw["name"]
    try:
        kind = FieldType(str(raw.get("type")))
    except ValueError:
        raise FormDefinitionError(f"{name}: unknown type {raw.get('type')!r}") from None
    inner_repeat = name if kind is FieldType.REPEAT else repeat
    children = tuple(_field(c, inner_repeat, (*parents, name)) for c in raw.get("fields", ()))
    return Field(
        name=name, type=kind, label=_message(raw.get("label"), f"{name}.label"),
        hint=_message(raw.get("hint"), f"{name}.hint"),
        required=_expr(raw.get("required"), f"{name}.required"), required_text=str(raw.get("required") or ""),
        required_message=_message(raw.get("required_message"), f"{name}.required_message"),
        constraint=_expr(raw.get("constraint"), f"{name}.constraint"),
        constraint_text=str(raw.get("constraint") or ""),
        constraint_message=_message(raw.get("constraint_message"), f"{name}.constraint_message"),
        relevant=_expr(raw.get("relevant"), f"{name}.relevant"),
        calculation=_expr(raw.get("calculation"), f"{name}.calculation"),
        default=str(raw.get("default") or ""), list=str(raw.get("list") or ""),
        choice_filter=_expr(raw.get("choice_filter"), f"{name}.choice_filter", columns=True),
        fields=children, row=int(raw.get("row") or 0), repeat=repeat, parents=parents,
    )


def form_from_json(raw: Mapping[str, Any]) -> Form:
    """The typed form of a stored definition; raises `FormDefinitionError`."""
    if raw.get("format") != FORMAT:
        raise FormDefinitionError(f"format must be {FORMAT!r}")
    for key in ("form_id", "version"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise FormDefinitionError(f"{key} must be a non-empty string")
    fields = tuple(_field(f, None, ()) for f in raw.get("fields", ()))
    choices = {
        list_name: tuple(Choice(str(c["name"]), _message(c.get("label"), f"{list_name}.label")
                                or Message(str(c["name"]), str(c["name"])),
                                {str(k): str(v) for k, v in (c.get("columns") or {}).items()})
                         for c in items)
        for list_name, items in (raw.get("choices") or {}).items()
    }
    form = Form(str(raw["form_id"]), str(raw["version"]), str(raw.get("item_code") or ""),
                _message(raw.get("title"), "title") or Message(raw["form_id"], raw["form_id"]),
                fields, choices, {})
    by_name: dict[str, Field] = {}
    for item in form.walk():
        if item.name in by_name:
            raise FormDefinitionError(f"field name {item.name!r} is used twice")
        by_name[item.name] = item
    for item in by_name.values():
        if item.list and item.list not in choices:
            raise FormDefinitionError(f"{item.name}: no choice list {item.list!r}")
        for node in (item.required, item.constraint, item.relevant, item.calculation):
            unknown = references(node) - by_name.keys() if node is not None else set()
            if unknown:
                raise FormDefinitionError(f"{item.name}: refers to unknown field(s) {sorted(unknown)}")
    _refuse_cycles(by_name)
    return Form(form.form_id, form.version, form.item_code, form.title, fields, choices, by_name,
                str(raw.get("situation") or ""))


def _refuse_cycles(by_name: Mapping[str, Field]) -> None:
    """A calculation that needs its own value (directly or through others) has none."""
    needs = {name: references(item.calculation) & by_name.keys()
             for name, item in by_name.items() if item.calculation is not None}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = " -> ".join((*path[path.index(name):], name))
            raise FormDefinitionError(f"calculations refer to each other in a cycle: {cycle}")
        if name in done or name not in needs:
            return
        for other in sorted(needs[name]):
            visit(other, (*path, name))
        done.add(name)

    for name in sorted(needs):
        visit(name, ())
