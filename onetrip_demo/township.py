"""The demo township (演示乡镇): about 60 cases in every status, seeded through the real paths.

`seed_township` runs once `onetrip up` has its server and workers listening, after
`sync_server.demo.seed_demo` made the users. It plays the year so far (`demo_plan`):

1. agents capture and submit applications on their phones (`demo_devices.Device`: the
   app's CaseBook, materials with sample images — reused for a citizen's second
   application — signatures) and sync through the gateway with a real login;
2. township staff sync, then accept, ask for materials (the one-time list), refuse,
   forward, approve and mark results ready on their device, and sync;
3. agents withdraw cases at the citizen's request and deliver results: the delivery QR
   token comes from `POST /api/delivery/{code}/token`, the delivery screen checks it offline;
4. an agent and a staff member rename the same applicant offline; both sync; the
   conflict worker writes `review:<case>` — the demo waits for it;
5. the county loop: forwarded cases are enqueued and handed to a private county simulator
   (decisions only on command, so the ones meant to wait keep waiting), one hand-off is
   refused into a dead letter, two cases get county decisions through the signed callback;
6. citizens rate delivered cases on `POST /api/track/{code}/rating`;
7. every phone syncs once more; agents start drafts that stay on their phones.

Dates are the plan's working days before today; the device clock is set to them. What
cannot be back-dated is said where it happens (server arrival times, county ack, ratings).
`onetrip up` calls `seed_in_thread` (its own event loop in a worker thread, ADR 0100).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypedDict

import httpx

from onetrip_demo.county import county_loop
from onetrip_demo.devices import DemoDeviceError, Device, device_id_for
from onetrip_demo.images import Person, material_image
from onetrip_demo.plan import Case, Citizen, Story, make_plan, moment
from shared.catalog import Catalog, load_catalog
from shared.divisions import village_db_name
from shared.documents import county_of, review_id
from shared.idnumber import last4, mask_id_number
from shared.status import Status
from shared.workdays import china_date
from sync_server.calendar import default_calendar
from sync_server.catalog_store import SEED_CATALOG
from sync_server.couch import Couch
from sync_server.demo import DemoTownship, DemoUser, write_demo_file
from sync_server.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261124
DEVICES_DIR = "devices"
# The conflict worker follows the feeds in the background; a few seconds on a busy laptop.
REVIEW_WAIT = 30.0
RATINGS = ((5, "代办员上门办理，一次都没跑，非常满意"), (4, "办得很快，希望能提前电话通知"), (5, ""),
           (3, "等待时间有点长"), (5, "服务热情周到"))


class DemoCase(TypedDict):
    """A line of demo.json's `cases` (docs/design.md §Contracts), plus the story it shows."""

    id: str
    database: str
    tracking_code: str
    id_last4: str
    status: str
    story: str
    agent: str


@dataclass
class Seeded:
    case: Case
    case_id: str = ""
    tracking_code: str = ""


class DemoSeedError(RuntimeError):
    """Seeding the demo township stopped; the message says at which step."""


class DemoStopped(DemoSeedError):
    """Seeding was asked to stop (Ctrl-C in `onetrip up`)."""


Stopped = Callable[[], bool]


