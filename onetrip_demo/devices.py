"""The demo's phones (演示设备): agents' and staff's devices driven with the app's own code.

The demo township is seeded the way people would have made it: each demo user gets a
device — a `LocalStore` in the app's folder layout (`$ONETRIP_DATA/devices/<username>/`
holds `store.sqlite`, `catalog.sqlite` and `device.json`, what `mobile.viewmodels.context`
opens when `ONETRIP_DEVICE_DATA` points there) — and writes through the app's `CaseBook`
(field edits with version vectors and HLCs, immutable events, materials), the case
detail's `perform` (status changes, deadlines), the delivery screen's view-model (QR token
checked offline, receiver's signature) and syncs with the app's `SyncRunner` through the
gateway with a real login.

This is the one server module that imports `mobile`: the seeder plays the devices on
purpose, so the demo also proves the device paths work (ADR 0100). The device clock is the
`moment` attribute, set by the seeder before each step, so a case's history lies in the past.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from mobile.services.calendar import default_calendar
from mobile.services.device_state import Account, DeviceState, DeviceStateFile
from mobile.services.i18n import Translator
from mobile.services.signature import render_signature
from mobile.services.sync_runner import SyncRunner
from mobile.store import LocalStore
from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.casebook import CaseBook, iso
from mobile.viewmodels.catalog_adapter import item_choices
from mobile.viewmodels.context import CATALOG_FILE, STORE_FILE
from mobile.viewmodels.delivery import DeliveryViewModel
from mobile.viewmodels.items import ItemChoice
from mobile.viewmodels.wizard import SIGNATURE
from onetrip_demo.answers import FORM_VERSION, sample_answers
from shared.catalog import Catalog
from shared.divisions import village_db_name
from shared.documents import EventKind
from shared.idnumber import mask_id_number
from shared.ids import new_tracking_code
from shared.jsontypes import JSON
from shared.status import Status

# A short zig-zag "signature": enough ink for the app's signature check, same bytes every run.
STROKES: Sequence[Sequence[tuple[float, float]]] = (
    [(20.0, 80.0), (60.0, 30.0), (100.0, 90.0), (140.0, 35.0), (180.0, 85.0), (230.0, 40.0)],
    [(40.0, 110.0), (210.0, 105.0)],
)
PAD = (260, 140)


class DemoDeviceError(RuntimeError):
    """A device step was refused (login, sync, a status change the app would not allow)."""


class Device:
    """One user's phone: store, catalog store, device state, and the app's view-model code."""

    def __init__(self, folder: Path, username: str, password: str, server_url: str, device_id: str,
                 catalog: Catalog) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.username = username
        self.password = password
        self.server_url = server_url.rstrip("/")
        self.device_id = device_id
        self.store = LocalStore(folder / STORE_FILE)
        self.catalog_store = LocalStore(folder / CATALOG_FILE)
        self.items: list[ItemChoice] = item_choices(catalog, "zh")
        self.t = Translator("zh")
        self.calendar = default_calendar()
        self.moment = datetime.now(UTC)
        self.account: Account | None = None
        self.token = ""
        self.public_key = ""
        self.pushed_seq = 0  # what the app counts "waiting to sync" from: drafts stay pending

    def clock(self) -> datetime:
        return self.moment

    @property
    def book(self) -> CaseBook:
        if self.account is None:
            raise DemoDeviceError(f"{self.username} is not signed in")
        return CaseBook(self.store, self.account, self.device_id, self.clock)

    def close(self) -> None:
        DeviceStateFile(self.folder).save(DeviceState(device_id=self.device_id, server_url=self.server_url,
                                                      public_key=self.public_key, pushed_seq=self.pushed_seq))
        self.store.close()
        self.catalog_store.close()

    # -- server ------------------------------------------------------------------------

    async def login(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{self.server_url}/api/auth/login", json={
            "username": self.username, "password": self.password, "device_id": self.device_id})
        if response.status_code != 200:
            raise DemoDeviceError(f"login of {self.username} failed: HTTP {response.status_code}")
        body = response.json()
        user = body["user"]
        self.token = str(body["access_token"])
        self.account = Account(str(user["username"]), str(user["role"]), tuple(user["divisions"]),
                               tuple(user["databases"]))

    async def sync(self) -> None:
        """One round of the app's sync (push, pull, catalog, public key); refusals are errors."""
        if self.account is None:
            raise DemoDeviceError(f"{self.username} is not signed in")

        async def refresh() -> str:
            return self.token

        runner = SyncRunner(self.store, self.server_url, self.account.databases, token=lambda: self.token,
                            refresh=refresh, catalog_store=self.catalog_store)
        result = await runner.run(0)
        if not result.snapshot.online or result.snapshot.error:
            raise DemoDeviceError(f"sync of {self.username} failed: {result.snapshot.error or 'offline'}")
        self.public_key = result.public_key or self.public_key
        self.pushed_seq = max(self.pushed_seq, result.pushed_seq)

    def serves(self, village: str) -> bool:
        """Whether this phone syncs the village's database."""
        return self.account is not None and village_db_name(village) in self.account.databases

    def revisions(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The winning revision of each of `doc_ids` this phone holds (deleted ones left out),
        from one read of its changes feed, without the bodies."""
        wanted = set(doc_ids)
        return {str(row["id"]): str(row["changes"][0]["rev"]) for row in self.store.changes()["results"]
                if row["id"] in wanted and not row.get("deleted")}

    def lacking(self, revisions: Mapping[str, str]) -> list[str]:
        """The ids of `revisions` whose revision this phone does not hold (as a leaf or an ancestor)."""
        return sorted(self.store.revs_diff({doc_id: [rev] for doc_id, rev in revisions.items()}))

    # -- the agent's wizard ------------------------------------------------------------

    def new_case(self, village: str, item_code: str, situation: str, applicant: Mapping[str, str]) -> JSON:
        """A draft with item, situation and applicant filled in (wizard steps 1–3), and the item's
        form answered when it has one (the form step: `onetrip_demo.answers`)."""
        book = self.book
        case = book.new_draft(item_code, village)
        filled: JSON = {"situation": situation, "applicant": dict(applicant)}
        answers = sample_answers(item_code, self.moment.date())
        if answers is not None:
            filled.update(form={"id": item_code, "version": FORM_VERSION}, answers=answers)
        return book.save(case, {**case, **filled})

    def capture(self, case: JSON, kind: str, scan: bytes, thumb: bytes, valid_until: str | None) -> str:
        """A new material (wizard step 4, 拍照), stored once; returns its id for the checklist."""
        number = str(case["applicant"]["id_number"])
        material = self.book.add_material(number, mask_id_number(number), kind, scan, thumb, valid_until,
                                          case["division"])
        return str(material["_id"])

    def checklist(self, case: JSON, entries: Sequence[Mapping[str, str]]) -> JSON:
        """The case's materials list (captured and reused), saved as one edit of `materials`.

        The wizard saves after each row; one save makes the same document with fewer
        revisions, which keeps the demo's sync short.
        """
        return self.book.save(case, {**case, "materials": [dict(e) for e in entries]})

    def submit(self, case: JSON, missing: Sequence[str], random_bytes: bytes) -> JSON:
        """Signature, then submission with the tracking code and the one-time list (wizard steps 6–7)."""
        png = render_signature(STROKES, *PAD)
        self.store.put_attachment(str(case["_id"]), str(case["_rev"]), SIGNATURE, png, "image/png")
        case = self.book.get(str(case["_id"]))
        code = new_tracking_code(random_bytes)
        case = self.book.save(case, {**case, "status": Status.SUBMITTED.value, "tracking_code": code,
                                     "submitted_at": iso(self.moment), "missing": list(missing)})
        self.book.add_event(case, EventKind.SUBMITTED, {"missing": list(missing), "tracking_code": code})
        return case

    # -- the case detail screen ----------------------------------------------------------

    def perform(self, case_id: str, target: Status, reason: str = "", missing: Sequence[str] = ()) -> JSON:
        """A status change exactly as the case detail screen makes it."""
        screen = CaseDetailViewModel(self.book, self.items, self.t, today=self.today,
                                     deadline_of=self.calendar.deadline)
        screen.load(case_id)
        if not screen.perform(target, reason, missing):
            raise DemoDeviceError(f"{self.username} could not move {case_id} to {target}: {screen.error}")
        return screen.case

    def edit(self, case_id: str, changes: Mapping[str, Any]) -> JSON:
        """A field edit saved whole, as an edit screen does (recorded per field)."""
        case = self.book.get(case_id)
        return self.book.save(case, {**case, **changes})

    def today(self) -> date:
        return self.moment.date()

    # -- the delivery screen ------------------------------------------------------------

    def deliver(self, token: str, receiver: str) -> None:
        """Scan (typed here) the result slip's QR, check it offline, take the receiver's signature."""
        screen = DeliveryViewModel(self.book, self.t, public_key=lambda: self.public_key,
                                   now=lambda: datetime.now(UTC), item_name=lambda code: code)
        if not screen.verify(token) or not screen.confirm(STROKES, *PAD, receiver=receiver):
            raise DemoDeviceError(f"{self.username} could not deliver: {screen.error}")


def device_id_for(username: str, seed: int) -> str:
    """Stable per seed, so a re-seeded demo names the same devices in version vectors."""
    return f"demo-{username}-{seed:x}"
