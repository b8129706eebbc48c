"""New application wizard (新建申请): item → situation → applicant → the item's form (表单,
when it has one) → materials → one-time notice (一次性告知) → signature → review → submit.

Every action saves the draft case in the local store, so a draft survives an app restart
at any step; `resume` derives the step from what the draft already holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import Any

from mobile.services.application_form import (
    FormDocument,
    NoCjkFont,
    preview_jpegs,
    render_pdf,
    render_preview,
)
from mobile.services.errors import ScanError, SignatureError
from mobile.services.fonts import cjk_font_path
from mobile.services.i18n import Translator
from mobile.services.scan import Scan, ScanMode, ScanSource, process_scan
from mobile.services.signature import Stroke, render_signature
from mobile.viewmodels.casebook import CaseBook, iso
from mobile.viewmodels.form_step import FormAnswers, FormLoader, Page, pages_of, prefill_names
from mobile.viewmodels.items import ItemChoice, Requirement, Situation, categories
from mobile.viewmodels.signing import signing_text
from shared.catalog_model import months_later
from shared.documents import EventKind
from shared.errors import IdNumberError
from shared.forms import Choice, FieldType, Form, choices_for
from shared.idnumber import mask_id_number, normalize_id_number, parse_id_number
from shared.ids import new_tracking_code
from shared.jsontypes import JSON
from shared.signing import (
    FINGERPRINT_ATTACHMENT,
    SIGNATURE_ATTACHMENT,
    SigningMethod,
    attachment_for,
    signing_method,
)
from shared.text import Message

SIGNATURE = SIGNATURE_ATTACHMENT
# The checklist line the generated 申请表 fills: catalogs name it one way or the other.
APPLICATION_FORM_CODES = ("application_form", "application")
GENERATED = "generated"  # the source of the 申请表's line: made from the form's answers
log = logging.getLogger(__name__)


class Step(IntEnum):
    ITEM = 0
    SITUATION = 1
    APPLICANT = 2
    FORM = 3
    MATERIALS = 4
    NOTICE = 5
    SIGNATURE = 6
    REVIEW = 7
    DONE = 8


STEP_KEYS = (
    "step_item",
    "step_situation",
    "step_applicant",
    "step_form",
    "step_materials",
    "step_notice",
    "step_signature",
    "step_review",
    "receipt",
)


@dataclass(frozen=True)
class MaterialRow:
    """One line of the checklist as shown: received or not, how, and a blur warning."""

    requirement: Requirement
    received: bool
    source: str
    material_id: str
    blurry: bool
    reusable: str
    error: str
    # While a photo arrives (0…1 of its bytes) and then while it is processed (1.0), else None.
    progress: float | None = None
    # Why the line is as it is, when the agent could not guess (the form that cannot be made).
    note: str = ""

    @property
    def generated(self) -> bool:
        """Met by the 申请表 the app makes from the form's answers (at submission): no photo."""
        return self.source == GENERATED


