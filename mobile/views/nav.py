"""What a screen builder may ask of the app shell (mobile/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from mobile.services.scan import ScanSource
from mobile.viewmodels.context import AppContext

Progress = Callable[[float], None]


class Nav(Protocol):
    """Navigation and device services for the screens."""

    ctx: AppContext

    def go(self, route: str) -> None: ...

    def refresh(self) -> None: ...

    def redraw(self) -> None: ...

    def toast(self, text: str) -> None: ...

    def show_image(self, data: bytes) -> None: ...

    def run(self, work: Callable[[], Awaitable[None]]) -> None: ...

    async def pick_image(self, progress: Progress | None = None) -> ScanSource | None:
        """A picture as bytes or a file path; `progress(0…1)` while it arrives; PickError on failure."""
        ...

    async def take_photo(self, progress: Progress | None = None) -> ScanSource | None: ...

    def release(self, source: ScanSource | None) -> None:
        """Call when done with what pick_image/take_photo returned: an uploaded file is deleted."""
        ...

    async def save_file(self, name: str, data: bytes) -> None: ...
