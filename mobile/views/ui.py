"""Shared look of the screens (界面样式): big touch targets for gloved hands, high contrast,
one column that fits a 360-px-wide phone. Only Flet controls here, no screen logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flet as ft

from mobile.services.webfont import FONT_FAMILY

TOUCH = 56  # ≥ 48 px (Material's minimum) with room for gloves and shaking hands
GAP = 10
PAD = 12
BODY = 18
TITLE = 22
INK = "#111111"
MUTED = "#3A3A3A"
PRIMARY = "#0B5CAD"
DANGER = "#B3261E"
WARN_BG = "#FFE08A"
RED_BG = "#FFD6D2"
OK_BG = "#D7F0DB"
PANEL = "#F1F3F6"
FONT = FONT_FAMILY

Handler = Callable[..., Any]


def text(
    value: str, size: int = BODY, *, bold: bool = False, color: str = INK, selectable: bool = False
) -> ft.Text:
    return ft.Text(
        value, size=size, color=color, weight=ft.FontWeight.BOLD if bold else None, selectable=selectable
    )


def title(value: str) -> ft.Text:
    return text(value, TITLE, bold=True)


def button(
    label: str,
    on_click: Handler | None,
    *,
    icon: Any = None,
    primary: bool = True,
    danger: bool = False,
    expand: bool = True,
    disabled: bool = False,
    ident: str | None = None,
    wrap: bool = False,
) -> ft.Control:
    """A full-width button at least TOUCH high; colour is never the only signal (the label says it).

    `wrap`: a label too long for one line at 360 px wraps and the button grows with it (a
    fixed height cut the second line off); the padding keeps one line TOUCH high.
    """
    bg = DANGER if danger else PRIMARY
    height = None if wrap else TOUCH
    content: str | ft.Text = ft.Text(label, text_align=ft.TextAlign.CENTER) if wrap else label
    style = ft.ButtonStyle(
        padding=ft.Padding.symmetric(horizontal=14, vertical=17 if wrap else 12),
        shape=ft.RoundedRectangleBorder(radius=8),
        # A TextStyle without a family falls back to Roboto, which has no Chinese on the web.
        text_style=ft.TextStyle(size=BODY, weight=ft.FontWeight.BOLD, font_family=FONT),
    )
    control: ft.Control
    if primary:
        control = ft.Button(
            content=content,
            icon=icon,
            on_click=on_click,
            bgcolor=bg,
            color="#FFFFFF",
            style=style,
            height=height,
            expand=expand,
            disabled=disabled,
        )
    else:
        control = ft.OutlinedButton(
            content=content,
            icon=icon,
            on_click=on_click,
            style=style,
            height=height,
            expand=expand,
            disabled=disabled,
        )
    if ident:
        return ft.Semantics(identifier=ident, content=control, button=True, label=label)
    return control


def field(
    label: str,
    value: str = "",
    *,
    on_change: Handler | None = None,
    on_blur: Handler | None = None,
    password: bool = False,
    keyboard: ft.KeyboardType | None = None,
    max_length: int | None = None,
    autofocus: bool = False,
) -> ft.TextField:
    return ft.TextField(
        label=label,
        value=value,
        on_change=on_change,
        on_blur=on_blur,
        password=password,
        can_reveal_password=password,
        keyboard_type=keyboard or ft.KeyboardType.TEXT,
        max_length=max_length,
        autofocus=autofocus,
        text_size=BODY,
        label_style=ft.TextStyle(size=16, color=MUTED, font_family=FONT),
        border_color=MUTED,
        content_padding=ft.Padding.symmetric(horizontal=12, vertical=14),
    )


def message(value: str, *, kind: str = "error") -> ft.Control:
    """An error, warning or success line with an icon and words (not colour alone)."""
    if not value:
        return ft.Container(height=0)
    icon, bg = {
        "error": (ft.Icons.ERROR_OUTLINE, RED_BG),
        "warn": (ft.Icons.WARNING_AMBER, WARN_BG),
        "ok": (ft.Icons.CHECK_CIRCLE_OUTLINE, OK_BG),
    }[kind]
    return ft.Container(
        content=ft.Row([ft.Icon(icon, color=INK), ft.Text(value, size=16, color=INK, expand=True)]),
        bgcolor=bg,
        padding=ft.Padding.all(10),
        border_radius=ft.BorderRadius.all(6),
    )


def stack(controls: list[ft.Control], spacing: int = GAP) -> ft.Column:
    """A column whose children take the full width (buttons and fields reach both edges)."""
    return ft.Column(controls, spacing=spacing, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)


def panel(*controls: ft.Control, bgcolor: str = PANEL, on_click: Handler | None = None) -> ft.Container:
    return ft.Container(
        content=stack(list(controls), spacing=4),
        bgcolor=bgcolor,
        padding=ft.Padding.all(PAD),
        border_radius=ft.BorderRadius.all(8),
        on_click=on_click,
        ink=on_click is not None,
    )


def icon_action(icon: Any, label: str, on_click: Handler, ident: str) -> ft.Control:
    """A white app-bar icon button named by `label`: Flutter's web semantics drop a tooltip, so
    without the Semantics wrapper a screen reader (or a browser test) finds a nameless button."""
    return ft.Semantics(
        identifier=ident,
        button=True,
        label=label,
        content=ft.IconButton(icon, on_click=on_click, tooltip=label, icon_color="#FFFFFF", icon_size=28),
    )


def screen(
    route: str,
    heading: str,
    body: list[ft.Control],
    *,
    back: Handler | None = None,
    actions: Sequence[ft.Control] | None = None,
    bottom: list[ft.Control] | None = None,
) -> ft.View:
    """One screen: an app bar with a big back button, a scrolling column, optional bottom buttons."""
    leading = icon_action(ft.Icons.ARROW_BACK, "返回 Back", back, "back") if back else None
    controls: list[ft.BaseControl] = [
        ft.Column(
            body,
            spacing=GAP,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
    ]
    if bottom:
        controls.append(ft.Row(bottom, spacing=GAP))
    return ft.View(
        route=route,
        appbar=ft.AppBar(
            leading=leading,
            title=ft.Text(heading, size=20, weight=ft.FontWeight.BOLD, color="#FFFFFF"),
            bgcolor=PRIMARY,
            actions=list(actions or []),
            toolbar_height=TOUCH + 4,
        ),
        controls=controls,
        padding=ft.Padding.all(PAD),
        bgcolor="#FFFFFF",
    )
