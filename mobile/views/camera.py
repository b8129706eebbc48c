"""Camera capture (拍照) on phone builds, with flet-camera; returns JPEG bytes or None."""

from __future__ import annotations

import asyncio

import flet as ft
import flet_camera as fc

from mobile.views import ui


async def take_photo(page: ft.Page) -> bytes | None:
    """Opens a full-screen preview with a big shutter button; None when cancelled or unavailable."""
    camera = fc.Camera(expand=True, preview_enabled=True)
    result: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    async def shoot(e: ft.Event[ft.Button]) -> None:
        try:
            data = await camera.take_picture()
        except Exception as error:
            page.pop_dialog()
            if not result.done():
                result.set_exception(error)
            return
        page.pop_dialog()
        if not result.done():
            result.set_result(bytes(data))

    def cancel(e: ft.Event[ft.Button]) -> None:
        page.pop_dialog()
        if not result.done():
            result.set_result(None)

    dialog = ft.AlertDialog(
        modal=True,
        content=ft.Container(camera, width=340, height=440),
        actions=[
            ui.button("取消 Cancel", cancel, primary=False),
            ui.button("拍照 Take", shoot, icon=ft.Icons.CAMERA),
        ],
    )
    page.show_dialog(dialog)
    try:
        cameras = await camera.get_available_cameras()
        back = next((c for c in cameras if c.lens_direction == fc.CameraLensDirection.BACK), cameras[0])
        await camera.initialize(back, fc.ResolutionPreset.VERY_HIGH, enable_audio=False)
    except Exception:
        page.pop_dialog()
        return None
    try:
        return await result
    except Exception:
        return None
