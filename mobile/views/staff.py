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
            options.append(
                ft.Container(
                    ft.Text(("✓ " if picked else "") + _show(value), size=16, color=ui.INK),
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
    body += [
        ft.Column([ui.text(label, 15, color=ui.MUTED), ui.text(value, bold=True)], spacing=0)
        for label, value in vm.lines()
    ]
    return ui.screen("/supervision", "电子监察 Supervision", body, back=lambda e: nav.go("/"))
