"""The sync plan: where a document (or its deletion) goes, and the one round both syncs run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import mobile.headless_sync as headless
import mobile.services.sync_runner as app_sync
import mobile.sync_plan as plan
from mobile.headless_sync import Login, Tokens, sync_databases
from mobile.replication import Backoff, Unreachable
from mobile.services.i18n import Translator
from mobile.services.sync_runner import SyncRunner
from mobile.store import LocalStore
from mobile.sync_plan import Routes, village_filter
from mobile.viewmodels.sync import SyncLevel, SyncSnapshot, SyncViewModel

CASE = "case:01JDQ3Z8W6X9V4T2R0P8N6M4K2"
EVENT = f"event:{CASE[5:]}:01JDQ3Z8W6X9V4T2R0P8N6M4K3"
MATERIAL = "material:01JDQ3Z8W6X9V4T2R0P8N6M4K4"
V1, V2 = "330212001001", "330212001002"
DB1, DB2 = f"ot-v-{V1}", f"ot-v-{V2}"


def tombstone(store: LocalStore, doc_id: str) -> dict[str, Any]:
    """What the replicator hands the filter for a deletion: the bare tombstone revision."""
    rev = store.get(doc_id)["_rev"]
    deleted = store.remove(doc_id, rev)["rev"]
    [row] = store.get_open_revs(doc_id, [deleted])
    doc: dict[str, Any] = row["ok"]
    assert doc.get("_deleted") and "division" not in doc
    return doc


def seen_by_a_round(store: LocalStore) -> None:
    routes = Routes(store)
    routes.catch_up()
    routes.save()


def test_a_deletion_goes_to_the_village_its_document_was_in(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    store.put({"_id": CASE, "type": "case", "division": {"village": V1}})
    store.put({"_id": EVENT, "type": "event", "case_id": CASE})
    store.put({"_id": MATERIAL, "type": "material", "division": {"village": V2}})
    seen_by_a_round(store)  # a sync round ran while they were alive
    gone_case, gone_event, gone_material = (tombstone(store, i) for i in (CASE, EVENT, MATERIAL))
    mine, theirs = village_filter(store, DB1), village_filter(store, DB2)  # a later round, store reopened
    assert mine(gone_case) and not theirs(gone_case)
    assert mine(gone_event) and not theirs(gone_event)  # its case is gone too: the memory still knows
    assert theirs(gone_material) and not mine(gone_material)
    store.close()


def test_a_deletion_of_a_document_never_seen_alive_goes_nowhere(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    store.put({"_id": CASE, "type": "case", "division": {"village": V1}})
    gone = tombstone(store, CASE)  # created and discarded between two rounds: never pushed
    assert not village_filter(store, DB1)(gone) and not village_filter(store, DB2)(gone)
    kept = {**gone, "division": {"village": V2}}  # a tombstone that keeps its division says where
    assert village_filter(store, DB2)(kept) and not village_filter(store, DB1)(kept)
    store.close()


def test_the_filter_remembers_what_it_places(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    routes = Routes(store)  # caught up before the case was written, as during a running round
    store.put({"_id": CASE, "type": "case", "division": {"village": V1}})
    assert routes.filter_for(DB1)(store.get(CASE))
    routes.save()
    gone = tombstone(store, CASE)
    assert Routes(store).filter_for(DB1)(gone)
    store.close()


def test_two_rounds_saving_their_memory_at_once_keep_both(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    app, headless_round = Routes(store), Routes(store)  # e.g. the app and `onetrip-device sync`
    store.put({"_id": CASE, "type": "case", "division": {"village": V1}})
    app.catch_up()
    app.save()
    headless_round.remember({"_id": MATERIAL, "division": {"village": V2}})
    headless_round.save()
    assert Routes(store).villages == {CASE: V1, MATERIAL: V2}
    store.close()


def test_the_app_and_the_headless_sync_share_one_round() -> None:
    assert vars(app_sync)["sync_round"] is plan.sync_round and vars(headless)["sync_round"] is plan.sync_round


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no network", request=request)


async def test_both_syncs_run_the_plan_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []

    async def spy(store: LocalStore, gateway: plan.Gateway, databases: Any, **options: Any) -> Any:
        calls.append((gateway.server_url, tuple(databases)))
        return await plan.sync_round(store, gateway, databases, **options)

    monkeypatch.setattr(app_sync, "sync_round", spy)
    monkeypatch.setattr(headless, "sync_round", spy)
    store = LocalStore(tmp_path / "s.sqlite")
    transport = httpx.MockTransport(offline)

    async def refresh() -> str:
        return "t"

    # The server answers the round's first question, then the network goes.
    answering = httpx.MockTransport(lambda r: httpx.Response(200, json={"public_key": "k"})
                                    if r.url.path == "/api/public-key" else offline(r))
    runner = SyncRunner(store, "http://server", (DB1, "ot-catalog"), token=lambda: "t", refresh=refresh,
                        transport=answering, backoff=Backoff(retries=0))
    assert not (await runner.run(0)).snapshot.online
    async with httpx.AsyncClient(transport=transport) as client:
        tokens = Tokens(client, "http://server", Login("t", "r", (DB1,)))
        with pytest.raises(Unreachable):
            await sync_databases(store, "http://server", tokens, (DB1,), transport=transport,
                                 backoff=Backoff(retries=0))
    assert calls == [("http://server", (DB1,)), ("http://server", (DB1,))]
    store.close()


def test_the_sync_bar_follows_the_round() -> None:
    vm = SyncViewModel(Translator("en"))
    vm.update(SyncSnapshot(running=True, pending=3))
    assert vm.bar().level is SyncLevel.RUNNING and vm.bar().pending == 3
    vm.update(SyncSnapshot(running=False, error="Sync incomplete", pending=3))
    assert vm.bar().level is SyncLevel.ERROR and "Sync incomplete" in vm.bar().text


async def test_an_unreachable_server_is_offline_at_once_not_syncing(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """One quick question decides: no round (whose requests would each retry for a while) runs."""
    rounds: list[str] = []

    async def spy(*args: Any, **options: Any) -> Any:
        rounds.append("round")
        raise AssertionError("no round without a server")

    monkeypatch.setattr(app_sync, "sync_round", spy)
    store = LocalStore(tmp_path / "s.sqlite")

    async def refresh() -> str:
        return "t"

    runner = SyncRunner(store, "http://server", (DB1,), token=lambda: "t", refresh=refresh,
                        transport=httpx.MockTransport(offline))
    result = await runner.run(3)
    assert not result.snapshot.online and result.snapshot.pending == 3 and rounds == []
    vm = SyncViewModel(Translator("zh"))
    vm.update(result.snapshot)
    assert vm.bar().level is SyncLevel.OFFLINE
    store.close()
