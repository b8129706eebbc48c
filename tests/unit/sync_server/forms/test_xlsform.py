"""Workbooks refused with the sheet, row and column of each problem; a good one converted."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from shared.forms import form_from_json
from sync_server.forms.xlsform import FormSheetError, definition_of

HEAD = ["type", "name", "label::zh", "label::en", "required", "constraint", "constraint_message::zh",
        "constraint_message::en", "relevant", "calculation"]


def workbook(survey: list[list[Any]], *, head: list[str] = HEAD, choices: list[list[str]] | None = None,
             settings: list[str] | None = None, extra_sheet: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(head)
    for row in survey:
        sheet.append(row)
    listing = book.create_sheet("choices")
    listing.append(["list_name", "name", "label::zh", "label::en", "region"])
    yes_no = [["yn", "yes", "是", "Yes", ""], ["yn", "no", "否", "No", ""]]
    for row in choices if choices is not None else yes_no:
        listing.append(row)
    setting = book.create_sheet("settings")
    setting.append(["form_id", "version", "form_title", "default_language"])
    setting.append(settings if settings is not None else ["T-001", "1", "测试表", "zh"])
    if extra_sheet:
        book.create_sheet(extra_sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["text", "name", "姓名", "Name", "yes"],
    ["integer", "age", "年龄", "Age", "yes", ". >= 0 and . < 130", "年龄不对", "not an age"],
    ["select_one yn", "married", "已婚", "Married"],
    ["begin_repeat", "children", "子女", "Children"],
    ["text", "child_name", "姓名", "Name", "yes"],
    ["id_number", "child_id", "身份证号码", "ID number", "", "", "", "", "${married} = 'yes'"],
    ["end_repeat"],
    ["calculate", "child_count", "", "", "", "", "", "", "", "count(${children})"],
]


def problems(data: bytes) -> list[str]:
    with pytest.raises(FormSheetError) as caught:
        definition_of(data, "T-001")
    return [str(p) for p in caught.value.problems]


def test_a_good_workbook_converts_to_a_definition_the_evaluator_reads() -> None:
    definition = definition_of(workbook(GOOD), "T-001")
    form = form_from_json(definition)
    assert (form.form_id, form.version, form.item_code) == ("T-001", "1", "T-001")
    assert [f.name for f in form.walk()] == ["name", "age", "married", "children", "child_name", "child_id",
                                             "child_count"]
    assert form.field("child_id").type == "id_number"  # OneTrip's own type survives pyxform
    assert form.field("child_id").row == 7
    assert definition["fields"][1]["constraint_message"] == {"zh": "年龄不对", "en": "not an age"}
    assert form.field("child_id").repeat == "children"


@pytest.mark.parametrize(("change", "expected"), [
    ({7: ["geopoint", "where", "位置", "Where"]}, "survey!9 A (type): 不支持的题型 geopoint"),
    ({1: ["integer", "age", "年龄", "Age", "", ". >= "]}, "survey!3 F (constraint): 第 5 个字符：应为一个值"),
    ({1: ["integer", "age", "年龄", "Age", "", "", "", "", "${agee} > 1"]},
     "survey!3 I (relevant): 引用了不存在的字段 ${agee} / refers to no question of this form: ${agee}"),
    ({1: ["integer", "age", "年龄", "Age", "", "position(..) > 1"]}, "survey!3 F (constraint)"),
    ({2: ["select_one colours", "married", "已婚", "Married"]},
     "survey!4 A (type): 选项表中没有列表 colours"),
    ({4: ["begin_repeat", "grandchildren", "孙子女", "Grandchildren"]},
     "survey!6 A (type): 不支持重复组嵌套"),
    ({0: ["text", "1name", "姓名", "Name"]}, "survey!2 B (name): 名称 '1name' 不合法"),
    ({0: ["", "name", "姓名", "Name"]}, "survey!2 A (type): 缺少题型"),
])
def test_a_bad_row_is_named_by_sheet_row_and_column(change: dict[int, list[str]], expected: str) -> None:
    survey = [change.get(n, row) for n, row in enumerate(GOOD)]
    assert any(p.startswith(expected) for p in problems(workbook(survey))), problems(workbook(survey))


def test_every_problem_is_reported_at_once() -> None:
    survey = [["geopoint", "where"], ["text", "x", "", "", "", "foo(.)"], *GOOD]
    found = problems(workbook(survey))
    assert [p.split(":")[0] for p in found] == ["survey!2 A (type)", "survey!3 F (constraint)"]


def test_an_unsupported_column_is_named_in_the_header_row() -> None:
    found = problems(workbook([[*row, ""] for row in GOOD], head=[*HEAD, "appearance"]))
    assert found == ["survey!1 K (appearance): 不支持的列 appearance / column 'appearance' is not supported "
                     "by OneTrip's forms"]


def test_settings_need_a_version_and_extra_sheets_are_refused() -> None:
    assert any(p.startswith("settings!2 version") for p in problems(workbook(GOOD, settings=["T-001", ""])))
    extra = problems(workbook(GOOD, extra_sheet="external_choices"))
    assert any(p.startswith("external_choices!0") for p in extra)


def test_pyxform_refusals_keep_their_row() -> None:
    survey = [*GOOD, ["text", "name", "再一次", "Again"]]  # a duplicate name: pyxform's own rule
    found = problems(workbook(survey))
    assert len(found) == 1 and found[0].startswith("survey!10: XLSForm 错误：[row : 10]"), found
    assert "must be unique" in found[0]
    unmatched = problems(workbook([*GOOD, ["begin_group", "more", "更多", "More"]]))
    assert unmatched[0].startswith("survey!10: XLSForm") and "Unmatched 'begin_group'" in unmatched[0]


def test_a_file_that_is_not_a_workbook() -> None:
    assert problems(b"not a zip")[0].startswith("!0: 不是有效的 xlsx 文件")
