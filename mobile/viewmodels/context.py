"""The app's composition without Flet (应用上下文): config, device state, store, catalog and
the view-models of every screen, built for the signed-in user.

`mobile/app.py` wraps this in Flet; tests drive it directly.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cached_property

import httpx

from mobile.config import ASSETS_DIR, AppConfig
from mobile.replication import Backoff
from mobile.services.auth_client import AuthClient, AuthError, HttpAuthClient
from mobile.services.calendar import default_calendar
from mobile.services.device_state import DeviceStateFile
from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi
from mobile.services.sync_runner import SyncRunner
from mobile.store import LocalStore, StoreError
from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.case_list import CaseListViewModel
from mobile.viewmodels.casebook import CaseBook
from mobile.viewmodels.catalog_adapter import item_choices
from mobile.viewmodels.county import CountyViewModel
from mobile.viewmodels.delivery import DeliveryViewModel
from mobile.viewmodels.form_step import CatalogDocs
from mobile.viewmodels.items import ItemChoice
from mobile.viewmodels.names import Names, shipped_places
from mobile.viewmodels.receipt import ReceiptViewModel
from mobile.viewmodels.result_slip import ResultSlipViewModel
from mobile.viewmodels.session import Screen, SessionViewModel
from mobile.viewmodels.staff import ReviewsViewModel, SupervisionViewModel
from mobile.viewmodels.sync import SyncSnapshot, SyncViewModel
from mobile.viewmodels.wizard import WizardViewModel
from shared.catalog import catalog_from_docs, load_catalog
from shared.documents import township_of
from shared.errors import DomainError
from shared.jsontypes import JSON
from shared.workdays import china_date

log = logging.getLogger(__name__)
STORE_FILE = "store.sqlite"
CATALOG_FILE = "catalog.sqlite"


class AppContext:
    """Everything the screens need; the store opens once the user is signed in."""

    def __init__(
        self,
        config: AppConfig,
        *,
        auth: AuthClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.transport = transport
        self.backoff = backoff
        self.config = config
        self.now = now
        self.auth = auth or HttpAuthClient()
        self.state_file = DeviceStateFile(config.data_dir)
        self.t = Translator(self.state_file.load().language or config.language)
        self.calendar = default_calendar()
        self._store: LocalStore | None = None
        self._catalog_store: LocalStore | None = None
        self.session = SessionViewModel(
            self.state_file,
            self.auth,
            self.t,
            default_server=config.server_url,
            clock=clock,
            pending=self.pending,
            wipe=self.wipe,
        )
        self.sync = SyncViewModel(self.t, run=self.sync_once)
        self._restore_sync()
        self._sync_lock = asyncio.Lock()

    def _restore_sync(self) -> None:
        """The bar as this account left it: its last sync (kept in the device state), not another
        account's nor "never synced" after the app was locked or restarted."""
        self.sync.update(SyncSnapshot(last_sync=_parse_time(self.session.state.last_sync)))

    # -- store and catalog ---------------------------------------------------------------

    @property
    def store(self) -> LocalStore:
        if self._store is None:
            self.config.data_dir.mkdir(parents=True, exist_ok=True)
            self._store = LocalStore(self.config.data_dir / STORE_FILE)
        return self._store

    @property
    def catalog_store(self) -> LocalStore:
        """ot-catalog as pulled from the server, kept apart from the village documents."""
        if self._catalog_store is None:
            self.config.data_dir.mkdir(parents=True, exist_ok=True)
            self._catalog_store = LocalStore(self.config.data_dir / CATALOG_FILE)
        return self._catalog_store

    def close(self) -> None:
        for store in (self._store, self._catalog_store):
            if store is not None:
                store.close()
        self._store = self._catalog_store = None

    def wipe(self) -> None:
        """Deletes this phone's documents (sign-out), and what the sync bar said about them."""
        self.sync.update(SyncSnapshot())
        self.close()
        for path in self.config.data_dir.glob(STORE_FILE + "*"):
            path.unlink()
        shutil.rmtree(self.config.data_dir / "receipts", ignore_errors=True)

    @cached_property
    def items(self) -> list[ItemChoice]:
        """The catalog: as replicated into the store (ot-catalog), else the seed shipped in assets/."""
        catalog = None
        try:
            source = self.catalog_store
            docs = [source.get(str(r["id"])) for r in source.find_docs("item", limit=1000)]
            if docs:
                catalog = catalog_from_docs([source.get("catalog"), *docs])
        except (KeyError, DomainError, StoreError):
            catalog = None
        if catalog is None:
            seed = ASSETS_DIR / "catalog" / "seed.json"
            catalog = load_catalog(seed.read_text(encoding="utf-8"), source=str(seed))
        return item_choices(catalog, self.t.language)

    def set_language(self, language: str) -> None:
        """中文+English ("zh") or English only ("en"); kept on the phone."""
        self.t.language = language
        self.session.save_state(replace(self.session.state, language=language))
        self.__dict__.pop("items", None)  # catalog names are bilingual texts: rebuild them

    @property
    def names(self) -> Names:
        """People, places and roles by name, for the signed-in account."""
        return Names(self.t, self.session.account, shipped_places(ASSETS_DIR / "divisions.json"))

    def item_name(self, code: str) -> str:
        return next((i.name for i in self.items if i.code == code), code)

    def today(self) -> date:
        # China's calendar day, not the device's or (in web mode) the server's: 20:00Z is tomorrow.
        return china_date(self.now())

    def deadline_of(self, accepted_on: date, days: int) -> date:
        return self.calendar.deadline(accepted_on, days)

    # -- user ----------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self.session.screen is Screen.READY

    @property
    def is_staff(self) -> bool:
        account = self.session.account
        return account is not None and account.role == "township_staff"

    @property
    def is_county(self) -> bool:
        """A county operator: the home is the county's hand-offs, not a case list."""
        account = self.session.account
        return account is not None and account.role == "county_operator"

    def book(self) -> CaseBook:
        account = self.session.account
        assert account is not None, "screens that write need a signed-in user"
        return CaseBook(self.store, account, self.session.state.device_id, self.now)

    @property
    def village(self) -> str:
        account = self.session.account
        villages = [d for d in account.divisions if len(d) == 12] if account else []
        return (
            villages[0]
            if villages
            else (account.divisions[0] + "001" if account and account.divisions else "")
        )

    def pending(self) -> int:
        if self._store is None and not (self.config.data_dir / STORE_FILE).exists():
            return 0
        return self.store.pending_count(self.session.state.pushed_seq)

    def changed_since(self, seq: int | str) -> list[str]:
        return [str(row["id"]) for row in self.store.changes(since=seq)["results"]]

    # -- view-models per screen ------------------------------------------------------------

    def case_list(self) -> CaseListViewModel:
        return CaseListViewModel(
            self.store,
            self.t,
            self.sync,
            item_name=self.item_name,
            today=self.today,
            pushed_seq=lambda: self.session.state.pushed_seq,
            changed_since=self.changed_since,
            staff=self.is_staff,
            page_size=self.config.page_size,
            between=self.calendar.working_days_between,
        )

    def wizard(self) -> WizardViewModel:
        return WizardViewModel(
            self.book(),
            self.items,
            self.t,
            village=self.village,
            today=self.today,
            recent=self.session.state.recent_items,
            remember_item=self.session.remember_item,
            forms=CatalogDocs(self.catalog_store.get),
        )

    def case_detail(self) -> CaseDetailViewModel:
        return CaseDetailViewModel(
            self.book(), self.items, self.t, today=self.today, deadline_of=self.deadline_of, names=self.names
        )

    def receipt(self, case_id: str) -> ReceiptViewModel:
        # The agent who took the application (its submission event), by name: a receipt opened
        # again by someone else still names the person the citizen met.
        events = self.store_events(case_id)
        submitted = next((e for e in events if e.get("kind") == "submitted"), None)
        account = self.session.account
        by = str(submitted.get("by", "")) if submitted else (account.username if account else "")
        agent = self.names.person(by)
        return ReceiptViewModel(
            self.store.get(case_id),
            self.items,
            server_url=self.session.state.server_url or self.config.server_url,
            agent=agent,
            contact=self.config.brand_contact,
            folder=self.config.data_dir / "receipts",
            deadline_of=self.deadline_of,
        )

    def store_events(self, case_id: str) -> list[JSON]:
        """The case's events, or none before anyone signed in."""
        return self.book().events(case_id) if self.session.account is not None else []

    def delivery(self) -> DeliveryViewModel:
        return DeliveryViewModel(
            self.book(),
            self.t,
            public_key=lambda: self.session.state.public_key,
            now=self.now,
            item_name=self.item_name,
        )

    # -- township staff (online) -------------------------------------------------------------

    @property
    def township(self) -> str:
        account = self.session.account
        codes = [township_of(d) for d in account.divisions if len(d) >= 9] if account else []
        return codes[0] if codes else ""

    def staff_api(self) -> StaffApi:
        state = self.session.state
        return StaffApi(state.server_url or self.config.server_url, state.access_token, self.transport)

    def reviews(self) -> ReviewsViewModel:
        return ReviewsViewModel(self.staff_api, self.township, self.t, names=self.names)

    def supervision(self) -> SupervisionViewModel:
        return SupervisionViewModel(self.staff_api, self.township, names=self.names)

    def result_slip(self, case_id: str) -> ResultSlipViewModel:
        account = self.session.account
        return ResultSlipViewModel(
            self.store.get(case_id),
            self.staff_api,
            self.t,
            item_name=self.item_name,
            issued_by=(account.display_name or account.username) if account else "",
            now=self.now,
            place=self.names.place,
        )

    # -- county operator (online) ------------------------------------------------------------

    def county(self) -> CountyViewModel:
        return CountyViewModel(self.staff_api, self.t, self.item_name, self.names.place)

    # -- sync ----------------------------------------------------------------------------

    async def sync_once(self) -> None:
        """One push/pull round; never raises to the screen, the bar says what happened."""
        account = self.session.account
        if account is None or self._sync_lock.locked():
            return
        async with self._sync_lock:
            pending = self.pending()
            self.sync.update(replace(self.sync.snapshot, running=True, progress=None, pending=pending))
            runner = SyncRunner(
                self.store,
                self.session.state.server_url,
                account.databases,
                token=lambda: self.session.state.access_token,
                refresh=self._refresh,
                catalog_store=self.catalog_store,
                transport=self.transport,
                backoff=self.backoff,
            )
            result = await runner.run(pending)
            state = self.session.state
            if result.pushed_seq >= 0:
                state = replace(state, pushed_seq=result.pushed_seq)
            if result.public_key:
                state = replace(state, public_key=result.public_key)
            if result.snapshot.last_sync is not None:
                state = replace(state, last_sync=result.snapshot.last_sync.isoformat())
            self.session.save_state(state)
            snapshot = result.snapshot
            if snapshot.last_sync is None:
                snapshot = replace(snapshot, last_sync=self.sync.snapshot.last_sync)
            self.sync.update(replace(snapshot, pending=self.pending()))

    async def _refresh(self) -> str:
        state = self.session.state
        try:
            tokens = await self.auth.refresh(state.server_url, state.refresh_token)
        except AuthError:
            return state.access_token
        self.session.update_tokens(tokens.access_token, tokens.refresh_token)
        return tokens.access_token

    def sync_snapshot(self) -> SyncSnapshot:
        return self.sync.snapshot


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