async def seed_township(couch: Couch, settings: Settings, server_url: str, users: Sequence[DemoUser],
                        place: DemoTownship, *, today: date, now: datetime | None = None,
                        seed: int = DEFAULT_SEED, stopped: Stopped = lambda: False) -> list[DemoCase]:
    """Seed the cases; returns demo.json's `cases` (the caller writes the file).

    `stopped()` is asked between cases and steps; when it says so, `DemoStopped` is raised.
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    catalog = load_catalog(SEED_CATALOG.read_text(encoding="utf-8"), source=SEED_CATALOG.name)
    calendar = default_calendar()
    plan = make_plan(seed, place.villages, catalog, today, calendar)
    rng = random.Random(seed + 1)
    roles = {u["username"]: u for u in users}
    agents = [u for u in users if u["role"] == "village_agent"]
    # Two staff members: who accepts a case does not approve it (受审分离, ADR 0122).
    staff, approver = [u for u in users if u["role"] == "township_staff"][:2]
    folder = settings.data_dir / DEVICES_DIR
    devices = {u["username"]: Device(folder / u["username"], u["username"], u["password"], server_url,
                                     device_id_for(u["username"], seed), catalog)
               for u in [*agents, staff, approver]}
    agent_of = {v: a["username"] for a in agents for v in a["divisions"]}
    seeded = [Seeded(c) for c in plan.cases]
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for device in devices.values():
                await device.login(client)
            seeder = _Seeder(devices, devices[staff["username"]], agent_of, catalog, rng, now, stopped,
                             approver=devices[approver["username"]])
            conflicts = [s for s in seeded if s.case.story is Story.CONFLICT]
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("applications", lambda: seeder.applications(seeded)),
                ("township", lambda: seeder.staff_steps(seeded)),
                ("agents", lambda: seeder.agent_steps(seeded, client)),
                ("conflict", lambda: seeder.conflict(seeded)),
                ("review", lambda: wait_for_review(couch, conflicts)),
                ("county", lambda: county_loop(couch, settings, server_url,
                                               [(s.case, s.case_id) for s in seeded], now)),
                ("ratings", lambda: rate(client, server_url, seeded)),
                ("final sync", seeder.sync_all),
            ]
            for name, step in steps:
                seeder.check()
                began = time.monotonic()
                await step()
                log.info("demo: %s done in %.1f s", name, time.monotonic() - began)
            seeder.drafts(seeded)
        cases = await demo_cases(couch, seeded, agent_of)
    finally:
        for device in devices.values():
            device.close()
    log.info("demo township seeded: %d cases in %.1f s (%d users)", len(cases), time.monotonic() - started,
             len(roles))
    return cases


class _Seeder:
    """The device steps of the plan, in the order people would have made them."""

    def __init__(self, devices: dict[str, Device], staff: Device, agent_of: dict[str, str], catalog: Catalog,
                 rng: random.Random, now: datetime, stopped: Stopped, *, approver: Device) -> None:
        self.devices = devices
        self.stopped = stopped
        self.staff = staff
        self.approver = approver
        self.agent_of = agent_of
        self.catalog = catalog
        self.rng = rng
        self.now = now
        self.materials: dict[tuple[str, str], str] = {}  # (id number, kind) → material id
        self.village_of: dict[str, str] = {}  # case id → village
        self.pushed: dict[str, str] = {}  # case id → the revision last synced from a phone

    async def sync(self, device: Device) -> None:
        """The device's sync, again until it holds what the other phones synced before it.

        A sync copies what the server's `_changes` listed, and pouchdb-server lists a document
        rewritten during that read nowhere in it (its feed is no snapshot, unlike Apache
        CouchDB's): the document comes with the next sync. The workers rewrite cases just after
        a phone pushed them, so a step that needs another phone's work (the approver deciding
        what the intake accepted) asks for it by revision.
        """
        expected = {case_id: rev for case_id, rev in self.pushed.items()
                    if device.serves(self.village_of[case_id])}
        deadline = time.monotonic() + HOLD_WAIT
        await device.sync()
        while lacking := device.lacking(expected):
            if time.monotonic() > deadline:
                raise DemoDeviceError(f"{device.username} still lacks {len(lacking)} case(s) after "
                                      f"{HOLD_WAIT:.0f} s of syncs: {', '.join(lacking[:3])}")
            log.info("demo: %s lacks %d case(s) after a sync; syncing again", device.username, len(lacking))
            await device.sync()
        self.pushed.update(device.revisions(self.village_of))

    async def sync_all(self) -> None:
        for device in self.devices.values():
            await self.sync(device)

    def check(self) -> None:
        if self.stopped():
            raise DemoStopped("demo seeding stopped on request")

    def agent(self, case: Case) -> Device:
        return self.devices[self.agent_of[case.village]]

    def at(self, device: Device, day: date, hour: float) -> Device:
        device.moment = moment(day, hour, self.now)
        return device

    async def applications(self, seeded: list[Seeded]) -> None:
        """Step 1: every case but the drafts, captured and submitted, oldest first; agents sync."""
        ordered = sorted((s for s in seeded if s.case.story is not Story.DRAFT),
                         key=lambda s: (s.case.steps["submitted"], s.case.number))
        for entry in ordered:
            self.check()
            case = entry.case
            device = self.at(self.agent(case), case.steps["submitted"], 9 + case.number % 7)
            doc = self.capture(device, case)
            doc = device.submit(doc, case.missing, self.rng.randbytes(16))
            entry.case_id, entry.tracking_code = str(doc["_id"]), str(doc["tracking_code"])
            self.village_of[entry.case_id] = case.village
        for name in sorted(set(self.agent_of.values())):
            await self.sync(self.devices[name])

    def capture(self, device: Device, case: Case) -> dict[str, Any]:
        citizen = case.citizen
        applicant = {"name": citizen.name, "id_number": citizen.id_number, "phone": citizen.phone}
        doc = device.new_case(case.village, case.item.code, case.situation, applicant)
        person = _person(citizen)
        entries = []
        for material in case.item.situation(case.situation).materials:
            if not material.required or material.code in case.missing:
                continue
            kind = material.kind or material.code
            known = self.materials.get((citizen.id_number, kind)) if material.kind else None
            if known is not None:  # never ask for the same document twice
                entries.append({"requirement": material.code, "material_id": known, "source": "reused"})
                continue
            scan, thumb = material_image(kind, material.name_zh, person)
            valid = (self.catalog.kind(material.kind).valid_until(device.moment.date())
                     if material.kind else None)
            material_id = device.capture(doc, kind, scan, thumb, valid.isoformat() if valid else None)
            entries.append({"requirement": material.code, "material_id": material_id, "source": "captured"})
            self.materials[(citizen.id_number, kind)] = material_id
        return device.checklist(doc, entries) if entries else doc

    async def staff_steps(self, seeded: list[Seeded]) -> None:
        """Step 2: the township's steps: intake on one staff member's device, decisions on another's."""
        staff = self.staff
        await self.sync(staff)
        for entry in sorted(seeded, key=lambda s: s.case.number):
            self.check()
            case, steps = entry.case, entry.case.steps
            if case.story is Story.NEEDS_MATERIALS:
                self.at(staff, steps["needs_materials"], 10).perform(
                    entry.case_id, Status.NEEDS_MATERIALS, missing=case.missing)
            if case.story is Story.REJECTED:
                self.at(staff, steps["rejected"], 11).perform(
                    entry.case_id, Status.REJECTED, reason="不符合申请条件（演示） Not eligible (demo)")
            for step, target in (("accepted", Status.ACCEPTED), ("forwarded", Status.FORWARDED)):
                if step in steps:
                    self.at(staff, steps[step], 10.5).perform(entry.case_id, target)
        await self.sync(staff)
        # The decisions, by the other staff member once the acceptances reached them (受审分离).
        approver = self.approver
        await self.sync(approver)
        for entry in sorted(seeded, key=lambda s: s.case.number):
            self.check()
            for step, target in (("approved", Status.APPROVED), ("result_ready", Status.RESULT_READY)):
                if step in entry.case.steps:
                    self.at(approver, entry.case.steps[step], 10.5).perform(entry.case_id, target)
        await self.sync(approver)
        await self.sync(staff)

    async def agent_steps(self, seeded: list[Seeded], client: httpx.AsyncClient) -> None:
        """Step 3: withdrawals and door-to-door deliveries with the QR token; agents sync."""
        for name in sorted(set(self.agent_of.values())):
            await self.sync(self.devices[name])
        for entry in sorted(seeded, key=lambda s: s.case.number):
            self.check()
            case = entry.case
            device = self.agent(case)
            if case.story is Story.WITHDRAWN:
                self.at(device, case.steps["withdrawn"], 15).perform(
                    entry.case_id, Status.WITHDRAWN,
                    reason="群众申请撤回（演示） Withdrawn at the citizen's request")
            if case.story is Story.DELIVERED:
                token = await issue_token(client, device, entry.tracking_code)
                self.at(device, case.steps["delivered"], 14).deliver(token, receiver=case.citizen.name)
        for name in sorted(set(self.agent_of.values())):
            await self.sync(self.devices[name])

    async def conflict(self, seeded: list[Seeded]) -> None:
        """Step 4: the same applicant renamed on two devices while both were offline."""
        for entry in seeded:
            if entry.case.story is not Story.CONFLICT:
                continue
            day, name = entry.case.steps["renamed"], entry.case.citizen.name
            agent = self.at(self.agent(entry.case), day, 9.5)
            applicant = agent.book.get(entry.case_id)["applicant"]
            agent.edit(entry.case_id, {"applicant": {**applicant, "name": _respelled(name, 0)}})
            staff = self.at(self.staff, day, 11)
            applicant = staff.book.get(entry.case_id)["applicant"]
            staff.edit(entry.case_id, {"applicant": {**applicant, "name": _respelled(name, 1)}})
            await self.sync(agent)
            await self.sync(staff)

    def drafts(self, seeded: list[Seeded]) -> None:
        """Step 7: drafts started today, kept on the phone (not synced yet)."""
        for entry in seeded:
            case = entry.case
            if case.story is not Story.DRAFT:
                continue
            device = self.at(self.agent(case), case.steps["created"], 8.5 + case.number % 3)
            doc = self.capture(device, case) if case.number % 2 else device.new_case(
                case.village, case.item.code, case.situation,
                {"name": case.citizen.name, "id_number": case.citizen.id_number, "phone": ""})
            entry.case_id = str(doc["_id"])


