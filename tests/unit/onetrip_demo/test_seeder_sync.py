"""The demo seeder syncs a phone again until it holds what the phones before it synced: the
embedded engine's `_changes` omits a document rewritten while it is read (ADR 0160)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast

import pytest

from onetrip_demo import township
from onetrip_demo.devices import DemoDeviceError, Device
from onetrip_demo.township import _Seeder
from shared.catalog import load_catalog
from sync_server.catalog_store import SEED_CATALOG

VILLAGE = "330212001001"


class Phone:
    """What `_Seeder.sync` asks of a phone; each sync brings the next of `arrivals`."""

    def __init__(self, username: str, arrivals: list[dict[str, str]], villages: Iterable[str] = (VILLAGE,)):
        self.username = username
        self.held: dict[str, str] = {}
        self.arrivals = arrivals
        self.villages = set(villages)
        self.syncs = 0

    async def sync(self) -> None:
        self.syncs += 1
        if self.arrivals:
            self.held.update(self.arrivals.pop(0))

    def serves(self, village: str) -> bool:
        return village in self.villages

    def revisions(self, doc_ids: Iterable[str]) -> dict[str, str]:
        return {i: self.held[i] for i in doc_ids if i in self.held}

    def lacking(self, revisions: Mapping[str, str]) -> list[str]:
        return sorted(i for i, rev in revisions.items() if self.held.get(i) != rev)


def seeder(*phones: Phone) -> _Seeder:
    catalog = load_catalog(SEED_CATALOG.read_text(encoding="utf-8"))
    devices = {p.username: cast(Device, p) for p in phones}
    first = devices[phones[0].username]
    return _Seeder(devices, first, {}, catalog, random.Random(1), datetime.now(UTC), lambda: False,
                   approver=first)


async def test_a_phone_that_missed_a_case_syncs_again_until_it_holds_it() -> None:
    agent = Phone("agent", [{"case:a": "1-a", "case:b": "1-b"}])
    approver = Phone("approver", [{"case:a": "1-a"}, {}, {"case:b": "1-b"}])
    elsewhere = Phone("other", [{}], villages=())
    s = seeder(agent, approver, elsewhere)
    s.village_of.update({"case:a": VILLAGE, "case:b": VILLAGE})
    await s.sync(cast(Device, agent))
    assert s.pushed == {"case:a": "1-a", "case:b": "1-b"}
    await s.sync(cast(Device, approver))
    assert approver.syncs == 3 and approver.held == agent.held
    await s.sync(cast(Device, elsewhere))  # asked nothing of a village it does not sync
    assert elsewhere.syncs == 1


async def test_a_case_that_never_arrives_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(township, "HOLD_WAIT", 0.0)
    agent = Phone("agent", [{"case:a": "1-a"}])
    approver = Phone("approver", [])
    s = seeder(agent, approver)
    s.village_of["case:a"] = VILLAGE
    await s.sync(cast(Device, agent))
    with pytest.raises(DemoDeviceError, match=r"approver still lacks 1 case.*case:a"):
        await s.sync(cast(Device, approver))
