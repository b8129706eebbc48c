"""Catalog file loader and validator (事项目录校验) with line-precise errors.

Reads the JSON text of a catalog file (format in docs/catalog.md), checks every rule and
reports all problems at once as `CatalogError` entries "file:line: 中文 / English", the
line being where the offending key (or, for a missing key, its object) stands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from shared.catalog_model import (
    DEFAULT_TIME_LIMIT,
    Catalog,
    Category,
    Complexity,
    Item,
    Material,
    MaterialForm,
    MaterialKind,
    Situation,
)
from shared.divisions import Level
from shared.errors import CatalogError
from shared.jsonpos import JsonPath, line_of, locate

FORMAT: Final = 1
CATEGORY_CODE: Final = re.compile(r"[A-Z]{2}")
ITEM_CODE: Final = re.compile(r"([A-Z]{2})-([0-9]{3})")  # category + number: SB-001
# Requirement codes name attachments (`<code>-<n>.jpg`) and the `missing` list: keep them plain.
LOCAL_CODE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")

_TOP: Final = {"format", "version", "note", "categories", "material_kinds", "items"}
_CATEGORY: Final = {"code", "name_zh", "name_en"}
_KIND: Final = {"code", "name_zh", "name_en", "valid_months"}
_ITEM: Final = {
    "code", "name_zh", "name_en", "category", "level", "complexity", "time_limit_days", "legal_basis",
    "conditions_zh", "conditions_en", "fee_zh", "fee_en", "materials", "situations",
    "separate_intake_approval",
}  # fmt: skip
_MATERIAL: Final = {
    "code", "name_zh", "name_en", "copies", "form", "required", "kind",
    "validity_note_zh", "validity_note_en",
}  # fmt: skip
_SITUATION: Final = {"code", "name_zh", "name_en", "materials"}

Obj = dict[str, Any]


class _Checker:
    """Collects problems with their lines while building the model."""

    def __init__(self, source: str, lines: dict[JsonPath, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[tuple[int, str]] = []

    def problem(self, path: JsonPath, zh: str, en: str) -> None:
        line = line_of(self.lines, path)
        self.problems.append((line, f"{self.source}:{line}: {zh} / {en}"))

    def obj(self, value: object, path: JsonPath, keys: set[str]) -> Obj | None:
        if not isinstance(value, dict):
            self.problem(path, "应为对象", "must be an object")
            return None
        for key in sorted(set(value) - keys):
            self.problem((*path, key), f"未知字段 {key!r}", f"unknown field {key!r}")
        return value

    def text(self, obj: Obj, path: JsonPath, key: str, *, required: bool = True, default: str = "") -> str:
        value = obj.get(key)
        if value is None and not required:
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(
                (*path, key), f"缺少 {key} 或不是非空文本", f"{key} is missing or not a non-empty text"
            )
            return default
        return value.strip()

    def code(self, obj: Obj, path: JsonPath, pattern: re.Pattern[str], what: str) -> str:
        value = obj.get("code")
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.problem((*path, "code"), f"{what}代码无效：{value!r}", f"invalid {what} code: {value!r}")
            return ""
        return value

    def positive(self, obj: Obj, path: JsonPath, key: str, default: int | None) -> int | None:
        value = obj.get(key, default)
        if value is default:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problem(
                (*path, key), f"{key} 应为正整数：{value!r}", f"{key} must be a positive integer: {value!r}"
            )
            return default
        return value

    def choice(
        self, obj: Obj, path: JsonPath, key: str, enum: Callable[[Any], Any], default: Any = None
    ) -> Any:
        value = obj.get(key)
        if value is None and default is not None:
            return default
        try:
            return enum(value)
        except (ValueError, TypeError):
            self.problem((*path, key), f"{key} 的取值无效：{value!r}", f"invalid {key}: {value!r}")
            return default

    def items_of(self, obj: Obj, path: JsonPath, key: str, *, min_items: int = 0) -> list[Any]:
        value = obj.get(key, [] if min_items == 0 else None)
        if not isinstance(value, list) or len(value) < min_items:
            self.problem(
                (*path, key), f"{key} 应为至少 {min_items} 项的列表", f"{key} must list at least {min_items}"
            )
            return value if isinstance(value, list) else []
        return value

    def unique(self, codes: list[tuple[str, JsonPath]], what_zh: str, what_en: str) -> None:
        seen: set[str] = set()
        for code, path in codes:
            if code and code in seen:
                self.problem(
                    (*path, "code"), f"{what_zh}代码重复：{code}", f"duplicate {what_en} code: {code}"
                )
            seen.add(code)


def load_catalog(text: str, *, source: str = "catalog.json") -> Catalog:
    """Parse and validate a catalog file's text; raise `CatalogError` listing every problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError(
            [f"{source}:{e.lineno}: JSON 语法错误：{e.msg} / JSON syntax error: {e.msg}"]
        ) from None
    check = _Checker(source, locate(text))
    catalog = _catalog(check, data)
    if check.problems or catalog is None:
        raise CatalogError([entry for _, entry in sorted(check.problems, key=lambda p: p[0])])
    return catalog


