"""The demo township's plan: deterministic, valid ID numbers, sample-marked, cards as promised."""

from __future__ import annotations

from datetime import date

from onetrip_demo.plan import COUNTS, SAMPLE_MARK, Plan, Story, make_plan
from shared.catalog import load_catalog
from shared.idnumber import is_valid_id_number
from shared.workdays import Card
from sync_server.calendar import default_calendar
from sync_server.catalog_store import SEED_CATALOG

VILLAGES = ("330212001001", "330212001002", "330212001003")
TODAY = date(2026, 11, 24)


def plan(seed: int = 7) -> Plan:
    catalog = load_catalog(SEED_CATALOG.read_text(encoding="utf-8"))
    return make_plan(seed, VILLAGES, catalog, TODAY, default_calendar())


def test_the_plan_is_deterministic_and_sample_marked() -> None:
    first, again = plan(), plan()
    assert first == again and first != plan(8)
    assert len(first.cases) == sum(COUNTS.values())
    for citizen in first.citizens:
        assert citizen.name.endswith(SAMPLE_MARK)
        assert is_valid_id_number(citizen.id_number, today=TODAY)
    owners = [c.citizen.id_number for c in first.cases]
    assert any(owners.count(n) == 2 for n in owners)  # someone applies twice: materials are reused
    assert {c.village for c in first.cases} == set(VILLAGES)


def test_steps_lie_in_the_past_in_order_with_the_cards_promised() -> None:
    calendar = default_calendar()
    cards = {Story.ACCEPTED: Card.GREEN, Story.DUE_SOON: Card.YELLOW, Story.OVERDUE: Card.RED}
    for case in plan().cases:
        days = list(case.steps.values())
        assert days == sorted(days) and days[-1] <= TODAY
        if case.story in cards:
            deadline = calendar.deadline(case.steps["accepted"], case.item.time_limit_days)
            assert calendar.card(deadline, TODAY) is cards[case.story]
        if case.story is Story.NEEDS_MATERIALS:
            assert case.missing
