"""The wizard's form step (表单): one question group per screen, big controls for gloves.

Text, number, date and ID-number questions are text fields whose message shows under them as
the agent types (an ErrorSlot per field); choices are full-width buttons (a select_multiple's
toggle); a repeat (household members) shows each instance in a panel with its remove button
and an add button below. The screen is rebuilt only when what shows changes (a question
appears or disappears, a total in a note changes), so typing keeps its focus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from mobile.viewmodels.wizard import WizardViewModel
from mobile.views import ui
from mobile.views.errors import ErrorSlot
from mobile.views.nav import Nav
from shared.forms import Field, FieldType, label_text

KEYBOARDS = {
    FieldType.INTEGER: ft.KeyboardType.NUMBER,
    FieldType.DECIMAL: ft.KeyboardType.NUMBER,
    FieldType.DATE: ft.KeyboardType.DATETIME,
}


def ident(name: str, index: int | None) -> str:
    return f"q-{name}" if index is None else f"q-{name}-{index}"


def build_form(nav: Nav, vm: WizardViewModel) -> list[ft.Control]:
    page = vm.current_page
    filling = vm.filling
    if page is None or filling is None:
        return []
    shown = _shape(vm)

    def changed() -> None:
        """After an answer: rebuild only when the questions shown (or a note's totals) changed."""
        if _shape(vm) != shown:
            nav.refresh()

    heading = f"{vm.say(filling.form.title)} · {vm.page_progress}"
    body: list[ft.Control] = [ui.text(heading, 16, color=ui.MUTED)]
    if page.title is not None:
        body.append(ui.text(vm.say(page.title), bold=True))
    repeat = page.repeat
    if repeat is not None:
        body += _repeat(nav, vm, repeat)
        return body
    for item in _flat(page.fields):
        body += _question(nav, vm, item, None, changed)
    return body


def _flat(fields: tuple[Field, ...]) -> list[Field]:
    out: list[Field] = []
    for item in fields:
        if item.type is FieldType.GROUP:
            out += _flat(item.fields)
        elif item.type is not FieldType.CALCULATE:
            out.append(item)
    return out


def _shape(vm: WizardViewModel) -> tuple[Any, ...]:
    """What decides the layout of the page: relevance of each question and the notes' text."""
    page, filling = vm.current_page, vm.filling
    if page is None or filling is None:
        return ()
    out: list[Any] = []
    for item in _flat(page.fields if page.repeat is None else page.repeat.fields):
        count = filling.instances(item.repeat) if item.repeat else 0
        for index in (range(count) if item.repeat else [None]):
            out.append(filling.relevant(item.name, index))
            if item.type is FieldType.NOTE:
                note = label_text(filling.form, filling.answers, item.name, today=vm.today(), index=index)
                out.append(note)
    return tuple(out)


def _repeat(nav: Nav, vm: WizardViewModel, repeat: Field) -> list[ft.Control]:
    t = vm.t
    assert vm.filling is not None
    count = vm.filling.instances(repeat.name)
    body: list[ft.Control] = []
    if vm.prefilled(repeat.name):
        body.append(ui.message(t("form_prefilled"), kind="ok"))
    if not count:
        body.append(ui.text(t("form_no_instances"), color=ui.MUTED))
    for index in range(count):
        shown = _shape(vm)

        def changed(shown: tuple[Any, ...] = shown) -> None:
            if _shape(vm) != shown:
                nav.refresh()

        def remove(e: ft.Event[ft.Button], index: int = index) -> None:
            vm.remove_instance(repeat.name, index)
            nav.refresh()

        controls: list[ft.Control] = [ui.text(t("form_instance", n=index + 1), bold=True)]
        for item in _flat(repeat.fields):
            controls += _question(nav, vm, item, index, changed)
        controls.append(ui.button(t("form_remove_instance"), remove, primary=False,
                                  icon=ft.Icons.DELETE_OUTLINE, ident=f"remove-{repeat.name}-{index}"))
        body.append(ft.Semantics(identifier=f"{repeat.name}-{index}", content=ui.panel(*controls)))

    def add(e: ft.Event[ft.Button]) -> None:
        vm.add_instance(repeat.name)
        nav.refresh()

    body.append(ui.button(f"{t('form_add_instance')} · {vm.say(repeat.label)}", add, icon=ft.Icons.ADD,
                          ident=f"add-{repeat.name}", wrap=True))
    return body


def _question(nav: Nav, vm: WizardViewModel, item: Field, index: int | None,
              changed: Callable[[], None]) -> list[ft.Control]:
    filling = vm.filling
    assert filling is not None
    if not filling.relevant(item.name, index):
        return []
    if item.type is FieldType.NOTE:
        text = label_text(filling.form, filling.answers, item.name, today=vm.today(), index=index)
        return [ft.Semantics(identifier=ident(item.name, index), content=ui.panel(ui.text(vm.say(text))))]
    label = vm.say(item.label) or item.name
    if item.required is not None:
        label = f"{label} *"
    # An empty required question says so after Next; a wrong answer at once.
    answered = vm.answer(item.name, index) not in (None, "", [])
    slot = ErrorSlot(f"error-{ident(item.name, index)}",
                     vm.answer_error(item.name, index) if vm.error or answered else "")
    controls: list[ft.Control] = []
    if item.type in (FieldType.SELECT_ONE, FieldType.SELECT_MULTIPLE):
        controls += _choices(nav, vm, item, index, label)
    else:
        controls.append(_text_field(vm, item, index, label, slot, changed))
    if item.hint is not None:
        controls.append(ui.text(vm.say(item.hint), 15, color=ui.MUTED))
    if index is None and vm.prefilled(item.name):
        controls.append(ui.message(vm.t("form_prefilled"), kind="ok"))
    controls.append(slot.control)
    return controls


def _text_field(vm: WizardViewModel, item: Field, index: int | None, label: str, slot: ErrorSlot,
                changed: Callable[[], None]) -> ft.Control:
    value = vm.answer(item.name, index)
    box = ui.field(label, "" if value is None else _shown(value),
                   keyboard=KEYBOARDS.get(item.type),
                   max_length=18 if item.type is FieldType.ID_NUMBER else None)
    if item.type is FieldType.DATE:
        box.hint_text = vm.t("form_date_hint")

    def typed(e: ft.Event[ft.TextField]) -> None:
        vm.set_answer(item.name, box.value or "", index)
        slot.show(vm.answer_error(item.name, index))
        slot.control.update()

    def left(e: ft.Event[ft.TextField]) -> None:
        changed()

    box.on_change = typed
    box.on_blur = left
    box.on_submit = left
    return ft.Semantics(identifier=ident(item.name, index), content=box)


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choices(nav: Nav, vm: WizardViewModel, item: Field, index: int | None, label: str) -> list[ft.Control]:
    assert vm.filling is not None
    multiple = item.type is FieldType.SELECT_MULTIPLE
    current = vm.answer(item.name, index)
    picked = set(current) if isinstance(current, list) else ({current} if current else set())
    offered = vm.choices(item.name, index)

    def pick(name: str) -> Callable[[ft.Event[Any]], None]:
        def chosen(e: ft.Event[Any]) -> None:
            if multiple:
                now = [c.name for c in offered if (c.name in picked) != (c.name == name)]
                vm.set_answer(item.name, now, index)
            else:
                vm.set_answer(item.name, name, index)  # a radio: tapping the chosen one keeps it
            nav.refresh()

        return chosen

    buttons: list[ft.Control] = [
        ui.button(("✓ " if c.name in picked else "") + vm.say(c.label), pick(c.name),
                  primary=c.name in picked, ident=f"{ident(item.name, index)}-{c.name}", wrap=True)
        for c in offered
    ]
    return [ft.Semantics(identifier=ident(item.name, index),
                         content=ui.stack([ui.text(label, 16, bold=True), *buttons], spacing=6))]
