"""The expression subset against a table: text, answers it sees, expected value."""

from __future__ import annotations

import math
from datetime import date

import pytest

from shared.forms.evaluation import Scope, evaluate, to_number
from shared.forms.expr import ExpressionError, Value, parse, references

TODAY = date(2026, 12, 7)
ANSWERS: dict[str, Value] = {
    "income": 1200.0, "name": "王小明", "empty": "", "birth": "1960-05-01", "kinds": "food rent",
    "incomes": (800.0, 400.0, ""), "members": ("1", "1", "1"), "area": 45.5, "grade": "3",
}


def run(text: str, current: Value = "", columns: dict[str, str] | None = None) -> Value:
    node = parse(text, columns=columns is not None)
    return evaluate(node, Scope(lambda name: ANSWERS.get(name, ""), TODAY, current, columns))


TABLE: list[tuple[str, Value]] = [
    ("1 + 2 * 3", 7.0),
    ("(1 + 2) * 3", 9.0),
    ("7 div 2", 3.5),
    ("7 mod 3", 1.0),
    ("-${income} + 1", -1199.0),
    ("${income} > 1000", True),
    ("${income} >= 1200 and ${income} <= 1200", True),
    ("${income} < 1000 or ${name} = '王小明'", True),
    ("${income} != 1200", False),
    ("${empty} > 0", False),  # an empty answer is not a number: every comparison is false
    ("${empty} = ''", True),
    ("${missing} = ''", True),
    ("${grade} = 3", True),  # text compared with a number: as numbers
    ("${grade} = '3'", True),
    ("${birth} <= today()", True),  # a date answer against today(): days since 1970
    ("${birth} > today()", False),
    ("today() - ${birth} > 365 * 60", True),
    ("selected(${kinds}, 'rent')", True),
    ("selected(${kinds}, 'medical')", False),
    ("count-selected(${kinds})", 2.0),
    ("count-selected(${empty})", 0.0),
    ("count(${members})", 3.0),
    ("sum(${incomes})", 1200.0),  # empty answers in a repeat are skipped
    ("sum(${incomes}) + ${income}", 2400.0),
    ("if(${income} > 1000, 'high', 'low')", "high"),
    ("if(${empty} = '', 0, 1)", 0.0),
    ("string-length(${name})", 3.0),
    ("string-length(.) = 1", True),
    ("regex(., '^1[3-9][0-9]{9}$')", False),
    ("regex('13812345678', '^1[3-9][0-9]{9}$')", True),
    ("regex('x', '[')", False),  # a broken pattern matches nothing
    (". > 0 and . < 1000", False),
    ("not(${income} > 0)", False),
    ("true() and not(false())", True),
    ("number('12.5') + 1", 13.5),
    ("concat(${name}, '-', 3)", "王小明-3"),
    ("round(2.5)", 3.0),
    ("round(-2.5)", -3.0),
    ("round(3.14159, 2)", 3.14),
    ("int(7.9)", 7.0),
    ("${area} * 2", 91.0),
    ("1 div 0", math.inf),
    ("${incomes} = 800", True),  # a node-set equals a value when any member does
    ("count(${income})", 1.0),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_expression_table(text: str, expected: Value) -> None:
    assert run(text, current="短") == expected


def test_choice_filter_reads_the_choice_columns() -> None:
    assert run("county = ${grade}", columns={"county": "3"}) is True
    assert run("county = ${grade}", columns={"county": "4"}) is False


def test_nan_and_dates_as_numbers() -> None:
    assert math.isnan(to_number("abc"))
    assert to_number("1970-01-11") == 10.0
    assert math.isnan(to_number("2026-02-30"))


REFUSED = [
    ("${income} +", "expected a value"),
    ("foo(1)", "function foo() is not supported"),
    ("../income > 1", "unexpected character"),
    ("income > 1", "paths like 'income' are not supported"),
    ("if(1, 2)", "if() takes 3 argument(s), got 2"),
    ("(1 + 2", "expected ')'"),
    ("1 2", "expected the end of the expression"),
    ("${a} ~ 1", "unexpected character at 6"),
    ("position(..)", "not supported"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_expressions_outside_the_subset_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert reason in caught.value.message.en
    assert caught.value.message.zh


def test_references_lists_the_fields_read() -> None:
    assert references(parse("if(${a} > 1, sum(${b}), -${c})")) == {"a", "b", "c"}
