"""A 低保 case filled by the app's wizard view-model (offline, the form read from the pulled
ot-catalog) goes through the gateway as it is: the draft at every step and the submitted case
with its answers, the form reference and the generated 申请表 (a PDF material)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pypdf

from mobile.services.device_state import Account
from mobile.services.i18n import Translator
from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook
from mobile.viewmodels.catalog_adapter import item_choices
from mobile.viewmodels.form_step import CatalogDocs
from mobile.viewmodels.wizard import Step, WizardViewModel
from shared.catalog import load_catalog
from shared.workdays import china_date
from sync_server.couch import Couch
from tests.integration.sync_server.server_fixtures import PASSWORD, RunningServer, Township
from tests.integration.sync_server.test_forms import catalog  # noqa: F401  (the fixture)
from tests.unit.mobile.factories import id_number
from tests.unit.mobile.test_viewmodels_wizard_form import STROKES, fill_whole_form

ROOT = Path(__file__).resolve().parents[3]


def sync(store: Path, server: RunningServer, username: str) -> subprocess.CompletedProcess[str]:
    """The app's own sync (`onetrip-device sync`): pulls ot-catalog and the village, pushes."""
    return subprocess.run(
        [sys.executable, "-m", "mobile.cli", "sync", "--store", str(store), "--server", server.url,
         "--username", username, "--password", PASSWORD],
        capture_output=True, text=True, timeout=180,
    )


def wizard(store: LocalStore, township: Township) -> WizardViewModel:
    village = township.villages[0]
    account = Account(township.agents[0], "village_agent", (village,), (township.dbs[0],))
    book = CaseBook(store, account, "dev-forms", lambda: datetime.now(UTC))
    seed = ROOT / "assets" / "catalog" / "seed.json"
    items = item_choices(load_catalog(seed.read_text(encoding="utf-8"), source=str(seed)))
    return WizardViewModel(book, items, Translator("zh"), village=village,
                           today=lambda: china_date(datetime.now(UTC)), forms=CatalogDocs(store.get))


async def test_a_case_filled_by_the_app_passes_the_gateway(
        catalog: Couch, api_server: RunningServer, township: Township, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "agent.sqlite"
    pulled = await asyncio.to_thread(sync, path, api_server, township.agents[0])  # the catalog arrives
    assert pulled.returncode == 0, pulled.stderr
    store = LocalStore(path)
    vm = wizard(store, township)
    vm.choose_item("JZ-001")
    vm.choose_situation("first")
    vm.set_applicant(name="王秀英", id_number=id_number(777), phone="13912345678")
    assert vm.next() and vm.step is Step.FORM  # the form came from the pulled ot-catalog
    fill_whole_form(vm)
    case_id = str(vm.case["_id"])  # type: ignore[index]
    store.close()
    # the draft as it stands mid-way is accepted (answers incomplete but never wrong)
    draft = await asyncio.to_thread(sync, path, api_server, township.agents[0])
    assert draft.returncode == 0 and '"refused": 0' in draft.stdout, draft.stdout + draft.stderr
    store = LocalStore(path)
    vm = wizard(store, township)
    vm.resume(case_id)
    assert vm.step is Step.MATERIALS
    assert vm.next() and vm.next() and vm.sign(STROKES, 400, 200) and vm.next() and vm.submit()
    store.close()
    pushed = await asyncio.to_thread(sync, path, api_server, township.agents[0])
    assert pushed.returncode == 0 and '"refused": 0' in pushed.stdout, pushed.stdout + pushed.stderr
    stored = await catalog.get_doc(township.dbs[0], case_id)
    assert stored is not None
    assert stored["status"] == "submitted" and stored["form"]["id"] == "JZ-001"
    assert [m["member_name"] for m in stored["answers"]["members"]] == ["李桂兰", "王小明"]
    entry = next(e for e in stored["materials"] if e["source"] == "generated")
    answer = await catalog.request("GET", f"/{township.dbs[0]}/{entry['material_id']}/form.pdf")
    pdf = answer.content
    assert pdf.startswith(b"%PDF-")
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    text = "".join(p.extract_text() for p in pages).replace("\x00", "").replace(" ", "")
    assert len(pages) == 1 and stored["tracking_code"] in text
