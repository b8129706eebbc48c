"""XLSForm workbooks (XLSForm 表单文件) converted to OneTrip's JSON form definition.

Two gates, both reported with the sheet, row and column of the problem:

1. OneTrip's subset (`check_subset`): the question types, columns and expression functions
   the app and the gateway evaluate (`shared.forms`). Anything else is refused, never ignored.
2. pyxform, the XLSForm reference implementation: the workbook must convert to an XForm. Its
   JSON form of the survey is the structure the definition is built from (`definition_of`).

OneTrip's own type `id_number` is handed to pyxform as `text`; the definition keeps the type.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from shared.forms.expr import ExpressionError, parse, references
from shared.forms.model import FORMAT, FormDefinitionError, form_from_json
from shared.text import Message

QUESTION_TYPES = {"text", "integer", "decimal", "date", "note", "calculate", "id_number"}
SELECT_TYPES = {"select_one", "select_multiple"}
STRUCTURE = {"begin_group", "end_group", "begin_repeat", "end_repeat"}
_TRANSLATED = ("label", "hint", "constraint_message", "required_message")
SURVEY_COLUMNS = {"type", "name", "required", "constraint", "relevant", "calculation", "default",
                  "choice_filter", *_TRANSLATED,
                  *(f"{c}::{lang}" for c in _TRANSLATED for lang in ("zh", "en"))}
EXPRESSION_COLUMNS = ("required", "constraint", "relevant", "calculation", "choice_filter")
SETTINGS_COLUMNS = {"form_id", "version", "form_title", "form_title::zh", "form_title::en",
                    "default_language"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^[0-9A-Za-z._-]{1,40}$")
_PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_YES = {"yes", "true", "true()"}
_NO = {"", "no", "false", "false()"}


@dataclass(frozen=True)
class SheetProblem:
    """One problem of a workbook: where (sheet, row, column) and what."""

    sheet: str
    row: int
    column: str  # "C (constraint)", or "" for the whole row or sheet
    message: Message

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.row}" + (f" {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class FormSheetError(ValueError):
    """A workbook that is not a valid form of OneTrip's XLSForm subset; `.problems` lists all."""

    def __init__(self, problems: list[SheetProblem]) -> None:
        self.problems = problems
        listing = "\n".join(str(p) for p in problems)
        super().__init__(f"表单文件有 {len(problems)} 处错误 / the form file has {len(problems)} "
                         f"error(s):\n{listing}")


@dataclass(frozen=True)
class _Row:
    number: int
    cells: dict[str, str]  # header -> text
    columns: dict[str, str]  # header -> column letter


def _rows(sheet: Any) -> tuple[list[str], list[_Row]]:
    values = list(sheet.iter_rows(values_only=True))
    if not values:
        return [], []
    headers = [str(h).strip() if h is not None else "" for h in values[0]]
    letters = {h: get_column_letter(n + 1) for n, h in enumerate(headers) if h}
    rows: list[_Row] = []
    for number, raw in enumerate(values[1:], start=2):
        cells = {headers[n]: str(v).strip() for n, v in enumerate(raw)
                 if n < len(headers) and headers[n] and v is not None and str(v).strip()}
        if cells:
            rows.append(_Row(number, cells, letters))
    return headers, rows


def _where(row: _Row, header: str) -> str:
    return f"{row.columns.get(header, '?')} ({header})"


def _problem(sheet: str, row: int, column: str, zh: str, en: str) -> SheetProblem:
    return SheetProblem(sheet, row, column, Message(zh, en))


def _check_headers(sheet: str, headers: list[str], allowed: set[str] | None) -> Iterator[SheetProblem]:
    for n, header in enumerate(headers):
        if header and allowed is not None and header not in allowed:
            yield _problem(sheet, 1, f"{get_column_letter(n + 1)} ({header})",
                           f"不支持的列 {header}", f"column {header!r} is not supported by OneTrip's forms")


