"""Photo picking (选照片): a picked file reaches the scan pipeline as a file, with progress.

`FilePicker.pick_files(with_data=True)` sends the whole file through the Flet protocol as one
message: an 18 MB phone photo timed out, left the picker waiting and every photo button dead
until a reload (issue 17). So the bytes never travel that way (ADR 0119):

- in a browser (web mode) the picked file is uploaded by HTTP PUT to the app's own signed
  upload endpoint, streamed to `upload_dir` on disk, with progress events every 10 %;
- on a phone build the picker gives a path, read directly.

Whatever fails (the dialog, the upload, a stall) ends in a PickError with a bilingual
message, so the screen can say so and the buttons work again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, MutableMapping
from pathlib import Path

import flet as ft

from mobile.services.errors import PickError
from mobile.services.scan import ScanSource

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

# Without any progress event for this long the upload is given up. Progress comes every 10 %
# of the file: on a 2G link (~30 KB/s) 10 % of a 48 MB photo takes ~160 s.
STALL_SECONDS = 300.0
# An upload URL is valid this long: the PUT starts at once, so a minute is plenty.
URL_SECONDS = 60
PICK_FAILED = "无法打开选择的文件，请重试 The chosen file could not be opened: try again"
UPLOAD_FAILED = "照片上传到应用失败，请重试 The photo did not reach the app: try again"
UPLOAD_STALLED = "照片上传中断，请重试 The photo stopped arriving: try again"
BUSY = "上一张照片还在处理，请稍候 The last photo is still being processed: please wait"
# The largest upload the app's web server takes: above any phone photo (a 200 MP JPEG is
# ~60–100 MB), below what would fill a small disk (FLET_MAX_UPLOAD_SIZE, read by flet-web).
MAX_UPLOAD_BYTES = 150_000_000


def upload_dir(data_dir: Path) -> Path:
    """Where picked files land in web mode, inside the device's data folder."""
    return data_dir / "uploads"


def enable_uploads(data_dir: Path, environ: MutableMapping[str, str]) -> Path:
    """Prepares web-mode uploads: the folder (emptied of leftovers from an earlier run), the
    size cap and the key that signs upload URLs. flet-web reads both from the environment;
    the key is random per run unless the deployment set one."""
    folder = upload_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.upload"):
        leftover.unlink(missing_ok=True)
    environ.setdefault("FLET_SECRET_KEY", secrets.token_urlsafe(32))
    environ.setdefault("FLET_MAX_UPLOAD_SIZE", str(MAX_UPLOAD_BYTES))
    return folder


class PhotoPicker:
    """The page's file picker; one pick at a time; uploads land in `upload_dir`."""

    def __init__(self, page: ft.Page, upload_dir: Path) -> None:
        self.page = page
        self.upload_dir = upload_dir
        self.picker = ft.FilePicker(on_upload=self._on_upload)
        self._events: asyncio.Queue[ft.FilePickerUploadEvent] | None = None

    async def pick(self, progress: Progress | None = None) -> ScanSource | None:
        """The chosen picture as a path (or bytes where only bytes exist); None when cancelled.

        A path inside `upload_dir` belongs to the caller, who calls `release` when done.
        """
        if self._events is not None:
            raise PickError(BUSY)
        try:
            files = await self.picker.pick_files(file_type=ft.FilePickerFileType.IMAGE)
        except Exception as error:  # a client-side failure or a timeout: say so, never hang
            log.warning("file picker failed: %s", type(error).__name__)
            raise PickError(PICK_FAILED) from error
        if not files:
            return None
        chosen = files[0]
        if chosen.path:
            return Path(chosen.path)
        if chosen.bytes is not None:
            return bytes(chosen.bytes)
        return await self._upload(chosen, progress or (lambda fraction: None))

    def release(self, source: ScanSource | None) -> None:
        """Deletes an uploaded file once it has been processed: scans of ID cards don't linger."""
        if isinstance(source, Path) and source.parent == self.upload_dir:
            with contextlib.suppress(FileNotFoundError):
                source.unlink()

    async def save_file(self, name: str, data: bytes) -> None:
        await self.picker.save_file(file_name=name, src_bytes=data)

    async def _upload(self, chosen: ft.FilePickerFile, progress: Progress) -> Path:
        # A random name: two phones on one app server never meet, and the user's file name
        # (which may hold a citizen's name) never reaches the disk or a log.
        name = f"{secrets.token_hex(12)}.upload"
        target = self.upload_dir / name
        self._events = asyncio.Queue()
        try:
            url = self.page.get_upload_url(name, URL_SECONDS)
            await self.picker.upload([ft.FilePickerUploadFile(upload_url=url, id=chosen.id, method="PUT")])
            await self._wait(progress)
        except PickError:
            self.release(target)
            raise
        except Exception as error:
            log.warning("upload failed: %s", type(error).__name__)
            self.release(target)
            raise PickError(UPLOAD_FAILED) from error
        finally:
            self._events = None
        if not await _arrived(target, chosen.size):
            self.release(target)
            raise PickError(UPLOAD_FAILED)
        return target

    async def _wait(self, progress: Progress) -> None:
        assert self._events is not None
        while True:
            try:
                event = await asyncio.wait_for(self._events.get(), STALL_SECONDS)
            except TimeoutError:
                raise PickError(UPLOAD_STALLED) from None
            if event.error:
                log.warning("upload failed in the browser: %s", event.error[:200])
                raise PickError(UPLOAD_FAILED)
            fraction = event.progress or 0.0
            log.debug("upload progress %.2f", fraction)
            progress(fraction)
            if fraction >= 1.0:
                return

    async def _on_upload(self, event: ft.FilePickerUploadEvent) -> None:
        if self._events is not None:
            self._events.put_nowait(event)


async def _arrived(target: Path, size: int) -> bool:
    """Whether the whole file is on disk. The browser reports 100 % once it has sent the last
    byte; the server may still be writing it for a moment, so look a few times."""
    for _ in range(50):  # 50 × 0.1 s: a disk write of the last block, never a network wait
        if target.is_file() and target.stat().st_size >= size:
            return target.stat().st_size == size
        await asyncio.sleep(0.1)
    return False
