"""Administration (管理命令) behind `onetrip admin …`, and how they reach CouchDB.

`admin_couch(settings)` finds CouchDB the way `onetrip up` does: `COUCHDB_URL`, else the
engine `onetrip up` is running on the same data folder, else a temporary engine started for
the one command — so the commands work whether or not the stack runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from anyio import to_thread

from shared.divisions import Division, DivisionRegistry
from shared.timestamps import iso_utc_at
from sync_server.auth.accounts import check_account, save_user
from sync_server.auth.devices import revoke_device
from sync_server.auth.keyring import ACCESS_KEEP, DELIVERY_KEEP, rotate_signing_key
from sync_server.auth.passwords import hash_password
from sync_server.couch import Couch
from sync_server.county import outbox
from sync_server.engine import Engine, running_engine_url
from sync_server.provision import provision
from sync_server.registry import add_division
from sync_server.settings import Settings

DIVISIONS_FILE = Path(__file__).resolve().parents[1] / "assets" / "divisions.json"


def now_iso() -> str:
    return iso_utc_at(time.time())


@asynccontextmanager
async def admin_couch(settings: Settings) -> AsyncIterator[Couch]:
    url = settings.couchdb_url or await to_thread.run_sync(running_engine_url, settings.data_dir)
    engine: Engine | None = None
    if not url:
        engine = Engine(settings.data_dir)
        url = await to_thread.run_sync(engine.start)
    couch = Couch(url)
    try:
        await provision(couch)
        yield couch
    finally:
        await couch.aclose()
        if engine is not None:
            await to_thread.run_sync(engine.stop)


def asset_divisions(path: Path = DIVISIONS_FILE) -> DivisionRegistry:
    """The divisions shipped in assets/divisions.json (empty when the file is absent)."""
    if not path.exists():
        return DivisionRegistry([])
    return DivisionRegistry.from_json(json.loads(path.read_text(encoding="utf-8")))


def startup_divisions(settings: Settings, seeding_demo: bool) -> DivisionRegistry:
    """The divisions `onetrip up` registers: `ONETRIP_DIVISIONS`, else the demo file when seeding the demo.

    Production (`--no-demo`, or an existing data folder) registers nothing from assets/, so the
    invented demo township never appears beside a county's real villages.
    """
    if settings.divisions_file is not None:
        if not settings.divisions_file.is_file():
            raise FileNotFoundError(f"ONETRIP_DIVISIONS: 区划文件不存在 / no divisions file at "
                                    f"{settings.divisions_file}")
        return asset_divisions(settings.divisions_file)
    return asset_divisions() if seeding_demo else DivisionRegistry([])


async def register_divisions(couch: Couch, registry: DivisionRegistry) -> None:
    for division in registry:
        await add_division(couch, division)


async def cmd_add_division(couch: Couch, code: str, name: str) -> str:
    changed = await add_division(couch, Division(code, name.strip(), ""))
    if changed:
        return f"区划 {code} 已登记 / division {code} saved"
    return f"区划 {code} 无变化 / division {code} unchanged"


async def cmd_add_user(couch: Couch, username: str, role: str, divisions: Sequence[str],
                       password: str, display_name: str = "") -> str:
    account_role = await check_account(couch, username, role, list(divisions))
    hashed = await to_thread.run_sync(hash_password, password)
    await save_user(couch, username, account_role, list(divisions), hashed, now_iso(), display_name)
    return f"用户 {username} 已保存 / user {username} saved ({account_role.value}: {', '.join(divisions)})"


async def cmd_revoke_device(couch: Couch, device_id: str) -> str | None:
    if not await revoke_device(couch, device_id, now_iso()):
        return None
    return f"终端 {device_id} 已注销 / device {device_id} revoked"


async def cmd_rotate_signing_key(secrets_dir: Path, forget_old: bool = False) -> str:
    old, new = await to_thread.run_sync(lambda: rotate_signing_key(secrets_dir, int(time.time()),
                                                                   forget_old=forget_old))
    if forget_old:
        return (f"签名密钥已更换 {old} → {new}，旧密钥不再接受：所有人需重新登录，结果单需重新打印 / "
                f"signing key rotated {old} -> {new}; the old key is no longer accepted: everyone logs in "
                "again and result slips must be reprinted")
    return (f"签名密钥已更换 {old} → {new}；旧密钥签发的登录令牌 {ACCESS_KEEP // 60} 分钟内、送达二维码 "
            f"{DELIVERY_KEEP // 86400} 天内仍有效 / signing key rotated {old} -> {new}; the old key stays "
            f"accepted for access tokens for {ACCESS_KEEP // 60} min and for delivery QR codes for "
            f"{DELIVERY_KEEP // 86400} days. Copy secrets/ to every server host that does not share it.")


async def cmd_retry_handoff(couch: Couch, case_id: str) -> str:
    """Put a dead-lettered county hand-off back in the queue (`sync_server.county.outbox.retry`)."""
    case_id = case_id if case_id.startswith("case:") else f"case:{case_id}"
    before = await outbox.get_entry(couch, case_id)
    if before is None:
        raise outbox.OutboxNotFound(case_id)
    entry = await outbox.retry(couch, case_id, datetime.now(UTC))
    state = entry["state"]
    if before["state"] != state and state == outbox.OutboxState.PENDING:
        return f"推送已重新排队 {case_id} / hand-off of {case_id} queued again (state pending)"
    return (f"推送状态为 {state}，无需重试 / hand-off of {case_id} is {state}: only dead or cancelled "
            "hand-offs are retried")
