"""A client-less Flet session (docs/design.md §Flet notes): runs `main(page)` and
drives the controls the way the browser would, without a browser.

Relies on flet 1.0.5 internals (Connection, Session, the msgpack encoding that snapshots
controls for the next patch); the version is pinned in pyproject.toml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page
from flet.messaging.connection import Connection
from flet.messaging.protocol import Message, MessageAction, configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

_ENCODE = configure_encode_object_for_msgpack(BaseControl)


class HarnessConnection(Connection):
    """Encodes every message like the web transport and answers service calls like a client."""

    def __init__(self, loop: asyncio.AbstractEventLoop, answers: dict[str, Any]) -> None:
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=2)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.answers = answers
        self.session: Session | None = None
        self.sent: list[Message] = []

    def send_message(self, message: Message) -> None:
        # Encoding is what snapshots the controls for the next patch: without it no patch.
        msgpack.packb([message.action, message.body], default=_ENCODE)
        self.sent.append(message)
        if message.action == MessageAction.INVOKE_METHOD:
            body = message.body
            result = self.answers.get(body.name)
            assert self.session is not None
            self.loop.call_soon(
                self.session.handle_invoke_method_results, body.control_id, body.call_id, result, None
            )


class Harness:
    """One page of the app; find controls, type, click."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.conn = HarnessConnection(asyncio.get_running_loop(), answers or {})
        self.session = Session(self.conn)
        self.conn.session = self.session
        self.page: ft.Page = self.session.page
        _context_page.set(self.page)
        msgpack.packb(self.session.get_page_patch(), default=_ENCODE)

    async def start(self, main: Callable[[ft.Page], Any]) -> None:
        result = main(self.page)
        if asyncio.iscoroutine(result):
            await result
        await self.session.after_event(self.page)

    @property
    def view(self) -> ft.View:
        return self.page.views[-1]

    def controls(self) -> Iterator[Any]:
        """Every control of the current view, depth first (dialogs excluded)."""
        stack: list[Any] = [self.view]
        while stack:
            control = stack.pop()
            yield control
            for name in ("appbar", "content", "leading", "title", "suffix"):
                child = getattr(control, name, None)
                if isinstance(child, BaseControl):
                    stack.append(child)
            for name in ("controls", "actions"):
                children = getattr(control, name, None)
                if isinstance(children, list):
                    stack.extend(c for c in children if isinstance(c, BaseControl))

    def texts(self) -> list[str]:
        found = []
        for control in self.controls():
            if isinstance(control, ft.Text) and isinstance(control.value, str):
                found.append(control.value)
            elif isinstance(control, ft.Button | ft.OutlinedButton) and isinstance(control.content, str):
                found.append(control.content)
        return found

    def field(self, label: str) -> ft.TextField:
        return next(c for c in self.controls() if isinstance(c, ft.TextField) and c.label == label)

    def button(self, label: str) -> Any:
        for control in self.controls():
            if (
                isinstance(control, ft.Button | ft.OutlinedButton | ft.TextButton)
                and control.content == label
            ):
                return control
            if isinstance(control, ft.Semantics) and control.label == label and control.button:
                return control.content
        raise LookupError(f"no button {label!r} in {self.texts()}")

    def by_id(self, identifier: str) -> ft.Semantics:
        return next(c for c in self.controls() if isinstance(c, ft.Semantics) and c.identifier == identifier)

    def type(self, label: str, value: str) -> None:
        self.session.apply_patch(self.field(label)._i, {"value": value})

    async def change(self, label: str, value: str) -> None:
        """Types into a field as a user does: the new value, then its change event."""
        field = self.field(label)
        self.type(label, value)
        await self.session.dispatch_event(field._i, "change", value)
        await self.session.after_event(field)

    async def click(self, control: Any) -> None:
        await self.session.dispatch_event(control._i, "click", None)
        await self.session.after_event(control)