class WizardViewModel:
    """State and actions of the wizard for one draft case."""

    def __init__(
        self,
        book: CaseBook,
        items: Sequence[ItemChoice],
        t: Translator,
        *,
        village: str,
        today: Callable[[], date],
        recent: Sequence[str] = (),
        remember_item: Callable[[str], None] = lambda code: None,
        random_bytes: Callable[[int], bytes] = os.urandom,
        forms: FormLoader = lambda item, situation: None,
        can_make_form: Callable[[], bool] = lambda: cjk_font_path() is not None,
    ) -> None:
        self.book = book
        self.items = list(items)
        self.t = t
        self.village = village
        self.today = today
        self.recent_codes = list(recent)
        self.remember_item = remember_item
        self.random_bytes = random_bytes
        self.step = Step.ITEM
        self.case: JSON | None = None
        self.search = ""
        self.category = ""
        self.error = ""
        self.id_message = ""
        self.id_ok = False
        self.known: dict[str, str] = {}
        self.blurry: set[str] = set()
        self.row_errors: dict[str, str] = {}
        self.arriving: dict[str, float] = {}
        self.mark_progress: float | None = None  # the fingerprint photo on its way
        # What was typed and drawn for a proxy that was refused: shown again, not lost.
        self.proxy_typed: dict[str, str] | None = None
        self.strokes_drawn: list[list[tuple[float, float]]] = []
        self.forms = forms
        # Whether this device can make the 申请表 (a CJK font, ADR 0139): the same answer for
        # the materials step, the one-time notice, the review and submit.
        self.can_make_form = can_make_form
        self.filling: FormAnswers | None = None  # the form step's answers (None: no form)
        self.page = 0
        self.earlier: dict[str, Any] = {}  # this citizen's answers in earlier cases (免填)

    # -- navigation ----------------------------------------------------------------------

    @property
    def step_title(self) -> str:
        return self.t(STEP_KEYS[self.step])

    @property
    def progress(self) -> str:
        return f"{min(self.step, Step.REVIEW) + 1}/{len(Step) - 1}"

    def resume(self, case_id: str) -> None:
        """Opens a saved draft at the first step it has not completed."""
        self.case = self.book.get(case_id)
        self._check_id(str(self.case["applicant"].get("id_number", "")))
        if self.item is None:
            self.step = Step.ITEM
        elif self.situation is None:
            self.step = Step.SITUATION
        elif not self._applicant_complete():
            self.step = Step.APPLICANT
        else:
            self._open_form()
            if self._has_signature():
                self.step = Step.REVIEW
            elif self.filling is not None and self.filling.page_problems(
                Page(self.filling.form.fields, None), complete=True
            ):
                self.step = Step.FORM
                filling = self.filling
                self.page = next(
                    (n for n, p in enumerate(self.form_pages) if filling.page_problems(p, complete=True)), 0
                )
            else:
                self.step = Step.MATERIALS

    def back(self) -> None:
        self.error = ""
        if self.step is Step.FORM and self._move_page(-1):
            return
        if Step.ITEM < self.step < Step.DONE:
            self.step = Step(self.step - 1)
            if self.step is Step.FORM:
                if self.filling is None:
                    self.step = Step.APPLICANT
                else:
                    self.page = len(self.form_pages)
                    if not self._move_page(-1):
                        self.step = Step.APPLICANT

    def next(self) -> bool:
        """Validates the current step and moves on; `error` says what is missing."""
        self.error = ""
        check: Callable[[], str] | None = {
            Step.ITEM: lambda: "" if self.item else self.t("choose_item_first"),
            Step.SITUATION: lambda: "" if self.situation else self.t("choose_situation_first"),
            Step.APPLICANT: self._applicant_error,
            Step.FORM: self._page_error,
            Step.MATERIALS: lambda: "",
            Step.NOTICE: lambda: "",
            Step.SIGNATURE: self._signature_error,
        }.get(self.step)
        if check is None:
            return False
        self.error = check()
        if self.error:
            return False
        if self.step is Step.MATERIALS:
            self._save({"missing": [r.code for r in self.missing]})
        if self.step is Step.FORM:
            if self._move_page(+1):
                return True
            assert self.filling is not None
            self._save({"answers": self.filling.saved(with_calculations=True)})
        self.step = Step(self.step + 1)
        if self.step is Step.FORM:
            self._open_form()
            if self.filling is None:
                self.step = Step.MATERIALS
            else:
                self.page = -1
                if not self._move_page(+1):  # nothing applies: straight on
                    self._save({"answers": self.filling.saved(with_calculations=True)})
                    self.step = Step.MATERIALS
        return True

    # -- step 1: item --------------------------------------------------------------------

    @property
    def categories(self) -> list[str]:
        return categories(self.items)

    def visible_items(self) -> list[ItemChoice]:
        return [
            i
            for i in self.items
            if (not self.category or i.category == self.category) and i.matches(self.search)
        ]

    def recent_items(self) -> list[ItemChoice]:
        by_code = {i.code: i for i in self.items}
        return [by_code[c] for c in self.recent_codes if c in by_code]

    def choose_item(self, code: str) -> None:
        item = next(i for i in self.items if i.code == code)
        if self.case is None:
            self.case = self.book.new_draft(code, self.village)
        elif self.case["item_code"] != code:
            self._save({"item_code": code, "situation": "", "materials": [], "missing": []})
        self.step = Step.SITUATION
        if len(item.situations) == 1:
            self.choose_situation(item.situations[0].code)

    @property
    def item(self) -> ItemChoice | None:
        if self.case is None:
            return None
        return next((i for i in self.items if i.code == self.case["item_code"]), None)

    # -- step 2: situation ---------------------------------------------------------------

    @property
    def situation(self) -> Situation | None:
        item = self.item
        return item.situation(str(self.case.get("situation", ""))) if item and self.case else None

    def choose_situation(self, code: str) -> None:
        assert self.case is not None
        if self.case.get("situation") != code:
            self._save({"situation": code, "materials": [], "missing": []})
        self.step = Step.APPLICANT

    # -- step 3: applicant ---------------------------------------------------------------

    @property
    def applicant(self) -> dict[str, str]:
        return dict(self.case["applicant"]) if self.case else {"name": "", "id_number": "", "phone": ""}

    def set_applicant(
        self, name: str | None = None, id_number: str | None = None, phone: str | None = None
    ) -> None:
        """Saves what was typed; the ID number is checked as it is typed."""
        assert self.case is not None
        applicant = self.applicant
        if name is not None:
            applicant["name"] = name.strip()
        if phone is not None:
            applicant["phone"] = "".join(phone.split())
        if id_number is not None:
            applicant["id_number"] = "".join(id_number.split()).upper()
            self._check_id(applicant["id_number"])
        self._save({"applicant": applicant})

    def preview_id(self, text: str) -> str:
        """The live message while typing, without saving (saved on Next)."""
        self._check_id("".join(text.split()).upper())
        return self.id_message

    def _check_id(self, number: str) -> None:
        self.id_ok = False
        self.known = {}
        if not number:
            self.id_message = ""
            return
        try:
            parsed = parse_id_number(number, today=self.today())
        except IdNumberError as error:
            self.id_message = str(error)
            return
        self.id_ok = True
        self.id_message = f"{self.t('id_ok')} · {parsed.birth_date.isoformat()}"
        self.known = self.book.known_materials(parsed.number, self.today().isoformat())
        if self.known:
            self.id_message += f" · {self.t('known_citizen', n=len(self.known))}"

    def _applicant_complete(self) -> bool:
        return not self._applicant_error()

    def _applicant_error(self) -> str:
        return self.applicant_problem()[1]

    def applicant_problem(self) -> tuple[str, str]:
        """(field, message) of the first thing wrong on the applicant step, ("", "") if none:
        the screen shows the message under that field ("name", "id_number" or "phone")."""
        a = self.applicant
        if not a.get("name"):
            return "name", self.t("name_required")
        if not a.get("id_number"):
            return "id_number", self.t("id_required")
        if not self.id_ok:
            return "id_number", self.id_message
        phone = a.get("phone", "")
        if phone and not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            return "phone", self.t("phone_invalid")
        return "", ""

    # -- step 4: the item's form (表单) ---------------------------------------------------

    @property
    def form(self) -> Form | None:
        return self.filling.form if self.filling is not None else None

    @property
    def form_pages(self) -> list[Page]:
        return pages_of(self.filling.form) if self.filling is not None else []

    @property
    def current_page(self) -> Page | None:
        pages = self.form_pages
        return pages[self.page] if 0 <= self.page < len(pages) else None

    @property
    def page_progress(self) -> str:
        return f"{self.page + 1}/{len(self.form_pages)}" if self.filling is not None else ""

    def say(self, message: Message | None) -> str:
        """A form's bilingual text as the app's language shows it ("中文 English" or English)."""
        if message is None:
            return ""
        if self.t.language == "en":
            return message.en or message.zh
        return message.zh if not message.en or message.en == message.zh else f"{message.zh} {message.en}"

    def prefilled(self, name: str) -> bool:
        """The answer was offered from the citizen's earlier case (免填) and is unchanged."""
        if self.filling is None or name not in self.earlier:
            return False
        return bool(self.filling.answers.get(name) == self.earlier[name])

    def set_answer(self, name: str, value: Any, index: int | None = None) -> None:
        """What was typed or picked for `name` (in repeat instance `index`): saved in the draft
        when valid, else held on screen with its message (`answer_error`)."""
        assert self.filling is not None
        self.filling.set(name, value, index)
        self.error = ""
        self._save_answers()

    def answer(self, name: str, index: int | None = None) -> Any:
        assert self.filling is not None
        return self.filling.value(name, index)

    def answer_error(self, name: str, index: int | None = None) -> str:
        assert self.filling is not None
        message = self.filling.error(name, index)
        return str(message) if message is not None else ""

    def choices(self, name: str, index: int | None = None) -> tuple[Choice, ...]:
        """The choices a select offers now (its choice_filter applied)."""
        assert self.filling is not None
        return choices_for(self.filling.form, self.filling.answers, name, today=self.today(), index=index)

    def add_instance(self, repeat: str) -> None:
        assert self.filling is not None
        problem = self.filling.add_instance(repeat)
        self.error = str(problem) if problem is not None else ""
        self._save_answers()

    def remove_instance(self, repeat: str, index: int) -> None:
        assert self.filling is not None
        self.filling.remove_instance(repeat, index)
        self._save_answers()

    def _save_answers(self) -> None:
        assert self.filling is not None
        saved = self.filling.saved()
        if saved != (self.case or {}).get("answers"):
            self._save({"answers": saved})

    def _page_shown(self, page: Page) -> bool:
        assert self.filling is not None
        return any(self.filling.relevant(f.name) for f in page.fields)

    def _move_page(self, step: int) -> bool:
        """To the next (or previous) page with something that applies; False past the end."""
        pages = self.form_pages
        n = self.page + step
        while 0 <= n < len(pages):
            if self._page_shown(pages[n]):
                self.page = n
                return True
            n += step
        return False

    def _page_error(self) -> str:
        page = self.current_page
        if self.filling is None or page is None:
            return ""
        problems = self.filling.page_problems(page, complete=True)
        return str(problems[0]) if problems else ""

    def _open_form(self) -> None:
        """Loads the current form of the case's item (or situation), or the version the draft
        was begun with; a form met for the first time offers the citizen's earlier answers."""
        assert self.case is not None
        item, situation = str(self.case["item_code"]), str(self.case.get("situation", ""))
        form = self.forms(item, situation)
        ref = self.case.get("form") or {}
        if form is None:
            self.filling = None
            if ref or self.case.get("answers"):  # the item changed to one without a form
                before = self.case
                after = {k: v for k, v in before.items() if k != "form"}
                self.case = self.book.save(before, {**after, "answers": {}})
            return
        self.earlier = self.book.earlier_answers(self.applicant["id_number"], str(self.case["_id"]))
        same = ref.get("id") == form.form_id and ref.get("version") == form.version
        if self.filling is not None and self.filling.form == form and same:
            return
        answers = dict(self.case.get("answers") or {}) if same else {}
        self.filling = FormAnswers(form, answers, self.today)
        if not same:
            for name in prefill_names(form):
                earlier = self.earlier.get(name)
                if earlier is None or name in answers:
                    continue
                if form.field(name).type is FieldType.REPEAT:
                    if isinstance(earlier, list):
                        self.filling.answers[name] = [dict(i) for i in earlier if isinstance(i, dict)]
                else:
                    self.filling.set(name, earlier)
                    self.filling.held.pop(name, None)  # not valid for this form: not offered
            self._save({"form": {"id": form.form_id, "version": form.version},
                        "answers": self.filling.saved()})

    # -- step 5: materials ---------------------------------------------------------------

    def material_rows(self) -> list[MaterialRow]:
        situation = self.situation
        if situation is None or self.case is None:
            return []
        entries = {e["requirement"]: e for e in self.case.get("materials", [])}
        form_line = self.form_line
        makes_form = bool(form_line) and self.can_make_form()
        rows = []
        for req in situation.requirements:
            entry = entries.get(req.code, {})
            if req.code == form_line and makes_form and entry.get("source") != GENERATED:
                # Submit makes this paper from the answers just filled in (and replaces any
                # photo of a paper form on the line): received, nothing to photograph or bring.
                rows.append(MaterialRow(req, True, GENERATED, "", False, "", ""))
                continue
            rows.append(
                MaterialRow(
                    requirement=req,
                    received=bool(entry),
                    source=str(entry.get("source", "")),
                    material_id=str(entry.get("material_id", "")),
                    blurry=req.code in self.blurry,
                    reusable=self.known.get(req.reuse_key, "") if not entry else "",
                    error=self.row_errors.get(req.code, ""),
                    progress=self.arriving.get(req.code),
                    note=self.t("form_not_made") if req.code == form_line and not entry else "",
                )
            )
        return rows

    @property
    def form_line(self) -> str:
        """The checklist line the filled 申请表 meets ("" when the item has no form): the first of
        `APPLICATION_FORM_CODES` the situation lists, else the first code (an extra line)."""
        if self.filling is None:
            return ""
        situation = self.situation
        codes = [r.code for r in situation.requirements] if situation else []
        return next((c for c in APPLICATION_FORM_CODES if c in codes), APPLICATION_FORM_CODES[0])

    @property
    def busy(self) -> bool:
        """A photo is arriving or being processed: the photo buttons wait for it."""
        return bool(self.arriving)

    def scan_arriving(self, requirement: str, fraction: float) -> None:
        """Progress of a photo on its way (0…1), shown on its row."""
        self.row_errors.pop(requirement, None)
        self.arriving[requirement] = max(0.0, min(1.0, fraction))

    def scan_failed(self, requirement: str, message: str) -> None:
        """The photo never arrived (PickError): the row says why, the buttons work again."""
        self.arriving.pop(requirement, None)
        self.row_errors[requirement] = message

    def scan_cancelled(self, requirement: str) -> None:
        self.arriving.pop(requirement, None)

    def add_scan(self, requirement: str, data: ScanSource, mode: ScanMode = ScanMode.DOCUMENT) -> bool:
        """A photo or picked file for `requirement`: through the scan pipeline, stored once."""
        assert self.case is not None
        self.row_errors.pop(requirement, None)
        try:
            outcome = _try_scan(data, mode)
        finally:
            self.arriving.pop(requirement, None)
        return self._keep_scan(requirement, outcome)

    async def add_scan_async(
        self, requirement: str, source: ScanSource, mode: ScanMode = ScanMode.DOCUMENT
    ) -> bool:
        """`add_scan` with the pipeline in a worker thread: a 48 MP photo takes seconds, and the
        screen keeps answering meanwhile (the row shows "processing")."""
        assert self.case is not None
        self.scan_arriving(requirement, 1.0)
        try:
            outcome = await asyncio.to_thread(_try_scan, source, mode)
        finally:
            self.arriving.pop(requirement, None)
        return self._keep_scan(requirement, outcome)

    def _keep_scan(self, requirement: str, outcome: Scan | ScanError) -> bool:
        """The scan stored, or its refusal shown on the row."""
        if isinstance(outcome, ScanError):
            self.row_errors[requirement] = str(outcome)
            return False
        self._store_scan(requirement, outcome)
        return True

    def _store_scan(self, requirement: str, scan: Scan) -> None:
        assert self.case is not None
        number = self.applicant["id_number"]
        req = self._requirement(requirement)
        valid_until = months_later(self.today(), req.valid_months).isoformat() if req.valid_months else None
        material = self.book.add_material(
            number,
            mask_id_number(number),
            req.reuse_key,
            scan.jpeg,
            scan.thumbnail,
            valid_until,
            self.case["division"],
        )
        entry = {"requirement": requirement, "material_id": material["_id"], "source": "captured"}
        self._save({"materials": [*self._other_entries(requirement), entry]})
        if scan.blurry:
            self.blurry.add(requirement)
        else:
            self.blurry.discard(requirement)

    def reuse(self, requirement: str) -> None:
        """Reuses this citizen's valid material from an earlier case (never ask twice)."""
        material_id = self.known[self._requirement(requirement).reuse_key]
        entry = {"requirement": requirement, "material_id": material_id, "source": "reused"}
        self._save({"materials": [*self._other_entries(requirement), entry]})

    def remove(self, requirement: str) -> None:
        self.blurry.discard(requirement)
        self._save({"materials": self._other_entries(requirement)})

    def _requirement(self, code: str) -> Requirement:
        assert self.situation is not None
        return next(r for r in self.situation.requirements if r.code == code)

    def thumbnail(self, material_id: str) -> bytes | None:
        return self.book.thumbnail(material_id)

    def _other_entries(self, requirement: str) -> list[JSON]:
        assert self.case is not None
        return [e for e in self.case.get("materials", []) if e["requirement"] != requirement]

    # -- step 5: one-time notice ---------------------------------------------------------

    @property
    def missing(self) -> list[Requirement]:
        """Required materials not received: the complete one-time list (一次性告知)."""
        return [r.requirement for r in self.material_rows() if r.requirement.required and not r.received]

    # -- step 6: signature (签名, 按手印 or 代签) -------------------------------------------

    @property
    def signing(self) -> SigningMethod:
        return signing_method(self.case) if self.case is not None else SigningMethod.SIGNATURE

    @property
    def proxy(self) -> dict[str, str]:
        """The proxy as typed (after a refusal) or saved (name, id_number, relation), else empty."""
        saved = self.proxy_typed or (self.case or {}).get("signing", {}).get("proxy") or {}
        return {k: str(saved.get(k, "")) for k in ("name", "id_number", "relation")}

    def choose_signing(self, method: SigningMethod) -> None:
        """The applicant signs, presses a fingerprint, or a proxy signs for them."""
        assert self.case is not None
        self.error = ""
        if method is not self.signing:
            self._save({"signing": {"method": method.value}})

    def sign(self, strokes: Sequence[Stroke], width: int, height: int) -> bool:
        """The applicant's own signature."""
        assert self.case is not None
        if not self._put_signature(strokes, width, height):
            return False
        self._save({"signing": {"method": SigningMethod.SIGNATURE.value}})
        return True

    def _put_signature(self, strokes: Sequence[Stroke], width: int, height: int) -> bool:
        """The strokes drawn into the case's signature picture; a refusal goes to `error`."""
        try:
            png = render_signature(strokes, width, height)
        except SignatureError as error:
            self.error = str(error)
            return False
        self._put_mark(SIGNATURE_ATTACHMENT, png, "image/png")
        return True

    def sign_by_proxy(
        self,
        strokes: Sequence[Stroke],
        width: int,
        height: int,
        *,
        name: str,
        id_number: str,
        relation: str = "",
    ) -> bool:
        """A proxy (witness) signs for the applicant: name and a valid ID number, not the applicant's.

        With no new strokes, a signature already drawn (a resumed draft) is kept.
        """
        assert self.case is not None
        self.proxy_typed = {"name": name, "id_number": id_number, "relation": relation}
        self.strokes_drawn = [list(stroke) for stroke in strokes]
        self.error = self._proxy_error(name, id_number)
        if self.error:
            return False
        if (strokes or not self._has_mark(SIGNATURE_ATTACHMENT)) and not self._put_signature(
            strokes, width, height
        ):
            return False
        self.proxy_typed, self.strokes_drawn = None, []
        number = normalize_id_number(id_number)
        proxy = {"name": name.strip(), "id_number": number, "relation": relation.strip()}
        self._save({"signing": {"method": SigningMethod.PROXY.value, "proxy": proxy}})
        return True

    def _proxy_error(self, name: str, id_number: str) -> str:
        if not name.strip():
            return self.t("proxy_name_required")
        number = normalize_id_number(id_number)
        try:
            parse_id_number(number, today=self.today())
        except IdNumberError as error:
            return f"{self.t('proxy_id')}: {error}"
        if number == normalize_id_number(self.applicant["id_number"]):
            return self.t("proxy_is_applicant")
        return ""

    async def add_fingerprint(self, source: ScanSource) -> bool:
        """A photo of the applicant's fingerprint on paper (按手印), through the scan pipeline."""
        assert self.case is not None
        self.error = ""
        try:
            scan = await asyncio.to_thread(process_scan, source, ScanMode.DOCUMENT)
        except ScanError as error:
            self.error = str(error)
            return False
        self._put_mark(FINGERPRINT_ATTACHMENT, scan.jpeg, "image/jpeg")
        self._save({"signing": {"method": SigningMethod.FINGERPRINT.value}})
        return True

    def mark(self) -> bytes | None:
        """The stored signature or fingerprint of the chosen method, for the screen."""
        if self.case is None or not self._has_signature():
            return None
        return self.book.store.get_attachment(self.case["_id"], attachment_for(self.signing))

    def _put_mark(self, name: str, data: bytes, content_type: str) -> None:
        assert self.case is not None
        result = self.book.store.put_attachment(self.case["_id"], self.case["_rev"], name, data, content_type)
        self.case = self.book.get(self.case["_id"])
        assert self.case["_rev"] == result["rev"]
        self.error = ""

    def _has_mark(self, name: str) -> bool:
        return self.case is not None and name in self.case.get("_attachments", {})

    def _has_signature(self) -> bool:
        """The chosen method is complete: its picture is stored (and, for a proxy, who signed)."""
        method = self.signing
        if method is SigningMethod.PROXY and not self.proxy["id_number"]:
            return False
        return self._has_mark(attachment_for(method))

    def _signature_error(self) -> str:
        if self._has_signature():
            return ""
        return {
            SigningMethod.SIGNATURE: self.t("signature_help"),
            SigningMethod.FINGERPRINT: self.t("fingerprint_required"),
            SigningMethod.PROXY: self.t("proxy_help"),
        }[self.signing]

    # -- step 7: review and submit -------------------------------------------------------

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the review screen; the ID number masked."""
        item, situation, a = self.item, self.situation, self.applicant
        received = [r.requirement.name for r in self.material_rows() if r.received]
        return [
            (self.t("step_item"), item.name if item else ""),
            (self.t("step_situation"), situation.name if situation else ""),
            (self.t("applicant_name"), a["name"]),
            (self.t("id_number"), mask_id_number(a["id_number"]) if self.id_ok else a["id_number"]),
            (self.t("phone"), a.get("phone", "")),
            (self.t("material_ok"), "、".join(received) or "—"),
            (self.t("material_missing"), "、".join(r.name for r in self.missing) or "—"),
            (self.t("signed_as"), signing_text(self.case, self.t) if self.case else "—"),
        ]

    def submit(self) -> bool:
        """Submits offline: status, tracking code and the one-time list are fixed now."""
        assert self.case is not None
        if self.step is not Step.REVIEW:
            return False
        code = new_tracking_code(self.random_bytes(16))
        self._add_application_form(code)
        missing = [r.code for r in self.missing]
        self._save(
            {
                "status": "submitted",
                "tracking_code": code,
                "submitted_at": iso(self.book.clock()),
                "missing": missing,
            }
        )
        self.book.add_event(self.case, EventKind.SUBMITTED, {"missing": missing, "tracking_code": code})
        self.remember_item(str(self.case["item_code"]))
        self.step = Step.DONE
        return True

    def _add_application_form(self, tracking_code: str) -> None:
        """The filled 申请表 (PDF, PNG preview, a JPEG for the screens that show scans) stored as
        the case's application-form material: no paper form to photograph."""
        assert self.case is not None
        requirement = self.form_line
        if not requirement or self.filling is None:
            return
        if not self.can_make_form():  # the materials step asked for the paper form
            log.warning("no CJK font: the application form of %s is not generated", self.case["_id"])
            return
        a = self.applicant
        document = FormDocument(
            item_name=self.item.name if self.item else str(self.case["item_code"]),
            applicant=[(self.t("applicant_name"), a["name"]), (self.t("id_number"), a["id_number"]),
                       (self.t("phone"), a.get("phone", ""))],
            signed=signing_text(self.case, self.t),
            signed_on=self.today().isoformat(),
            agent=self.book.account.display_name or self.book.account.username,
            tracking_code=tracking_code,
            signature_png=self.mark(),  # the signature, or the photo of the fingerprint
        )
        answers = dict(self.case.get("answers") or {})
        try:
            pdf = render_pdf(self.filling.form, answers, document)
            png = render_preview(self.filling.form, answers, document)
        except NoCjkFont:  # a form without its Chinese is no form: the paper one is asked for
            log.warning("no CJK font: the application form of %s is not generated", self.case["_id"])
            return
        jpeg, thumb = preview_jpegs(png)
        material = self.book.add_document(
            a["id_number"], mask_id_number(a["id_number"]), "application_form",
            {"form.pdf": ("application/pdf", pdf), "form.png": ("image/png", png),
             "scan.jpg": ("image/jpeg", jpeg), "thumb.jpg": ("image/jpeg", thumb)},
            self.case["division"],
        )
        entry = {"requirement": requirement, "material_id": material["_id"], "source": GENERATED}
        self._save({"materials": [*self._other_entries(requirement), entry]})

    # -- saving --------------------------------------------------------------------------

    def _save(self, changes: JSON) -> None:
        assert self.case is not None
        before = self.case
        after = {**before, **changes}
        self.case = self.book.save(before, after)


def _try_scan(source: ScanSource, mode: ScanMode) -> Scan | ScanError:
    """The scan pipeline's result, or its refusal as a value (it may run in a worker thread)."""
    try:
        return process_scan(source, mode)
    except ScanError as error:
        return error