def _check_survey_row(row: _Row, lists: set[str], names: set[str],
                      depth: list[str]) -> Iterator[SheetProblem]:
    kind = row.cells.get("type", "")
    base, _, rest = kind.replace("begin group", "begin_group").replace("end group", "end_group") \
        .replace("begin repeat", "begin_repeat").replace("end repeat", "end_repeat").partition(" ")
    where = _where(row, "type")
    if not kind:
        yield _problem("survey", row.number, where, "缺少题型", "the row has no type")
        return
    if base in SELECT_TYPES:
        if rest.strip() not in lists:
            yield _problem("survey", row.number, where, f"选项表中没有列表 {rest.strip()}",
                           f"choice list {rest.strip()!r} is not on the choices sheet")
    elif base not in QUESTION_TYPES | STRUCTURE or rest:
        yield _problem("survey", row.number, where, f"不支持的题型 {kind}",
                       f"type {kind!r} is not supported (supported: {', '.join(sorted(QUESTION_TYPES))}, "
                       "select_one LIST, select_multiple LIST, begin_group/end_group, "
                       "begin_repeat/end_repeat)")
    if base == "begin_repeat":
        if "repeat" in depth:
            yield _problem("survey", row.number, where, "不支持重复组嵌套",
                           "a repeat inside a repeat is not supported")
        depth.append("repeat")
    elif base == "begin_group":
        depth.append("group")
    elif base in ("end_repeat", "end_group") and depth:
        depth.pop()
    name = row.cells.get("name", "")
    if base not in ("end_group", "end_repeat") and not _NAME.match(name):
        yield _problem("survey", row.number, _where(row, "name"), f"名称 {name!r} 不合法",
                       f"name {name!r} must start with a letter or _ and hold only letters, digits and _")
    for column in EXPRESSION_COLUMNS:
        text = row.cells.get(column, "")
        if not text or (column == "required" and text.lower() in _YES | _NO):
            continue
        try:
            unknown = sorted(references(parse(text, columns=column == "choice_filter")) - names)
        except ExpressionError as exc:
            yield SheetProblem("survey", row.number, _where(row, column), exc.message)
            continue
        if unknown:
            listed = ", ".join(f"${{{n}}}" for n in unknown)
            yield _problem("survey", row.number, _where(row, column), f"引用了不存在的字段 {listed}",
                           f"refers to no question of this form: {listed}")
    default = row.cells.get("default", "")
    if ("(" in default or "${" in default) and default != "today()":
        yield _problem("survey", row.number, _where(row, "default"), "默认值只能是常量或 today()",
                       "a default is a constant or today()")


def check_subset(book: Any) -> list[SheetProblem]:
    """Problems of the workbook against OneTrip's XLSForm subset (empty when it fits)."""
    problems: list[SheetProblem] = []
    if "survey" not in book.sheetnames:
        return [_problem("survey", 0, "", "缺少 survey 工作表", "the workbook has no survey sheet")]
    for extra in sorted(set(book.sheetnames) - {"survey", "choices", "settings"}):
        problems.append(_problem(extra, 0, "", f"不支持的工作表 {extra}",
                                 f"sheet {extra!r} is not supported"))
    headers, rows = _rows(book["survey"])
    problems += _check_headers("survey", headers, SURVEY_COLUMNS)
    lists: set[str] = set()
    if "choices" in book.sheetnames:
        choice_headers, choice_rows = _rows(book["choices"])
        for need in ("list_name", "name"):
            if need not in choice_headers:
                problems.append(_problem("choices", 1, "", f"缺少列 {need}",
                                         f"the choices sheet needs a {need} column"))
        lists = {r.cells.get("list_name", "") for r in choice_rows}
    depth: list[str] = []
    names = {r.cells["name"] for r in rows if "name" in r.cells}
    for row in rows:
        problems += _check_survey_row(row, lists, names, depth)
    if "settings" not in book.sheetnames:
        problems.append(_problem("settings", 0, "", "缺少 settings 工作表（需要 version）",
                                 "the workbook needs a settings sheet with a version"))
    else:
        setting_headers, setting_rows = _rows(book["settings"])
        problems += _check_headers("settings", setting_headers, SETTINGS_COLUMNS)
        version = setting_rows[0].cells.get("version", "") if setting_rows else ""
        if not _VERSION.match(version):
            problems.append(_problem("settings", 2, "version", "版本号缺失或不合法",
                                     "version is missing or not 1-40 letters, digits, '.', '_' or '-'"))
    return problems


def _pyxform_input(book: Any) -> bytes:
    """The workbook as pyxform reads it: `id_number` questions as `text`, one form_title."""
    sheet = book["survey"]
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    if "type" in headers:
        column = headers.index("type") + 1
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            if isinstance(cell.value, str) and cell.value.strip() == "id_number":
                cell.value = "text"
    settings = book["settings"]
    for cell in reversed(next(settings.iter_rows(max_row=1))):
        if isinstance(cell.value, str) and cell.value.startswith("form_title::"):
            settings.delete_cols(cell.column)  # pyxform reads one title; the definition keeps both
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: str(v) for k, v in value.items() if k in ("zh", "en")} or None
    return str(value) if value not in (None, "") else None


