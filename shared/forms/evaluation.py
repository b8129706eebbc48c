"""The value of a parsed expression (表达式求值), with XPath 1.0's and ODK Collect's coercions.

An empty answer is `""`, which is not a number (NaN), so a comparison with it is false; a
`YYYY-MM-DD` string compared with a date or a number counts days since 1970-01-01, as ODK
Collect does; a node-set (tuple) equals a value when any member does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from shared.forms.expr import Call, Column, Current, Literal, Neg, Node, Ref, Value


@dataclass(frozen=True)
class Scope:
    """What an expression sees: `${name}` → value, `.` and the choice columns."""

    resolve: Callable[[str], Value]
    today: date
    current: Value = ""
    columns: Mapping[str, str] | None = None


_EPOCH = date(1970, 1, 1)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def to_number(value: Value) -> float:
    if isinstance(value, tuple):
        return to_number(value[0]) if value else math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, date):
        return float((value - _EPOCH).days)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if _DATE.match(text):
        try:
            return float((date.fromisoformat(text) - _EPOCH).days)
        except ValueError:
            return math.nan
    return math.nan


def to_string(value: Value) -> str:
    if isinstance(value, tuple):
        return to_string(value[0]) if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_bool(value: Value) -> bool:
    if isinstance(value, tuple):
        return bool(value)
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    if isinstance(value, str):
        return value != ""
    return bool(value)


def _compare(op: str, left: Value, right: Value) -> bool:
    if isinstance(left, tuple) or isinstance(right, tuple):  # node-set: true if any member is
        lefts = left if isinstance(left, tuple) else (left,)
        rights = right if isinstance(right, tuple) else (right,)
        return any(_compare(op, a, b) for a in lefts for b in rights)
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            same = to_bool(left) == to_bool(right)
        elif isinstance(left, (float, date)) or isinstance(right, (float, date)):
            same = to_number(left) == to_number(right)
        else:
            same = left == right
        return same if op == "=" else not same
    a, b = to_number(left), to_number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arith(op: str, left: Value, right: Value) -> float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        return a / b if b != 0 else (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a))
    return math.fmod(a, b) if b != 0 else math.nan


def _selected(value: Value) -> list[str]:
    """The choices of a select_multiple answer (a list, or XLSForm's space-separated text)."""
    if isinstance(value, tuple):
        return [to_string(v) for v in value]
    return to_string(value).split()


def _call(node: Call, scope: Scope) -> Value:
    name = node.name
    if name == "if":
        cond = to_bool(evaluate(node.args[0], scope))
        return evaluate(node.args[1] if cond else node.args[2], scope)
    args = [evaluate(a, scope) for a in node.args]
    if name == "today":
        return scope.today
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "not":
        return not to_bool(args[0])
    if name == "selected":
        return to_string(args[1]) in _selected(args[0])
    if name == "count-selected":
        return float(len(_selected(args[0])))
    if name == "count":
        return float(len(args[0])) if isinstance(args[0], tuple) else (1.0 if args[0] != "" else 0.0)
    if name == "sum":
        items = args[0] if isinstance(args[0], tuple) else (args[0],)
        return math.fsum(to_number(v) for v in items if v != "")
    if name == "string-length":
        return float(len(to_string(args[0])))
    if name == "regex":
        try:
            return re.fullmatch(to_string(args[1]), to_string(args[0])) is not None
        except re.error:
            return False
    if name == "number":
        return to_number(args[0])
    if name == "string":
        return to_string(args[0])
    if name == "concat":
        return "".join(to_string(a) for a in args)
    if name == "int":
        number = to_number(args[0])
        return float(math.trunc(number)) if math.isfinite(number) else number
    # round(x[, digits]): half away from zero, as ODK does
    number, digits = to_number(args[0]), (int(to_number(args[1])) if len(args) > 1 else 0)
    if not math.isfinite(number):
        return number
    scale = 10.0 ** digits
    return math.copysign(math.floor(abs(number) * scale + 0.5) / scale, number)


def evaluate(node: Node, scope: Scope) -> Value:
    """The expression's value in `scope` (never raises for a parsed expression)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Ref):
        return scope.resolve(node.name)
    if isinstance(node, Current):
        return scope.current
    if isinstance(node, Column):
        return (scope.columns or {}).get(node.name, "")
    if isinstance(node, Neg):
        return -to_number(evaluate(node.operand, scope))
    if isinstance(node, Call):
        return _call(node, scope)
    if node.op == "or":
        return to_bool(evaluate(node.left, scope)) or to_bool(evaluate(node.right, scope))
    if node.op == "and":
        return to_bool(evaluate(node.left, scope)) and to_bool(evaluate(node.right, scope))
    left, right = evaluate(node.left, scope), evaluate(node.right, scope)
    if node.op in ("=", "!=", "<", "<=", ">", ">="):
        return _compare(node.op, left, right)
    return _arith(node.op, left, right)
