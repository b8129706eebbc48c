"""Township staff screens (乡镇): conflict review side by side, and supervision figures.

Both need the network (the server holds the reviews and the figures); the case actions
(accept, request materials, forward, approve) work offline in the case detail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi, StaffApiError
from mobile.viewmodels.china_time import show_time
from mobile.viewmodels.names import Names


@dataclass(frozen=True)
class FieldChoice:
    """One conflicting field: the values side by side, and the one chosen (index) if any.

    `sources[i]` says who made `values[i]`, on which device and when ("" when unknown).
    """

    path: str
    values: tuple[Any, ...]
    chosen: int | None
    sources: tuple[str, ...] = ()


@dataclass
class Review:
    case_id: str
    database: str
    village: str
    fields: dict[str, list[Any]]
    chosen: dict[str, int]
    sources: dict[str, list[Any]] = field(default_factory=dict)


FIELD_LABELS = {
    "applicant.name": "姓名 Name",
    "applicant.id_number": "身份证号 ID number",
    "applicant.phone": "手机号 Phone",
    "item_code": "事项 Item",
    "situation": "情形 Situation",
    "status": "状态 Status",
}


class ReviewsViewModel:
    """Open conflict reviews of the staff member's township; a choice per field, then decide."""

    def __init__(
        self, api: Callable[[], StaffApi], township: str, t: Translator, *, names: Names | None = None
    ) -> None:
        self.api = api
        self.township = township
        self.t = t
        self.names = names or Names(t, None, {})
        self.reviews: list[Review] = []
        self.error = ""
        self.message = ""

    async def load(self) -> None:
        self.error = ""
        try:
            rows = await self.api().reviews(self.township)
        except StaffApiError as error:
            self.error = str(error)
            return
        self.reviews = [
            Review(
                str(r["case_id"]),
                str(r["database"]),
                self.names.place(str(r.get("village", ""))),
                dict(r.get("fields", {})),
                {},
                dict(r.get("sources") or {}),
            )
            for r in rows
        ]

    def choices(self, review: Review) -> list[FieldChoice]:
        return [
            FieldChoice(path, tuple(values), review.chosen.get(path),
                        self._sources(review, path, len(values)))
            for path, values in review.fields.items()
        ]

    def _sources(self, review: Review, path: str, count: int) -> tuple[str, ...]:
        """Who (the pushing user, as the server recorded it), which device, when — per version."""
        listed = review.sources.get(path) or []
        shown = []
        for n in range(count):
            s = listed[n] if n < len(listed) and isinstance(listed[n], dict) else {}
            who = str(s.get("by") or "")
            device = str(s.get("pushed_from") or s.get("device") or "")
            when = show_time(str(s.get("received_at") or s.get("edited_at") or ""))
            parts = [self.names.person(who) if who else "提交人未知 unknown user",
                     f"设备 Device {device or '—'}", when or "时间未知 unknown time"]
            shown.append("\n".join(parts))  # one line each: a 360 px column is narrow
        return tuple(shown)

    @staticmethod
    def label(path: str) -> str:
        return FIELD_LABELS.get(path, path)

    def choose(self, review: Review, path: str, index: int) -> None:
        review.chosen[path] = index

    def ready(self, review: Review) -> bool:
        return set(review.chosen) == set(review.fields)

    async def decide(self, review: Review) -> bool:
        """Sends the choice of every field; the server records it and clears `needs_review`."""
        self.error = self.message = ""
        if not self.ready(review):
            self.error = "请为每个字段选择一个值 Choose a value for every field"
            return False
        fields = {path: review.fields[path][i] for path, i in review.chosen.items()}
        try:
            await self.api().decide(review.case_id, review.database, fields)
        except StaffApiError as error:
            self.error = str(error)
            return False
        self.reviews.remove(review)
        self.message = self.t("action_done")
        return True


