"""Photo picking (views/picker.py) without a browser: how an upload ends — arrived, failed in
the browser, stalled — always in a path or a bilingual PickError, and the web-mode set-up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from mobile.services.errors import PickError
from mobile.views import picker as picker_module
from mobile.views.picker import MAX_UPLOAD_BYTES, PhotoPicker, enable_uploads, upload_dir


def event(progress: float | None = None, error: str | None = None) -> ft.FilePickerUploadEvent:
    return ft.FilePickerUploadEvent(name="upload", control=ft.FilePicker(), file_name="IMG.jpg",
                                    progress=progress, error=error)


async def wait_with(photo: PhotoPicker, events: list[ft.FilePickerUploadEvent]) -> list[float]:
    seen: list[float] = []
    photo._events = asyncio.Queue()
    for e in events:
        await photo._on_upload(e)
    try:
        await photo._wait(seen.append)
    finally:
        photo._events = None
    return seen


# PhotoPicker(None, ...) below: no page, on purpose; these tests feed upload events by hand.


def test_progress_is_reported_until_the_whole_file_arrived(tmp_path: Path) -> None:
    photo = PhotoPicker(None, tmp_path)  # type: ignore[arg-type]
    seen = asyncio.run(wait_with(photo, [event(0.0), event(0.5), event(1.0), event(0.2)]))
    assert seen == [0.0, 0.5, 1.0]  # stops at 100 %


def test_an_upload_error_in_the_browser_becomes_a_bilingual_message(tmp_path: Path) -> None:
    photo = PhotoPicker(None, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(PickError) as info:
        asyncio.run(wait_with(photo, [event(0.3), event(error="XMLHttpRequest error 413")]))
    assert str(info.value) == picker_module.UPLOAD_FAILED and "上传" in str(info.value)


def test_an_upload_that_stops_arriving_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(picker_module, "STALL_SECONDS", 0.05)
    photo = PhotoPicker(None, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(PickError) as info:
        asyncio.run(wait_with(photo, [event(0.1)]))
    assert str(info.value) == picker_module.UPLOAD_STALLED


def test_a_second_pick_while_one_arrives_is_refused_not_queued(tmp_path: Path) -> None:
    photo = PhotoPicker(None, tmp_path)  # type: ignore[arg-type]
    photo._events = asyncio.Queue()
    with pytest.raises(PickError) as info:
        asyncio.run(photo.pick())
    assert str(info.value) == picker_module.BUSY


def test_a_failing_dialog_is_a_message_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = PhotoPicker(None, tmp_path)  # type: ignore[arg-type]

    async def broken(**kwargs: Any) -> list[ft.FilePickerFile]:
        raise TimeoutError("Timeout waiting for invokeMethod pick_files")

    monkeypatch.setattr(photo.picker, "pick_files", broken)
    with pytest.raises(PickError) as info:
        asyncio.run(photo.pick())
    assert str(info.value) == picker_module.PICK_FAILED
    assert photo._events is None  # the next pick starts afresh


def test_a_picked_path_is_used_as_is_and_never_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = PhotoPicker(None, tmp_path / "uploads")  # type: ignore[arg-type]
    mine = tmp_path / "DCIM.jpg"
    mine.write_bytes(b"x")

    async def picked(**kwargs: Any) -> list[ft.FilePickerFile]:
        assert not kwargs.get("with_data")  # the bytes never travel in the Flet protocol
        return [ft.FilePickerFile(id=0, name="DCIM.jpg", size=1, path=str(mine))]

    monkeypatch.setattr(photo.picker, "pick_files", picked)
    source = asyncio.run(photo.pick())
    assert source == mine
    photo.release(source)
    assert mine.exists()  # only files in the upload folder are deleted


def test_web_mode_set_up_keeps_a_deployment_key_and_clears_leftovers(tmp_path: Path) -> None:
    folder = upload_dir(tmp_path)
    folder.mkdir()
    (folder / "old.upload").write_bytes(b"an ID card from yesterday")
    environ = {"FLET_SECRET_KEY": "set-by-the-county"}
    assert enable_uploads(tmp_path, environ) == folder
    assert not list(folder.iterdir())
    assert environ == {"FLET_SECRET_KEY": "set-by-the-county", "FLET_MAX_UPLOAD_SIZE": str(MAX_UPLOAD_BYTES)}
    fresh: dict[str, str] = {}
    enable_uploads(tmp_path, fresh)
    assert len(fresh["FLET_SECRET_KEY"]) >= 32
    uploaded = folder / "abc.upload"
    uploaded.write_bytes(b"x")
    PhotoPicker(None, folder).release(uploaded)  # type: ignore[arg-type]
    assert not uploaded.exists()
