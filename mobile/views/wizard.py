"""New application wizard screens (新建申请), one builder per step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from mobile.services.errors import PickError
from mobile.services.scan import ScanSource
from mobile.viewmodels.signing import LABEL_KEYS
from mobile.viewmodels.wizard import MaterialRow, Step, WizardViewModel
from mobile.views import ui
from mobile.views.errors import ErrorSlot
from mobile.views.form_step import build_form
from mobile.views.nav import Nav, Progress
from mobile.views.signature_pad import HEIGHT, WIDTH, SignaturePad
from shared.signing import SigningMethod


def build(nav: Nav, vm: WizardViewModel) -> ft.View:
    t = vm.t
    builders: dict[Step, Callable[[Nav, WizardViewModel], tuple[list[ft.Control], list[ft.Control]]]] = {
        Step.ITEM: _item,
        Step.SITUATION: _situation,
        Step.APPLICANT: _applicant,
        Step.FORM: _form,
        Step.MATERIALS: _materials,
        Step.NOTICE: _notice,
        Step.SIGNATURE: _signature,
        Step.REVIEW: _review,
    }
    body, bottom = builders[vm.step](nav, vm)
    header = ui.text(f"{vm.progress} · {vm.step_title}", 16, color=ui.MUTED)

    def back(e: ft.Event[ft.IconButton]) -> None:
        if vm.step is Step.ITEM:
            nav.go("/")
        else:
            vm.back()
            nav.refresh()

    content = ft.Semantics(identifier=f"wizard-{vm.step.name.lower()}", content=ui.stack(body))
    # Last in the column, so right above the step's buttons; the applicant step shows its
    # errors under their fields, and the proxy form its refusal above its fields (see _signature).
    inline = vm.step is Step.APPLICANT or (vm.step is Step.SIGNATURE and vm.signing is SigningMethod.PROXY)
    error = ErrorSlot("wizard-error", "" if inline else vm.error)
    return ui.screen("/new", t("new_application"), [header, content, error.control], back=back, bottom=bottom)


def _next_button(nav: Nav, vm: WizardViewModel, before: Callable[[], bool] | None = None) -> ft.Control:
    def go_next(e: ft.Event[ft.Button]) -> None:
        if before is not None and not before():
            nav.refresh()
            return
        vm.next()
        nav.refresh()

    return ui.button(vm.t("next"), go_next, icon=ft.Icons.ARROW_FORWARD, ident="next")


def _back_button(nav: Nav, vm: WizardViewModel) -> ft.Control:
    def back(e: ft.Event[ft.OutlinedButton]) -> None:
        vm.back()
        nav.refresh()

    return ui.button(vm.t("back"), back, primary=False)


# -- step 1 ---------------------------------------------------------------------------------


def _item(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    t = vm.t
    search = ui.field(t("item_search"), vm.search)

    def choose(code: str) -> None:
        vm.choose_item(code)
        nav.refresh()

    def category(name: str) -> None:
        vm.category = name
        nav.refresh()

    results = ui.stack(_item_results(vm, choose))

    def typed(e: ft.Event[Any]) -> None:
        # Filters as the agent types: only the list is rebuilt, so the field keeps its focus.
        vm.search = search.value or ""
        results.controls = _item_results(vm, choose)
        results.update()

    search.on_change = typed
    search.on_submit = typed
    search.suffix = ft.IconButton(ft.Icons.SEARCH, on_click=typed)

    chips: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(name.split(" ")[0], size=16),
            selected=vm.category == name,
            on_select=lambda e, n=name: category(n),
            height=ui.TOUCH - 8,
        )
        for name in ["", *vm.categories]
    ]
    chips[0] = ft.Chip(
        label=ft.Text(t("all_categories"), size=16),
        selected=not vm.category,
        on_select=lambda e: category(""),
        height=ui.TOUCH - 8,
    )
    body: list[ft.Control] = [
        search,
        ft.Row(chips, wrap=True, spacing=6, run_spacing=6),
        ft.Semantics(identifier="item-results", content=results),
    ]
    return body, []


def _item_results(vm: WizardViewModel, choose: Callable[[str], None]) -> list[ft.Control]:
    t = vm.t
    body: list[ft.Control] = []
    recent = vm.recent_items()
    if recent and not vm.search and not vm.category:
        body.append(ui.text(t("recent"), bold=True))
        body += [
            _choice(item.name, f"{item.time_limit_days} 天 days", _chooser(choose, item.code))
            for item in recent
        ]
        body.append(ft.Divider())
    visible = vm.visible_items()
    body += [
        _choice(item.name, vm.t("time_limit", days=item.time_limit_days), _chooser(choose, item.code))
        for item in visible
    ]
    if not visible:
        body.append(ft.Semantics(identifier="no-items", content=ui.text(t("no_items_found"), color=ui.MUTED)))
    return body


def _chooser(choose: Callable[[str], None], code: str) -> Callable[[ft.Event[Any]], None]:
    return lambda e: choose(code)


def _choice(label: str, note: str, on_click: Callable[[ft.Event[Any]], None]) -> ft.Control:
    return ft.Semantics(
        button=True,
        label=label,
        content=ft.Container(
            content=ft.Column([ui.text(label, bold=True), ui.text(note, 15, color=ui.MUTED)], spacing=2),
            padding=ft.Padding.all(ui.PAD),
            border=ft.Border.all(1, "#9AA3AD"),
            border_radius=ft.BorderRadius.all(8),
            on_click=on_click,
            ink=True,
        ),
    )


# -- step 2 ---------------------------------------------------------------------------------


def _situation(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    item = vm.item
    assert item is not None

    def choose(code: str) -> None:
        vm.choose_situation(code)
        nav.refresh()

    body: list[ft.Control] = [ui.text(item.name, bold=True)]
    body += [
        _choice(s.name, f"{len(s.requirements)} 项材料 materials", _chooser(choose, s.code))
        for s in item.situations
    ]
    facts = [
        ft.Column([ui.text(label, 15, color=ui.MUTED), ui.text(text, 16)], spacing=0)
        for label, text in item.facts(vm.t)
    ]
    if facts:  # conditions, fee and legal basis, which the agent tells the citizen
        body.append(ft.Semantics(identifier="item-facts", content=ui.panel(*facts)))
    return body, [_back_button(nav, vm)]


# -- step 3 ---------------------------------------------------------------------------------


def _applicant(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    t = vm.t
    a = vm.applicant
    name = ui.field(t("applicant_name"), a["name"])
    number = ui.field(t("id_number"), a["id_number"], max_length=18)
    phone = ui.field(t("phone"), a.get("phone", ""), keyboard=ft.KeyboardType.PHONE, max_length=11)
    live = ft.Container(content=_id_message(vm))
    slots = {key: ErrorSlot(f"error-{key}") for key in ("name", "id_number", "phone")}
    fields = {"name": name, "id_number": number, "phone": phone}

    def typed(e: ft.Event[ft.TextField]) -> None:
        vm.preview_id(number.value or "")
        live.content = _id_message(vm)
        slots["id_number"].show("")

    number.on_change = typed

    async def go_next(e: ft.Event[ft.Button]) -> None:
        vm.set_applicant(name=name.value or "", id_number=number.value or "", phone=phone.value or "")
        if vm.next():
            nav.refresh()
            return
        key, text = vm.applicant_problem()
        if key not in slots:
            nav.refresh()
            return
        # Under the field that caused it, the cursor put there; the screen is not rebuilt.
        for other in slots.values():
            other.show("")
        if key == "id_number":
            live.content = ft.Container(height=0)  # the same words, said once
        await slots[key].reveal(text, focus=fields[key])

    body: list[ft.Control] = [name, slots["name"].control, number, live, slots["id_number"].control,
                              phone, slots["phone"].control]
    next_button = ui.button(vm.t("next"), go_next, icon=ft.Icons.ARROW_FORWARD, ident="next")
    return body, [_back_button(nav, vm), next_button]


def _id_message(vm: WizardViewModel) -> ft.Control:
    if not vm.id_message:
        return ft.Container(height=0)
    return ft.Semantics(
        identifier="id-check", content=ui.message(vm.id_message, kind="ok" if vm.id_ok else "error")
    )


# -- the item's form -------------------------------------------------------------------------


def _form(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    return build_form(nav, vm), [_back_button(nav, vm), _next_button(nav, vm)]


# -- step 4 ---------------------------------------------------------------------------------


def _materials(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    body: list[ft.Control] = [ui.text(vm.situation.name if vm.situation else "", bold=True)]
    body += [_material(nav, vm, row) for row in vm.material_rows()]
    return body, [_back_button(nav, vm), _next_button(nav, vm)]


def _material(nav: Nav, vm: WizardViewModel, row: MaterialRow) -> ft.Control:
    t = vm.t
    code = row.requirement.code

    async def photo(e: ft.Event[ft.Button]) -> None:
        await _capture(nav, vm, code, nav.take_photo)

    async def pick(e: ft.Event[ft.Button]) -> None:
        await _capture(nav, vm, code, nav.pick_image)

    def reuse(e: ft.Event[ft.Button]) -> None:
        vm.reuse(code)
        nav.refresh()

    def remove(e: ft.Event[ft.Button]) -> None:
        vm.remove(code)
        nav.refresh()

    if row.generated:
        state = f"✓ {t('form_made')}"
    else:
        state = f"✓ {t('material_ok')}" if row.received else f"× {t('material_missing')}"
    need = t("required") if row.requirement.required else t("optional")
    head = ft.Row([ui.text(row.requirement.name, bold=True, selectable=False)], wrap=True)
    status = ft.Semantics(
        identifier=f"material-state-{code}", content=ui.text(f"{state} · {need}", 16, color=ui.INK)
    )
    lines: list[ft.Control] = [head, status]
    if row.note:
        note = ui.message(row.note, kind="warn")
        lines.append(ft.Semantics(identifier=f"material-note-{code}", content=note))
    if row.received and row.material_id:
        thumb = vm.thumbnail(row.material_id)
        if thumb:
            lines.append(ft.Image(src=thumb, height=120, fit=ft.BoxFit.CONTAIN))
    if row.progress is not None:
        lines.append(_arriving(vm, code, row.progress))
    if row.blurry:
        lines.append(ui.message(t("blurry"), kind="warn"))
    if row.error:
        lines.append(ft.Semantics(identifier=f"scan-error-{code}", content=ui.message(row.error)))
    # Rows of expanding buttons, never a wrapping Row: Flutter cannot expand inside a Wrap
    # (it draws a grey error box instead).
    if row.generated:  # made at submission from the answers: nothing to photograph or remove
        return ui.panel(*lines, bgcolor=ui.OK_BG)
    if row.reusable:
        lines.append(ft.Row([ui.button(t("reuse"), reuse, icon=ft.Icons.RECYCLING, ident=f"reuse-{code}")]))
    capture_label = t("retake") if row.received else t("capture")
    lines.append(
        ft.Row(
            [
                ui.button(capture_label, photo, icon=ft.Icons.PHOTO_CAMERA, ident=f"photo-{code}"),
                ui.button(
                    t("pick_file"), pick, icon=ft.Icons.FOLDER_OPEN, primary=False, ident=f"pick-{code}"
                ),
            ],
            spacing=6,
            # One photo at a time; enabled again however the photo ends (stored, refused, failed).
            disabled=vm.busy,
        )
    )
    if row.received:
        lines.append(ft.Row([ui.button(t("remove"), remove, icon=ft.Icons.DELETE_OUTLINE, primary=False)]))
    return ui.panel(*lines, bgcolor=ui.OK_BG if row.received else ui.PANEL)


def _arriving(vm: WizardViewModel, code: str, fraction: float) -> ft.Control:
    """The photo on its way: a bar with the share that arrived, then "processing"."""
    label = (
        vm.t("photo_processing")
        if fraction >= 1.0
        else vm.t("photo_uploading", percent=round(fraction * 100))
    )
    bar = ft.ProgressBar(value=None if fraction >= 1.0 else fraction, bar_height=8, color=ui.PRIMARY)
    return ft.Semantics(
        identifier=f"scan-progress-{code}",
        label=label,
        content=ft.Column([ui.text(label, 16), bar], spacing=4),
    )


async def _capture(
    nav: Nav, vm: WizardViewModel, code: str, get: Callable[[Progress], Awaitable[ScanSource | None]]
) -> None:
    """Camera or file chooser → progress on the row → pipeline in a thread → stored.

    The screen is sent after each change (`redraw`), because this handler runs for seconds.
    """

    def progress(fraction: float) -> None:
        vm.scan_arriving(code, fraction)
        nav.redraw()

    try:
        source = await get(progress)
    except PickError as error:
        vm.scan_failed(code, str(error))
        nav.redraw()
        return
    if source is None:
        vm.scan_cancelled(code)
        nav.redraw()
        return
    vm.scan_arriving(code, 1.0)
    nav.redraw()
    try:
        await vm.add_scan_async(code, source)
    finally:
        nav.release(source)
    nav.redraw()


# -- step 5 ---------------------------------------------------------------------------------


def _notice(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    t = vm.t
    missing = vm.missing
    if not missing:
        body: list[ft.Control] = [ui.message(t("notice_none"), kind="ok")]
    else:
        body = [ui.text(t("notice_intro"), bold=True)]
        body += [ui.text(f"{i}. {r.name}") for i, r in enumerate(missing, start=1)]
    return body, [_back_button(nav, vm), _next_button(nav, vm)]


# -- step 6 ---------------------------------------------------------------------------------


def _signature(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    """The applicant signs; or, when they cannot, a fingerprint photo or a proxy's signature."""
    t = vm.t
    method = vm.signing
    body: list[ft.Control] = [ui.text(t("sign_method"), 16, color=ui.MUTED), _signing_choices(nav, vm)]
    before: Callable[[], bool]
    if method is SigningMethod.FINGERPRINT:
        body += _fingerprint(nav, vm)

        def before() -> bool:
            return True  # next() says when the photo is still missing

    elif method is SigningMethod.PROXY:
        proxy = vm.proxy
        name = ui.field(t("proxy_name"), proxy["name"])
        number = ui.field(t("proxy_id"), proxy["id_number"], max_length=18)
        relation = ui.field(t("proxy_relation"), proxy["relation"], max_length=20)
        pad = SignaturePad(t("clear"), vm.strokes_drawn)
        # The refusal next to the fields it is about: the screen's own message is below the pad.
        refusal = [ft.Semantics(identifier="proxy-error", content=ui.message(vm.error))] if vm.error else []
        body += [ui.text(t("proxy_help")), *refusal, name, number, relation, *_kept_mark(vm), pad]

        def before() -> bool:
            return vm.sign_by_proxy(
                pad.strokes, WIDTH, HEIGHT,
                name=name.value or "", id_number=number.value or "", relation=relation.value or "",
            )

    else:
        pad = SignaturePad(t("clear"))
        body += [ui.text(t("signature_help")), pad]

        def before() -> bool:
            if pad.strokes:
                return vm.sign(pad.strokes, WIDTH, HEIGHT)
            return True  # an existing signature (resumed draft) is kept; next() checks one exists

    return body, [_back_button(nav, vm), _next_button(nav, vm, before)]


