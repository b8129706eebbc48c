"""Test data for the app's view-models: a signed-in agent's case book over a real LocalStore."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mobile.services.device_state import Account
from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook, DocStore
from mobile.viewmodels.items import ItemChoice, Requirement, Situation
from shared.idnumber import make_id_number
from tests.unit.mobile.fakes import AGENT

VILLAGE = "330212001001"


class Clock:
    """A settable aware clock, one second per call so that events order."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def make_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "agent.sqlite")


def make_book(store: DocStore, account: Account = AGENT, clock: Clock | None = None) -> CaseBook:
    return CaseBook(store, account, "dev-test", clock or Clock())


def id_number(sequence: int = 123, birth: date = date(1956, 3, 8)) -> str:
    return make_id_number("330212", birth, sequence)


def make_case(book: CaseBook, **overrides: Any) -> dict[str, Any]:
    """A saved case; overrides are top-level fields (`status`, `applicant`, `deadline` …)."""
    case = book.new_draft(str(overrides.pop("item_code", "pension-enrol")), VILLAGE)
    after = {**case, "applicant": {"name": "张三", "id_number": id_number(), "phone": "13800000000"}}
    after.update(overrides)
    return book.save(case, after)


def sample_items() -> list[ItemChoice]:
    """Two items as the wizard sees them (the real catalog is tested through its adapter)."""
    id_card = Requirement("id_card", "居民身份证 Resident ID card")
    hukou = Requirement("hukou", "户口簿 Household register")
    bank = Requirement("bank_card", "银行卡 Bank card")
    photo = Requirement("photo", "近期照片 Recent photo", required=False)
    return [
        ItemChoice(
            "pension-enrol",
            "城乡居民养老保险参保登记 Pension enrolment",
            "社会保障 Social security",
            "village",
            3,
            (
                Situation("first", "首次参保 First enrolment", (id_card, hukou, bank, photo)),
                Situation("transfer", "转入 Transfer in", (id_card, hukou)),
            ),
        ),
        ItemChoice(
            "old-age-allowance",
            "高龄津贴申领 Old-age allowance",
            "社会救助 Social assistance",
            "township",
            7,
            (Situation("default", "申领 Apply", (id_card, bank)),),
        ),
    ]