def _catalog(check: _Checker, data: object) -> Catalog | None:
    top = check.obj(data, (), _TOP)
    if top is None:
        return None
    if top.get("format") != FORMAT:
        check.problem(("format",), f"format 应为 {FORMAT}", f"format must be {FORMAT}")
    version = check.text(top, (), "version")
    categories = [
        _category(check, c, ("categories", n)) for n, c in enumerate(check.items_of(top, (), "categories"))
    ]
    kinds = [
        _kind(check, k, ("material_kinds", n))
        for n, k in enumerate(check.items_of(top, (), "material_kinds"))
    ]
    check.unique([(c.code, ("categories", n)) for n, c in enumerate(categories)], "类别", "category")
    check.unique([(k.code, ("material_kinds", n)) for n, k in enumerate(kinds)], "材料类型", "material kind")
    known = _Known({c.code for c in categories}, {k.code for k in kinds})
    raw_items = check.items_of(top, (), "items", min_items=1)
    items = [_item(check, raw, ("items", n), known) for n, raw in enumerate(raw_items)]
    check.unique([(i.code, ("items", n)) for n, i in enumerate(items) if i], "事项", "item")
    return Catalog(version, tuple(categories), tuple(kinds), tuple(i for i in items if i))


class _Known:
    def __init__(self, categories: set[str], kinds: set[str]) -> None:
        self.categories = categories
        self.kinds = kinds


def _category(check: _Checker, raw: object, path: JsonPath) -> Category:
    obj = check.obj(raw, path, _CATEGORY) or {}
    return Category(
        check.code(obj, path, CATEGORY_CODE, "类别 category "),
        check.text(obj, path, "name_zh"),
        check.text(obj, path, "name_en", required=False),
    )


def _kind(check: _Checker, raw: object, path: JsonPath) -> MaterialKind:
    obj = check.obj(raw, path, _KIND) or {}
    return MaterialKind(
        check.code(obj, path, LOCAL_CODE, "材料类型 kind "),
        check.text(obj, path, "name_zh"),
        check.text(obj, path, "name_en", required=False),
        check.positive(obj, path, "valid_months", None),
    )