def _signing_choices(nav: Nav, vm: WizardViewModel) -> ft.Control:
    def choose(method: SigningMethod) -> None:
        vm.choose_signing(method)
        nav.refresh()

    chips: list[ft.Control] = [
        ft.Semantics(
            identifier=f"signing-{method.value}",
            content=ft.Chip(
                label=ft.Text(vm.t(LABEL_KEYS[method]), size=16),
                selected=vm.signing is method,
                on_select=lambda e, m=method: choose(m),
                height=ui.TOUCH - 8,
            ),
        )
        for method in SigningMethod
    ]
    # Chips (not expanding buttons) may wrap: the three bilingual labels take two lines at 360 px.
    return ft.Row(chips, spacing=6, run_spacing=6, wrap=True)


def _kept_mark(vm: WizardViewModel) -> list[ft.Control]:
    mark = vm.mark()
    if mark is None:
        return []
    image = ft.Image(src=mark, height=100, fit=ft.BoxFit.CONTAIN)
    return [ft.Semantics(identifier="signing-mark", content=image)]


def _fingerprint(nav: Nav, vm: WizardViewModel) -> list[ft.Control]:
    t = vm.t

    async def capture(get: Callable[[Progress], Awaitable[ScanSource | None]]) -> None:
        def progress(fraction: float) -> None:
            vm.mark_progress = fraction
            nav.redraw()

        try:
            source = await get(progress)
        except PickError as error:
            vm.error, vm.mark_progress = str(error), None
            nav.redraw()
            return
        if source is not None:
            vm.mark_progress = 1.0
            nav.redraw()
            try:
                await vm.add_fingerprint(source)
            finally:
                vm.mark_progress = None
                nav.release(source)
        nav.redraw()

    async def photo(e: ft.Event[ft.Button]) -> None:
        await capture(nav.take_photo)

    async def pick(e: ft.Event[ft.Button]) -> None:
        await capture(nav.pick_image)

    lines: list[ft.Control] = [ui.text(t("fingerprint_help")), *_kept_mark(vm)]
    if vm.mark_progress is not None:
        lines.append(_arriving(vm, "fingerprint", vm.mark_progress))
    lines.append(
        ft.Row(
            [
                ui.button(t("capture"), photo, icon=ft.Icons.PHOTO_CAMERA, ident="photo-fingerprint"),
                ui.button(
                    t("pick_file"), pick, icon=ft.Icons.FOLDER_OPEN, primary=False, ident="pick-fingerprint"
                ),
            ],
            spacing=6,
            disabled=vm.mark_progress is not None,
        )
    )
    return lines


# -- step 7 ---------------------------------------------------------------------------------


def _review(nav: Nav, vm: WizardViewModel) -> tuple[list[ft.Control], list[ft.Control]]:
    rows = [
        ft.Column([ui.text(label, 15, color=ui.MUTED), ui.text(value, bold=True)], spacing=0)
        for label, value in vm.summary()
    ]

    def submit(e: ft.Event[ft.Button]) -> None:
        if vm.submit() and vm.case is not None:
            # go() before toast(): show_dialog updates the page itself, and Flet skips its
            # automatic update after a handler that updated (docs/design.md §Flet notes).
            nav.go(f"/receipt/{vm.case['_id']}")
            nav.toast(vm.t("submitted_ok"))
        else:
            nav.refresh()

    return [ui.text(vm.t("review_title"), bold=True), *rows], [
        _back_button(nav, vm),
        ui.button(vm.t("submit"), submit, icon=ft.Icons.SEND, ident="submit"),
    ]
