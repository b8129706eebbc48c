"""The demo township's plan (演示剧本): who applies for what, and how far each case got.

Pure and deterministic: `make_plan(seed, villages, catalog, today, calendar)` always gives
the same people and stories. Dates are working days counted back from `today` on the
domain's calendar, so the demo never goes stale: a case "accepted three working days ago"
is that whenever the demo is seeded.

Sample marking (样本标记): every citizen's name ends with （样本）, shown wherever a name is
shown (app, citizen page, county record, the sample images); the ID numbers are valid by
checksum (`shared.idnumber.make_id_number`) with the demo county's division code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from shared.catalog import Catalog, Item
from shared.divisions import Level
from shared.documents import county_of
from shared.errors import DomainError
from shared.idnumber import make_id_number
from shared.workdays import Card, WorkCalendar

CHINA = timezone(timedelta(hours=8))
SAMPLE_MARK = "（样本）"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("秀英", "桂兰", "建国", "国强", "春梅", "海燕", "志明", "玉珍", "德胜", "丽华", "永福", "金凤",
         "文博", "晓东", "淑芬", "长林", "红霞", "光明", "雪梅", "宏伟")


class Story(StrEnum):
    """How far a demo case got; most are a status, a few are a situation to look at."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    NEEDS_MATERIALS = "needs_materials"
    ACCEPTED = "accepted"
    DUE_SOON = "due_soon"  # accepted, yellow card
    OVERDUE = "overdue"  # accepted, red card
    FORWARDED = "forwarded"  # at the county, acknowledged, waiting
    DEAD_LETTER = "dead_letter"  # forwarded, the hand-off refused
    COUNTY_APPROVED = "county_approved"
    COUNTY_RESULT = "county_result"
    APPROVED = "approved"
    RESULT_READY = "result_ready"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    CONFLICT = "conflict"  # two devices renamed the applicant offline


# How many of each, about 60 in all.
COUNTS: dict[Story, int] = {
    Story.DRAFT: 4, Story.SUBMITTED: 8, Story.NEEDS_MATERIALS: 4, Story.ACCEPTED: 6, Story.DUE_SOON: 3,
    Story.OVERDUE: 3, Story.FORWARDED: 2, Story.DEAD_LETTER: 1, Story.COUNTY_APPROVED: 1,
    Story.COUNTY_RESULT: 1, Story.APPROVED: 5, Story.RESULT_READY: 5, Story.DELIVERED: 9,
    Story.WITHDRAWN: 3, Story.REJECTED: 2, Story.CONFLICT: 1,
}
COUNTY_STORIES = frozenset({Story.FORWARDED, Story.DEAD_LETTER, Story.COUNTY_APPROVED, Story.COUNTY_RESULT})
CARD_STORIES = {Story.ACCEPTED: Card.GREEN, Story.DUE_SOON: Card.YELLOW, Story.OVERDUE: Card.RED}


@dataclass(frozen=True)
class Citizen:
    name: str
    id_number: str
    phone: str
    birth: date
    village: str


@dataclass(frozen=True)
class Case:
    """One demo case: its story, where, what, who, and the working days its steps happened on."""

    number: int
    story: Story
    village: str
    item: Item
    situation: str
    citizen: Citizen
    steps: dict[str, date]  # step name → day (submitted, accepted, forwarded, approved, …)
    missing: tuple[str, ...]  # requirements not brought at submission (the one-time list)


@dataclass(frozen=True)
class Plan:
    citizens: tuple[Citizen, ...]
    cases: tuple[Case, ...]


def working_day_back(calendar: WorkCalendar, today: date, n: int) -> date:
    """The n-th working day before `today` (n = 0: today, or the last working day before it)."""
    day = today
    while not calendar.is_workday(day):
        day -= timedelta(days=1)
    while n > 0:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            n -= 1
    return day


def moment(day: date, hour: float, now: datetime) -> datetime:
    """`hour` o'clock China time on `day`, in UTC, never later than a minute before `now`."""
    local = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), CHINA)
    return min(local.astimezone(UTC), now - timedelta(minutes=1))


def make_citizens(rng: random.Random, villages: Sequence[str], count: int, today: date) -> list[Citizen]:
    citizens = []
    for n in range(count):
        birth = date(rng.randrange(1938, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
        birth = min(birth, today - timedelta(days=365 * 18))
        name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))] + SAMPLE_MARK
        number = make_id_number(county_of(villages[0]), birth, 100 + n)
        citizens.append(Citizen(name, number, f"1990000{n:04d}", birth, villages[n % len(villages)]))
    return citizens