def _item(check: _Checker, raw: object, path: JsonPath, known: _Known) -> Item | None:
    obj = check.obj(raw, path, _ITEM)
    if obj is None:
        return None
    code = check.code(obj, path, ITEM_CODE, "事项 item ")
    category = check.text(obj, path, "category")
    if category and category not in known.categories:
        check.problem((*path, "category"), f"未定义的类别：{category}", f"undefined category: {category}")
    elif code and category and not code.startswith(category + "-"):
        check.problem(
            (*path, "code"), f"事项代码应以类别 {category}- 开头", f"item code must start with {category}-"
        )
    complexity = check.choice(obj, path, "complexity", Complexity, Complexity.ORDINARY)
    basis = check.items_of(obj, path, "legal_basis", min_items=1)
    for n, entry in enumerate(basis):
        if not isinstance(entry, str) or not entry.strip():
            check.problem(
                (*path, "legal_basis", n), "设定依据应为非空文本", "legal_basis entries must be non-empty"
            )
    materials = _materials(check, obj, path, known)
    situations = [
        _situation(check, s, (*path, "situations", n), materials)
        for n, s in enumerate(check.items_of(obj, path, "situations", min_items=1))
    ]
    check.unique([(s.code, (*path, "situations", n)) for n, s in enumerate(situations)], "情形", "situation")
    used = {m.code for s in situations for m in s.materials}
    for n, material in enumerate(materials.values()):
        if material.code not in used:
            check.problem(
                (*path, "materials", n, "code"),
                f"材料 {material.code} 未被任何情形使用",
                f"material {material.code} is used by no situation",
            )
    level = check.choice(obj, path, "level", Level)
    separate = obj.get("separate_intake_approval", True)
    if not isinstance(separate, bool):
        check.problem((*path, "separate_intake_approval"), "separate_intake_approval 应为 true 或 false",
                      "separate_intake_approval must be true or false")
        separate = True
    return Item(
        code=code,
        name_zh=check.text(obj, path, "name_zh"),
        name_en=check.text(obj, path, "name_en", required=False),
        category=category,
        level=level,
        complexity=complexity,
        time_limit_days=check.positive(obj, path, "time_limit_days", DEFAULT_TIME_LIMIT[complexity])
        or DEFAULT_TIME_LIMIT[complexity],
        legal_basis=tuple(str(b).strip() for b in basis),
        conditions_zh=check.text(obj, path, "conditions_zh", required=False),
        conditions_en=check.text(obj, path, "conditions_en", required=False),
        fee_zh=check.text(obj, path, "fee_zh", required=False, default="免费"),
        fee_en=check.text(obj, path, "fee_en", required=False, default="Free"),
        situations=tuple(situations),
        separate_intake_approval=separate,
    )


def _materials(check: _Checker, item: Obj, path: JsonPath, known: _Known) -> dict[str, Material]:
    found: dict[str, Material] = {}
    for n, raw in enumerate(check.items_of(item, path, "materials", min_items=1)):
        mpath = (*path, "materials", n)
        obj = check.obj(raw, mpath, _MATERIAL) or {}
        kind = obj.get("kind")
        if kind is not None and kind not in known.kinds:
            check.problem(
                (*mpath, "kind"), f"未定义的材料类型：{kind!r}", f"undefined material kind: {kind!r}"
            )
        required = obj.get("required", True)
        if not isinstance(required, bool):
            check.problem(
                (*mpath, "required"), "required 应为 true 或 false", "required must be true or false"
            )
        material = Material(
            code=check.code(obj, mpath, LOCAL_CODE, "材料 material "),
            name_zh=check.text(obj, mpath, "name_zh"),
            name_en=check.text(obj, mpath, "name_en", required=False),
            copies=check.positive(obj, mpath, "copies", 1) or 1,
            form=check.choice(obj, mpath, "form", MaterialForm, MaterialForm.ORIGINAL),
            required=required is not False,
            kind=kind if isinstance(kind, str) else None,
            validity_note_zh=check.text(obj, mpath, "validity_note_zh", required=False),
            validity_note_en=check.text(obj, mpath, "validity_note_en", required=False),
        )
        if material.code in found:
            check.problem(
                (*mpath, "code"),
                f"材料代码重复：{material.code}",
                f"duplicate material code: {material.code}",
            )
        found.setdefault(material.code, material)
    return found


def _situation(check: _Checker, raw: object, path: JsonPath, materials: dict[str, Material]) -> Situation:
    obj = check.obj(raw, path, _SITUATION) or {}
    chosen: list[Material] = []
    for n, ref in enumerate(check.items_of(obj, path, "materials", min_items=1)):
        if not isinstance(ref, str) or ref not in materials:
            check.problem(
                (*path, "materials", n),
                f"情形引用了未定义的材料：{ref!r}",
                f"situation names an undefined material: {ref!r}",
            )
        elif any(m.code == ref for m in chosen):
            check.problem((*path, "materials", n), f"材料重复列出：{ref}", f"material listed twice: {ref}")
        else:
            chosen.append(materials[ref])
    return Situation(
        code=check.code(obj, path, LOCAL_CODE, "情形 situation "),
        name_zh=check.text(obj, path, "name_zh"),
        name_en=check.text(obj, path, "name_en", required=False),
        materials=tuple(chosen),
    )
