"""What a screen builder may ask of the app shell (mobile/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from mobile.viewmodels.context import AppContext


class Nav(Protocol):
    """Navigation and device services for the screens."""

    ctx: AppContext

    def go(self, route: str) -> None: ...

    def refresh(self) -> None: ...

    def toast(self, text: str) -> None: ...

    def show_image(self, data: bytes) -> None: ...

    def run(self, work: Callable[[], Awaitable[None]]) -> None: ...

    async def pick_image(self) -> bytes | None: ...

    async def take_photo(self) -> bytes | None: ...

    async def save_file(self, name: str, data: bytes) -> None: ...