def _respelled(name: str, who: int) -> str:
    """The name as the agent (0) or the staff member (1) corrected it: a homophone (同音字)."""
    swaps = (("英", "瑛", "莹"), ("兰", "岚", "澜"), ("国", "帼", "果"), ("梅", "玫", "媚"),
             ("华", "桦", "骅"), ("明", "铭", "鸣"), ("福", "富", "馥"), ("林", "琳", "霖"),
             ("东", "冬", "栋"), ("芬", "纷", "棻"))
    for old, *new in swaps:
        if old in name[1:]:
            return name[0] + name[1:].replace(old, new[who], 1)
    return name[0] + ("晓", "小")[who] + name[1:]


def _person(citizen: Citizen) -> Person:
    return Person(citizen.name, mask_id_number(citizen.id_number), citizen.birth.isoformat(),
                  f"{citizen.village} 号")


# Seconds a phone syncs again until it holds what the phones before it synced (`_Seeder.sync`).
HOLD_WAIT = 30.0
# Seconds the seeder waits for the workers to index a case it just synced (normally well under one).
INDEX_WAIT = 30.0


async def issue_token(client: httpx.AsyncClient, device: Device, code: str) -> str:
    """The result slip's QR token, as the township prints it (`POST /api/delivery/{code}/token`)."""
    # The tracking index is written by the workers after the case arrives: until then the
    # server does not know the code (403). Wait for it, as staff would press again.
    deadline = asyncio.get_running_loop().time() + INDEX_WAIT
    while True:
        response = await client.post(f"{device.server_url}/api/delivery/{code}/token",
                                     headers={"Authorization": f"Bearer {device.token}"})
        if response.status_code != 403 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    if response.status_code != 201:
        raise DemoSeedError(f"delivery token for a demo case refused: HTTP {response.status_code}")
    return str(response.json()["token"])