_TYPES = {"select one": "select_one", "select all that apply": "select_multiple", "select_one": "select_one",
          "select_multiple": "select_multiple"}


def _field(node: Mapping[str, Any], rows: Mapping[str, int], id_numbers: set[str]) -> dict[str, Any]:
    name = str(node["name"])
    kind = _TYPES.get(str(node.get("type")), str(node.get("type")))
    if name in id_numbers:
        kind = "id_number"
    bind: Mapping[str, Any] = node.get("bind") or {}
    out: dict[str, Any] = {"name": name, "type": kind, "row": rows.get(name, 0)}
    for key, value in (("label", _text(node.get("label"))), ("hint", _text(node.get("hint"))),
                       ("constraint", bind.get("constraint")), ("relevant", bind.get("relevant")),
                       ("calculation", bind.get("calculate")),
                       ("constraint_message", _text(bind.get("jr:constraintMsg"))),
                       ("required_message", _text(bind.get("jr:requiredMsg"))),
                       ("default", node.get("default")), ("list", node.get("list_name")),
                       ("choice_filter", node.get("choice_filter"))):
        if value not in (None, ""):
            out[key] = value
    required = str(bind.get("required") or "").strip()
    if required.lower() in _YES:
        out["required"] = "true()"
    elif required.lower() not in _NO:
        out["required"] = required
    if kind in ("group", "repeat"):
        out["fields"] = [_field(c, rows, id_numbers) for c in node.get("children", ())]
    return out


def _choices(book: Any) -> dict[str, list[dict[str, Any]]]:
    if "choices" not in book.sheetnames:
        return {}
    lists: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(book["choices"])[1]:
        cells = row.cells
        label = {lang: cells[f"label::{lang}"] for lang in ("zh", "en") if f"label::{lang}" in cells}
        if not label and "label" in cells:
            label = {"zh": cells["label"], "en": cells["label"]}
        columns = {k: v for k, v in cells.items()
                   if k not in ("list_name", "name") and not k.startswith("label")}
        lists.setdefault(cells.get("list_name", ""), []).append(
            {"name": cells.get("name", ""), "label": label, "columns": columns})
    return lists


def definition_of(data: bytes, item_code: str) -> dict[str, Any]:
    """The JSON definition of an XLSForm workbook; raises `FormSheetError` with every problem."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(data))
    except Exception as exc:  # openpyxl raises a variety of zip/XML errors for a non-xlsx file
        raise FormSheetError([_problem("", 0, "", "不是有效的 xlsx 文件",
                                       f"not an xlsx workbook ({exc})")]) from None
    problems = check_subset(book)
    if problems:
        raise FormSheetError(problems)
    _, survey_rows = _rows(book["survey"])
    rows = {r.cells["name"]: r.number for r in survey_rows if "name" in r.cells}
    id_numbers = {r.cells["name"] for r in survey_rows
                  if r.cells.get("type") == "id_number" and "name" in r.cells}
    settings = _rows(book["settings"])[1][0].cells
    try:
        result = convert(_pyxform_input(book), file_type=".xlsx", form_name="data")
    except (PyXFormError, ValueError, KeyError, AttributeError, TypeError) as exc:
        # pyxform's own refusals are PyXFormError; some malformed sheets make it fail deeper
        text = str(exc)
        found = _PYXFORM_ROW.search(text)
        raise FormSheetError([_problem("survey", int(found.group(1)) if found else 0, "",
                                       f"XLSForm 错误：{text}", f"XLSForm error: {text}")]) from None
    survey = result._pyxform or {}
    title = {lang: settings[f"form_title::{lang}"] for lang in ("zh", "en")
             if f"form_title::{lang}" in settings}
    definition: dict[str, Any] = {
        "format": FORMAT, "form_id": settings.get("form_id") or item_code, "version": settings["version"],
        "item_code": item_code, "title": title or settings.get("form_title") or item_code,
        "fields": [_field(c, rows, id_numbers) for c in survey.get("children", ())
                   if not (c.get("name") == "meta" and c.get("type") == "group")],
        "choices": _choices(book),
    }
    try:
        form_from_json(definition)  # the reader the app and the gateway use accepts it
    except FormDefinitionError as exc:
        raise FormSheetError([_problem("survey", 0, "", f"表单定义错误：{exc}",
                                       f"form definition error: {exc}")]) from None
    return definition
