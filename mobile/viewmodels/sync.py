"""Sync bar and sync screen (同步): what the replicator is doing, in plain words.

The app's context fills a `SyncSnapshot` from each sync round (`mobile.services.sync_runner`,
which also defines the snapshot) and the screens read `bar()` and `databases`; nothing here
talks to the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from mobile.services.i18n import Translator
from mobile.services.sync_runner import DatabaseProgress, SyncSnapshot
from mobile.viewmodels.china_time import SHORT, show_time

NO_BREAK = "\u00a0"
# The snapshot types live with the round that fills them; the screens import them from here too.
__all__ = ["DatabaseProgress", "SyncBar", "SyncLevel", "SyncSnapshot", "SyncViewModel"]


class SyncLevel(StrEnum):
    OK = "ok"
    PENDING = "pending"
    RUNNING = "running"
    OFFLINE = "offline"
    ERROR = "error"


@dataclass(frozen=True)
class SyncBar:
    """The strip at the top of the case list; `level` is also spelled out in words (not colour only).

    `head` says the state ("上次同步 Last sync 12-03 15:52"), `detail` what waits ("3条待同步 3 to
    sync", or ""); after a failed sync `detail` is the reason. The case list shows them as two
    lines beside its sync button.
    """

    head: str
    detail: str
    level: SyncLevel
    pending: int
    progress: float | None

    @property
    def text(self) -> str:
        """Both on one line, for screens with room."""
        return f"{self.head} · {self.detail}" if self.detail else self.head


class SyncViewModel:
    """Holds the latest snapshot; `sync_now` asks the background sync for a run."""

    def __init__(self, t: Translator, run: Callable[[], Awaitable[None]] | None = None) -> None:
        self.t = t
        self.run = run
        self.snapshot = SyncSnapshot()

    def update(self, snapshot: SyncSnapshot) -> None:
        self.snapshot = snapshot

    def set_pending(self, pending: int) -> None:
        self.snapshot = replace(self.snapshot, pending=pending)

    def bar(self) -> SyncBar:
        s = self.snapshot
        pending = self.t("sync_pending", n=s.pending)
        if s.running:
            level, head = SyncLevel.RUNNING, self.t("sync_running")
        elif s.error:
            level = SyncLevel.ERROR
            head = f"{self.t('sync_error')} · {pending}" if s.pending else self.t("sync_error")
        elif not s.online:
            level, head = SyncLevel.OFFLINE, self.t("sync_offline")
        elif s.pending:
            level, head = SyncLevel.PENDING, self._last()
        else:
            level, head = SyncLevel.OK, self._last()
        if level is SyncLevel.ERROR:  # the reason on its own line (cut to one by the case list)
            detail = s.error
        else:
            detail = pending if s.pending or level is not SyncLevel.OK else ""
        progress = s.progress if s.running else None
        return SyncBar(head=head, detail=detail, level=level, pending=s.pending, progress=progress)

    def _last(self) -> str:
        """The time once, after both languages' words: "上次同步 Last sync 12-03 15:52"."""
        if self.snapshot.last_sync is None:
            return self.t("sync_never")
        # `sync_last` puts {time} in each language ("上次同步 {time} Last sync {time}"); formatted
        # with no time it leaves the words. A no-break space keeps date and hour on one line.
        words = " ".join(self.t("sync_last", time="").split())
        return f"{words} {show_time(self.snapshot.last_sync, SHORT).replace(' ', NO_BREAK)}"

    async def sync_now(self) -> None:
        if self.run is not None and not self.snapshot.running:
            await self.run()