async def wait_for_review(couch: Couch, conflicts: Sequence[Seeded]) -> None:
    """Poll until the conflict worker wrote `review:<case>` for each conflict case."""
    deadline = time.monotonic() + REVIEW_WAIT
    for entry in conflicts:
        db = village_db_name(entry.case.village)
        review = review_id(entry.case_id)
        while await couch.get_doc(db, review) is None:
            if time.monotonic() > deadline:
                log.warning("demo: no review for the conflict case yet (are the workers running?)")
                return
            await asyncio.sleep(0.2)


async def rate(client: httpx.AsyncClient, server_url: str, seeded: Sequence[Seeded]) -> None:
    """Step 6: citizens rate all delivered cases but one (its page still shows the rating form)."""
    delivered = [s for s in seeded if s.case.story is Story.DELIVERED]
    for n, entry in enumerate(delivered[:-1]):
        score, comment = RATINGS[n % len(RATINGS)]
        response = await client.post(f"{server_url}/api/track/{entry.tracking_code}/rating",
                                     json={"id_last4": last4(entry.case.citizen.id_number), "score": score,
                                           "comment": comment})
        if response.status_code != 200:
            raise DemoSeedError(f"demo rating refused: HTTP {response.status_code}")


async def demo_cases(couch: Couch, seeded: Sequence[Seeded], agent_of: dict[str, str]) -> list[DemoCase]:
    """demo.json's `cases`: the status each case has now (drafts: on the agent's phone only)."""
    cases: list[DemoCase] = []
    for entry in seeded:
        db = village_db_name(entry.case.village)
        doc = None if entry.case.story is Story.DRAFT else await couch.get_doc(db, entry.case_id)
        cases.append(DemoCase(id=entry.case_id, database=db, tracking_code=entry.tracking_code,
                              id_last4=last4(entry.case.citizen.id_number),
                              status=str(doc["status"]) if doc else Status.DRAFT.value,
                              story=entry.case.story.value, agent=agent_of[entry.case.village]))
    return cases


def place_of(users: Sequence[DemoUser]) -> DemoTownship:
    """The demo township as the demo users' jurisdictions describe it."""
    villages = sorted({d for u in users if u["role"] == "village_agent" for d in u["divisions"]})
    township = next(d for u in users if u["role"] == "township_staff" for d in u["divisions"])
    return DemoTownship(county_of(township), township, tuple(villages))


async def seed_demo_cases(couch: Couch, settings: Settings, server_url: str, users: Sequence[DemoUser], *,
                          now: datetime | None = None, seed: int = DEFAULT_SEED,
                          stopped: Stopped = lambda: False) -> list[DemoCase]:
    """Seed, then rewrite demo.json with the users and the cases."""
    now = now or datetime.now(UTC)
    cases = await seed_township(couch, settings, server_url, users, place_of(users), today=china_date(now),
                                now=now, seed=seed, stopped=stopped)
    write_demo_file(settings.data_dir, {"users": list(users), "cases": list(cases)})
    return cases


def seed_in_thread(couchdb_url: str, settings: Settings, server_url: str, users: Sequence[DemoUser],
                   stop: threading.Event) -> list[DemoCase]:
    """What `onetrip up` runs in a worker thread with its own event loop.

    The phones' work (SQLite writes, images, merges) is synchronous: in the server's own loop
    it would stall requests for seconds. A thread keeps the server answering meanwhile.
    """

    async def main() -> list[DemoCase]:
        couch = Couch(couchdb_url)
        try:
            return await seed_demo_cases(couch, settings, server_url, users, stopped=stop.is_set)
        finally:
            await couch.aclose()

    return asyncio.run(main())
