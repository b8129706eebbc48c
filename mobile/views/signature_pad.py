"""Signature pad (签名板): a canvas that records finger strokes as point lists."""

from __future__ import annotations

import itertools

import flet as ft
import flet.canvas as cv

WIDTH = 330  # fits a 360-px phone with the screen padding
HEIGHT = 200
_PAINT = ft.Paint(color="#000000", stroke_width=3, stroke_cap=ft.StrokeCap.ROUND)


class SignaturePad(ft.Column):
    """Strokes are kept in pad coordinates, for mobile.services.signature."""

    def __init__(self, clear_label: str, strokes: list[list[tuple[float, float]]] | None = None) -> None:
        # `strokes`: drawn before the screen was rebuilt (e.g. after a refused form), drawn again.
        self.strokes: list[list[tuple[float, float]]] = [list(s) for s in strokes or []]
        shapes: list[cv.Shape] = [
            cv.Line(x0, y0, x1, y1, paint=_PAINT)
            for stroke in self.strokes
            for (x0, y0), (x1, y1) in itertools.pairwise(stroke)
        ]
        self.canvas = cv.Canvas(shapes=shapes, width=WIDTH, height=HEIGHT)
        self.detector = ft.GestureDetector(
            content=self.canvas,
            on_pan_start=self._start,
            on_pan_update=self._move,
            drag_interval=10,
        )
        box = ft.Container(
            content=self.detector,
            width=WIDTH,
            height=HEIGHT,
            bgcolor="#FFFFFF",
            border=ft.Border.all(2, "#111111"),
            border_radius=ft.BorderRadius.all(6),
        )
        super().__init__(
            controls=[
                ft.Semantics(identifier="signature-pad", content=box),
                ft.OutlinedButton(content=clear_label, on_click=self._clear, height=48),
            ],
            spacing=6,
        )

    def _start(self, e: ft.DragStartEvent[ft.GestureDetector]) -> None:
        self.strokes.append([(e.local_position.x, e.local_position.y)])

    def _move(self, e: ft.DragUpdateEvent[ft.GestureDetector]) -> None:
        if not self.strokes:
            self.strokes.append([])
        point = (e.local_position.x, e.local_position.y)
        stroke = self.strokes[-1]
        if stroke:
            x0, y0 = stroke[-1]
            self.canvas.shapes.append(cv.Line(x0, y0, point[0], point[1], paint=_PAINT))
        stroke.append(point)
        self.canvas.update()

    def _clear(self, e: ft.Event[ft.OutlinedButton]) -> None:
        self.strokes.clear()
        self.canvas.shapes.clear()
        self.canvas.update()
