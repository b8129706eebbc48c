"""Township staff screens: conflict review side by side (冲突审核) and supervision (电子监察)."""

from __future__ import annotations

import json
from typing import Any

import flet as ft

from mobile.viewmodels.staff import Review, ReviewsViewModel, SupervisionViewModel
from mobile.views import ui
from mobile.views.nav import Nav


def reviews(nav: Nav, vm: ReviewsViewModel) -> ft.View:
    body: list[ft.Control] = [ui.message(vm.error), ui.message(vm.message, kind="ok")]
    if not vm.reviews and not vm.error:
        body.append(ui.text("没有待处理的冲突 No conflicts to review", color=ui.MUTED))
    for review in vm.reviews:
        body.append(_review(nav, vm, review))
    return ui.screen("/reviews", "冲突审核 Conflicts", body, back=lambda e: nav.go("/"))


def _review(nav: Nav, vm: ReviewsViewModel, review: Review) -> ft.Control:
    parts: list[ft.Control] = [
        ft.TextButton(
            f"办件 Case {review.case_id[-8:]} · {review.village}",
            on_click=lambda e: nav.go(f"/case/{review.case_id}"),
        )
    ]
    for choice in vm.choices(review):
        parts.append(ui.text(vm.label(choice.path), bold=True))
        options: list[ft.Control] = []
        for index, value in enumerate(choice.values):
            picked = choice.chosen == index
            source = choice.sources[index] if index < len(choice.sources) else ""
            options.append(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(("✓ " if picked else "") + _show(value), size=16, color=ui.INK),
                            ft.Text(source, size=13, color=ui.MUTED),  # who, which device, when
                        ],
                        spacing=2,
                    ),
                    bgcolor=ui.OK_BG if picked else "#FFFFFF",
                    border=ft.Border.all(2 if picked else 1, ui.INK if picked else "#9AA3AD"),
                    border_radius=ft.BorderRadius.all(6),
                    padding=ft.Padding.all(10),
                    expand=True,
                    on_click=_chooser(nav, vm, review, choice.path, index),
                )
            )
        parts.append(ft.Row(options, spacing=6))  # side by side, one per version

    async def decide(e: ft.Event[Any]) -> None:
        await vm.decide(review)
        nav.refresh()

    parts.append(ui.button("确认 Decide", decide, disabled=not vm.ready(review)))
    return ui.panel(*parts)


def _chooser(nav: Nav, vm: ReviewsViewModel, review: Review, path: str, index: int) -> Any:
    def choose(e: ft.Event[Any]) -> None:
        vm.choose(review, path, index)
        nav.refresh()

    return choose


def _show(value: Any) -> str:
    if value is None:
        return "（空）(empty)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def supervision(nav: Nav, vm: SupervisionViewModel) -> ft.View:
    body: list[ft.Control] = [ui.message(vm.error)]
    for figure in vm.figures():
        opened = vm.opened == figure.key
        # The figure stays plain text; its own button lists the cases behind it.
        cases = ft.Semantics(
            identifier=f"figure-{figure.key}",
            content=ft.TextButton("收起 Hide ↑" if opened else "办件 Cases ↓",
                                  on_click=_opener(nav, vm, figure.key)),
        )
        body.append(
            ft.Row(
                [
                    ft.Column([ui.text(figure.label, 15, color=ui.MUTED), ui.text(figure.value, bold=True)],
                              spacing=0, expand=True),
                    cases,
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
        )
        if opened:
            body.append(_drill(nav, vm, figure.key))
    return ui.screen("/supervision", "电子监察 Supervision", body, back=lambda e: nav.go("/"))


def _opener(nav: Nav, vm: SupervisionViewModel, key: str) -> Any:
    def toggle(e: ft.Event[Any]) -> None:
        vm.toggle(key)
        nav.refresh()

    return toggle


def _drill(nav: Nav, vm: SupervisionViewModel, key: str) -> ft.Control:
    """The cases behind one figure; each opens its case."""
    cases = vm.drill(key)
    if not cases:
        return ui.text("没有办件 No cases", 15, color=ui.MUTED)
    rows: list[ft.Control] = [
        ui.panel(
            ui.text(c.title, bold=True),
            ui.text(c.note, 15, color=ui.MUTED),
            on_click=lambda e, case_id=c.case_id: nav.go(f"/case/{case_id}"),
        )
        for c in cases
    ]
    return ft.Semantics(identifier=f"drill-{key}", content=ui.stack(rows, spacing=6))