class SupervisionViewModel:
    """Yellow and red cards per village and person, handling time, satisfaction (电子监察)."""

    def __init__(self, api: Callable[[], StaffApi], township: str, *, names: Names | None = None) -> None:
        self.api = api
        self.township = township
        self.names = names or Names(Translator("zh"), None, {})
        self.data: dict[str, Any] = {}
        self.error = ""
        self.opened = ""  # the figure whose cases are listed ("" = none)

    async def load(self) -> None:
        self.error = ""
        try:
            self.data = await self.api().supervision(self.township)
        except StaffApiError as error:
            self.error = str(error)

    def figures(self) -> list[Figure]:
        """The lines with the key that lists their cases (`drill`): every number opens its cases."""
        lines = self.lines()
        if not lines:  # not loaded yet, or offline
            return []
        keys = ["red", "yellow", "finished", "finished", "rated"]
        keys += [f"village:{v}" for v in self.data.get("villages", {})]
        keys += [f"staff:{p}" for p in self.data.get("staff", {})]
        return [Figure(label, value, key) for (label, value), key in zip(lines, keys, strict=True)]

    def toggle(self, key: str) -> None:
        """Opens a figure's list of cases, or closes it when it is the open one."""
        self.opened = "" if self.opened == key else key

    def drill(self, key: str) -> list[CaseRef]:
        """The cases behind a figure (its key from `figures`), as the figure counts them."""
        cases = [c for c in self.data.get("cases", []) if isinstance(c, dict)]
        kind, _, who = key.partition(":")
        match kind:
            case "red" | "yellow":
                chosen = [c for c in cases if c.get("state") == "open" and c.get("card") == kind]
            case "finished":
                chosen = [c for c in cases if c.get("state") == "finished"]
            case "rated":
                chosen = [c for c in cases if c.get("rated")]
            case "village":  # its line counts the open cases (red and yellow among them)
                chosen = [c for c in cases if c.get("village") == who and c.get("state") == "open"]
            case "staff":  # their line counts open and finished cases
                chosen = [c for c in cases if who in (c.get("agent"), c.get("accepted_by"))
                          and c.get("state") in ("open", "finished")]
            case _:
                chosen = []
        return [_case_ref(c, self.names) for c in chosen]

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) rows ready to show; counts spelled out, not only coloured."""
        d = self.data
        if not d:
            return []
        sat = d.get("satisfaction", {})
        rows = [
            ("红牌（超期）Red: overdue", str(len(d.get("overdue", [])))),
            ("黄牌（剩1天）Yellow: 1 day left", str(len(d.get("due_soon", [])))),
            ("平均办理天数 Average handling days", _days(d.get("average_handling_days"))),
            ("本地办结比例 Finished locally", _pct(d.get("local_share"))),
            ("满意度 Satisfaction", _rating(sat.get("average"), sat.get("count", 0))),
        ]
        for village, v in d.get("villages", {}).items():
            rows.append(
                (f"村 Village {self.names.place(village)}",
                 f"红 {v['overdue']} · 黄 {v['due_soon']} · 在办 {v['open']}")
            )
        for person, v in d.get("staff", {}).items():
            rows.append(
                (f"人员 Staff {self.names.person(person)}",
                 f"红 {v['overdue']} · 黄 {v['due_soon']} · 办结 {v['finished']}")
            )
        return rows


@dataclass(frozen=True)
class Figure:
    """A supervision line and the key of its drill-down (`SupervisionViewModel.drill`)."""

    label: str
    value: str
    key: str


@dataclass(frozen=True)
class CaseRef:
    """A case in a drill-down list; `case_id` opens its detail."""

    case_id: str
    title: str
    note: str


_CARDS = {"red": "红牌 Red", "yellow": "黄牌 Yellow"}


def _case_ref(c: dict[str, Any], names: Names) -> CaseRef:
    """The village by its name and the status in words, as on the lines above the list."""
    case_id = str(c.get("case_id", ""))
    card = _CARDS.get(str(c.get("card")), "")
    title = f"{c.get('item_code', '')} · 办件 Case {case_id[-8:]}"
    status = str(c.get("status") or "")
    note = " · ".join(x for x in (card, f"村 Village {names.place(str(c.get('village', '')))}",
                                  f"期限 Due {c.get('deadline') or '—'}",
                                  names.t(f"status_{status}") if status else "") if x)
    return CaseRef(case_id, title, note)


def _days(value: Any) -> str:
    """Working days, one decimal, with the unit: "3.3 天 days"."""
    return "—" if value is None else f"{float(value):.1f} 天 days"


def _rating(average: Any, count: Any) -> str:
    """The citizens' average rating out of 5 and how many rated: "4.6 / 5（12 人评价 ratings）"."""
    return "—" if average is None else f"{float(average):.1f} / 5（{count} 人评价 ratings）"


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f}%"
