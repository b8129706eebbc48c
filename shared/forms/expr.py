"""XLSForm expressions (表单表达式): the subset OneTrip's forms use, parsed once, evaluated anywhere.

The grammar (XPath 1.0 operators, XLSForm references)::

    expr    := or
    or      := and ("or" and)*
    and     := compare ("and" compare)*
    compare := sum (("=" | "!=" | "<" | "<=" | ">" | ">=") sum)*
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "div" | "mod") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | STRING | "${" NAME "}" | "." | NAME "(" args ")" | "(" expr ")"
               | NAME  (a choice column, only in a choice_filter)

Values are `str`, `float`, `bool`, `datetime.date` or a tuple (the answers of one field across
the instances of a repeat: a node-set); `shared.forms.evaluation` gives a tree its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.errors import DomainError
from shared.text import Message

Value = str | float | bool | date | tuple["Value", ...]


class ExpressionError(DomainError):
    """An expression outside the supported subset or malformed; `.column` is the 1-based offset."""

    def __init__(self, zh: str, en: str, column: int = 0) -> None:
        super().__init__(Message(zh, en))
        self.column = column


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Ref:
    """`${name}`: a field's answer."""

    name: str


@dataclass(frozen=True)
class Current:
    """`.`: the answer of the field the expression belongs to (constraints)."""


@dataclass(frozen=True)
class Column:
    """A bare name in a choice_filter: the choice's column of that name."""

    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Literal | Ref | Current | Column | Call | BinOp | Neg

# name -> (fewest, most) arguments; None = any number.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2), "count-selected": (1, 1), "count": (1, 1), "sum": (1, 1), "if": (3, 3),
    "today": (0, 0), "string-length": (1, 1), "regex": (2, 2), "not": (1, 1), "true": (0, 0),
    "false": (0, 0), "number": (1, 1), "string": (1, 1), "concat": (1, None), "round": (1, 2),
    "int": (1, 1),
}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,|\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z_][A-Za-z0-9_\-]*)?)
""", re.VERBOSE)
_KEYWORD_OPS = {"and", "or", "div", "mod"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # ref, number, string, op, name, end
    text: str
    column: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(f"第 {pos + 1} 个字符无法识别：{text[pos:pos + 10]!r}",
                                  f"unexpected character at {pos + 1}: {text[pos:pos + 10]!r}", pos + 1)
        kind = match.lastgroup or ""
        if kind == "refname":
            kind = "ref"
        if kind != "space":
            value = match.group("refname") if kind == "ref" else match.group(0)
            out.append(_Tok(kind, value, pos + 1))
        pos = match.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, columns: bool) -> None:
        self.toks = _tokens(text)
        self.at = 0
        self.columns = columns

    def peek(self) -> _Tok:
        return self.toks[self.at]

    def take(self) -> _Tok:
        tok = self.toks[self.at]
        self.at += 1
        return tok

    def is_op(self, *ops: str) -> bool:
        tok = self.peek()
        return (tok.kind == "op" and tok.text in ops) or (tok.kind == "name" and tok.text in ops
                                                           and tok.text in _KEYWORD_OPS)

    def expect(self, op: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.text != op:
            raise _unexpected(tok, f"“{op}”", repr(op))

    def binary(self, ops: tuple[str, ...], lower: Callable[[], Node]) -> Node:
        node = lower()
        while self.is_op(*ops):
            op = self.take().text
            node = BinOp(op, node, lower())
        return node

    def expr(self) -> Node:
        return self.binary(("or",), self.and_)

    def and_(self) -> Node:
        return self.binary(("and",), self.compare)

    def compare(self) -> Node:
        return self.binary(("=", "!=", "<", "<=", ">", ">="), self.sum)

    def sum(self) -> Node:
        return self.binary(("+", "-"), self.product)

    def product(self) -> Node:
        return self.binary(("*", "div", "mod"), self.unary)

    def unary(self) -> Node:
        if self.is_op("-"):
            self.take()
            return Neg(self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Literal(float(tok.text))
        if tok.kind == "string":
            return Literal(tok.text[1:-1])
        if tok.kind == "ref":
            return Ref(tok.text)
        if tok.kind == "op" and tok.text == ".":
            return Current()
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if tok.kind == "name" and tok.text not in _KEYWORD_OPS:
            if self.is_op("("):
                return self.call(tok)
            if self.columns:
                return Column(tok.text)
            raise ExpressionError(
                f"第 {tok.column} 个字符：不支持路径 {tok.text!r}，请用 ${{字段名}} 引用字段",
                f"at {tok.column}: paths like {tok.text!r} are not supported; refer to fields as ${{name}}",
                tok.column)
        raise _unexpected(tok, "一个值", "a value")

    def call(self, tok: _Tok) -> Node:
        arity = FUNCTIONS.get(tok.text)
        if arity is None:
            raise ExpressionError(f"第 {tok.column} 个字符：不支持的函数 {tok.text}()",
                                  f"at {tok.column}: function {tok.text}() is not supported "
                                  f"(supported: {', '.join(sorted(FUNCTIONS))})", tok.column)
        self.expect("(")
        args: list[Node] = []
        if not self.is_op(")"):
            args.append(self.expr())
            while self.is_op(","):
                self.take()
                args.append(self.expr())
        self.expect(")")
        least, most = arity
        if len(args) < least or (most is not None and len(args) > most):
            raise ExpressionError(f"第 {tok.column} 个字符：{tok.text}() 的参数个数不对",
                                  f"at {tok.column}: {tok.text}() takes {least}"
                                  f"{'' if most == least else '+' if most is None else f'-{most}'} "
                                  f"argument(s), got {len(args)}", tok.column)
        return Call(tok.text, tuple(args))


def _unexpected(tok: _Tok, want_zh: str, want_en: str) -> ExpressionError:
    got = tok.text or "末尾"
    return ExpressionError(f"第 {tok.column} 个字符：应为{want_zh}，却是 {got!r}",
                           f"at {tok.column}: expected {want_en}, got {tok.text or 'end of expression'!r}",
                           tok.column)


def parse(text: str, *, columns: bool = False) -> Node:
    """The expression's tree; `columns`: bare names are choice columns (choice_filter)."""
    parser = _Parser(text, columns)
    node = parser.expr()
    tok = parser.peek()
    if tok.kind != "end":
        raise _unexpected(tok, "表达式结束", "the end of the expression")
    return node


def references(node: Node) -> set[str]:
    """The field names `${…}` the expression reads."""
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, BinOp):
        return references(node.left) | references(node.right)
    if isinstance(node, Neg):
        return references(node.operand)
    if isinstance(node, Call):
        return set().union(*(references(a) for a in node.args)) if node.args else set()
    return set()