def accepted_day(calendar: WorkCalendar, today: date, item: Item, card: Card) -> date:
    """The acceptance day that gives `item`'s deadline the wanted card today."""
    for back in range(1, 80):
        day = working_day_back(calendar, today, back)
        deadline = calendar.deadline(day, item.time_limit_days)
        # Red with a margin: overdue by more than a day, as a case that clearly slipped.
        margin = card is not Card.RED or deadline < today - timedelta(days=1)
        if calendar.card(deadline, today) is card and margin:
            return day
    raise ValueError(f"no acceptance day gives {card} for {item.code}")


def _steps(story: Story, item: Item, calendar: WorkCalendar, today: date) -> dict[str, date]:
    def back(n: int) -> date:
        return working_day_back(calendar, today, n)

    if story in CARD_STORIES:
        accepted = accepted_day(calendar, today, item, CARD_STORIES[story])
        before = working_day_back(calendar, accepted, 1)
        return {"submitted": before, "accepted": accepted}
    table: dict[Story, dict[str, int]] = {
        Story.DRAFT: {"created": 0},
        Story.SUBMITTED: {"submitted": 1},
        Story.NEEDS_MATERIALS: {"submitted": 3, "needs_materials": 2},
        Story.FORWARDED: {"submitted": 4, "accepted": 3, "forwarded": 2},
        Story.DEAD_LETTER: {"submitted": 4, "accepted": 3, "forwarded": 1},
        Story.COUNTY_APPROVED: {"submitted": 6, "accepted": 5, "forwarded": 4},
        Story.COUNTY_RESULT: {"submitted": 8, "accepted": 7, "forwarded": 6},
        Story.APPROVED: {"submitted": 5, "accepted": 4, "approved": 1},
        Story.RESULT_READY: {"submitted": 7, "accepted": 6, "approved": 3, "result_ready": 2},
        Story.DELIVERED: {"submitted": 12, "accepted": 11, "approved": 8, "result_ready": 6, "delivered": 4},
        Story.WITHDRAWN: {"submitted": 3, "withdrawn": 1},
        Story.REJECTED: {"submitted": 5, "rejected": 4},
        Story.CONFLICT: {"submitted": 2, "renamed": 1},
    }
    return {step: back(n) for step, n in table[story].items()}


def _fits(item: Item, calendar: WorkCalendar, today: date) -> bool:
    """Can a deadline be computed for `item` accepted today? (Not past the calendar's last known year.)"""
    try:
        calendar.deadline(today, item.time_limit_days)
    except DomainError:
        return False
    return True


def _items_for(story: Story, catalog: Catalog, calendar: WorkCalendar, today: date) -> list[Item]:
    known = [i for i in catalog.items if _fits(i, calendar, today)]
    if story in COUNTY_STORIES:
        return [i for i in known if i.level is Level.COUNTY]
    local = [i for i in known if i.level is not Level.COUNTY]
    if story in CARD_STORIES:  # a one-day limit cannot be green
        return [i for i in local if i.time_limit_days >= 3]
    return local


def make_plan(seed: int, villages: Sequence[str], catalog: Catalog, today: date,
              calendar: WorkCalendar) -> Plan:
    """Citizens and cases; some citizens apply twice (their materials are reused)."""
    rng = random.Random(seed)
    total = sum(COUNTS.values())
    citizens = make_citizens(rng, villages, total - total // 5, today)
    repeats = total - len(citizens)  # every fourth citizen, applying a second time
    owners = [*citizens, *(citizens[(4 * n) % len(citizens)] for n in range(repeats))]
    stories = [story for story, count in COUNTS.items() for _ in range(count)]
    cases = []
    for number, story in enumerate(stories):
        choices = _items_for(story, catalog, calendar, today)
        item = choices[number % len(choices)]
        situation = item.situations[0].code
        citizen = owners[number]
        required = item.situation(situation).required_codes
        missing = (required[-1],) if story is Story.NEEDS_MATERIALS else ()
        cases.append(Case(number, story, citizen.village, item, situation, citizen,
                          _steps(story, item, calendar, today), missing))
    return Plan(tuple(citizens), tuple(cases))
