"""Demo data (演示数据) seeded by `onetrip up` into an empty data folder.

A demo township with three villages (two agents: the second serves two villages), two
township staff members and a county operator, each with a generated password. The logins
go to `$ONETRIP_DATA/demo.json` (docs/design.md §Contracts), readable only by the owner:

    {"users": [{"username", "password", "role", "divisions"}],
     "cases": [{"id", "database", "tracking_code", "id_last4", "status"}]}

The demo's cases are seeded once the server runs, by `onetrip_demo.township`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from anyio import to_thread

from shared.divisions import Division, DivisionRegistry
from shared.documents import county_of
from sync_server.auth.accounts import AccountRole, save_user
from sync_server.auth.passwords import hash_password
from sync_server.catalog_store import SEED_CATALOG, load_catalog_file
from sync_server.couch import Couch
from sync_server.forms.store import load_shipped_forms
from sync_server.provision import AUTH_DB
from sync_server.registry import add_division

DEMO_FILE = "demo.json"

# Used when assets/divisions.json has no township with villages.
DEMO_DIVISIONS = (
    Division("330212", "鄞州区(示例)", "Yinzhou District (demo)"),  # as assets/divisions.json names it
    Division("330212001", "云溪镇", "Yunxi Township"),
    Division("330212001001", "上林村", "Shanglin Village"),
    Division("330212001002", "下湾村", "Xiawan Village"),
)


# The demo's people, marked as samples like its divisions (示例): screens show names, not logins.
AGENT_NAMES = ("李晓燕(示例)", "王建国(示例)", "张秀兰(示例)")
STAFF_NAMES = ("陈静(示例)", "赵磊(示例)")


class DemoUser(TypedDict):
    username: str
    display_name: str
    password: str
    role: str
    divisions: list[str]


@dataclass(frozen=True)
class DemoTownship:
    county: str
    township: str
    villages: tuple[str, ...]


def pick_township(registry: DivisionRegistry) -> DemoTownship:
    """The first registered township with villages (the demo's)."""
    for division in registry:
        villages = registry.villages_within(division.code) if len(division.code) == 9 else ()
        if villages:
            return DemoTownship(county_of(division.code), division.code, tuple(v.code for v in villages[:3]))
    raise ValueError("no township with villages is registered")


def demo_users(place: DemoTownship) -> list[DemoUser]:
    def password() -> str:
        return secrets.token_urlsafe(9)  # 12 characters, 72 bits

    # An agent per village; with three villages the second agent serves the last two.
    served = [list(place.villages[:1]), list(place.villages[1:])] if len(place.villages) > 2 else [
        [village] for village in place.villages]
    users: list[DemoUser] = [
        {"username": f"agent{n}", "display_name": AGENT_NAMES[(n - 1) % len(AGENT_NAMES)],
         "password": password(), "role": AccountRole.VILLAGE_AGENT.value, "divisions": villages}
        for n, villages in enumerate(served, start=1)]
    users += [{"username": f"staff{n}", "display_name": STAFF_NAMES[n - 1], "password": password(),
               "role": AccountRole.TOWNSHIP_STAFF.value, "divisions": [place.township]} for n in (1, 2)]
    users.append({"username": "county1", "display_name": "周敏(示例)", "password": password(),
                  "role": AccountRole.COUNTY_OPERATOR.value, "divisions": [place.county]})
    return users


async def seed_demo(couch: Couch, data_dir: Path, registry: DivisionRegistry, now: str) -> list[DemoUser]:
    """Register the demo divisions if needed, create the demo users, write demo.json."""
    if not any(len(d.code) == 9 and registry.villages_within(d.code) for d in registry):
        for division in DEMO_DIVISIONS:
            await add_division(couch, division)
        registry = DivisionRegistry(DEMO_DIVISIONS)
    await load_catalog_file(couch, SEED_CATALOG)
    await load_shipped_forms(couch, now)  # the items' application forms (assets/catalog/forms/)
    users = demo_users(pick_township(registry))
    for user in users:
        hashed = await to_thread.run_sync(hash_password, user["password"])
        await save_user(couch, user["username"], AccountRole(user["role"]), user["divisions"], hashed, now,
                        user["display_name"])
    write_demo_file(data_dir, {"users": users, "cases": []})
    return users


async def has_users(couch: Couch) -> bool:
    rows = (await couch.get_json(f"/{AUTH_DB}/_all_docs", startkey="user:", endkey="user:\ufff0",
                                 limit=1))["rows"]
    return bool(rows)


def write_demo_file(data_dir: Path, demo: dict[str, Any]) -> None:
    path = data_dir / DEMO_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(demo, fh, ensure_ascii=False, indent=2)
    os.replace(tmp, path)


def add_demo_cases(data_dir: Path, cases: Sequence[dict[str, Any]]) -> None:
    """Append demo cases (`{"id", "database", "tracking_code", "id_last4", "status"}`) to demo.json."""
    path = data_dir / DEMO_FILE
    demo = json.loads(path.read_text()) if path.exists() else {"users": [], "cases": []}
    demo["cases"] = [*demo.get("cases", []), *cases]
    write_demo_file(data_dir, demo)
