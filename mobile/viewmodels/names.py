"""Names, not codes (名称): what a person reads instead of usernames, division codes, database
names and role values.

People come from the directory the server sent at sign-in (`Account.people`), places from
it too (`Account.places`) and otherwise from the divisions shipped with the app
(`assets/divisions.json`). Whatever is unknown is shown as it is stored, never hidden: a
username or code is better than nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from mobile.services.device_state import Account
from mobile.services.i18n import Translator
from shared.divisions import DB_PREFIX, DivisionRegistry
from shared.errors import DomainError

log = logging.getLogger(__name__)

ROLES = ("village_agent", "township_staff", "county_operator")


@lru_cache(maxsize=2)
def shipped_places(path: Path) -> Mapping[str, str]:
    """Division code → Chinese name from a divisions file; empty when it cannot be read."""
    try:
        registry = DivisionRegistry.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, DomainError) as error:
        log.warning("divisions file %s not read: %s", path, error)
        return {}
    return {d.code: d.name_zh for d in registry}


class Names:
    """Resolves usernames, division codes, village databases and roles to names."""

    def __init__(self, t: Translator, account: Account | None, shipped: Mapping[str, str]) -> None:
        self.t = t
        self.people = dict(account.people) if account else {}
        if account and account.display_name:
            self.people[account.username] = account.display_name
        self.places = {**shipped, **(dict(account.places) if account else {})}

    def person(self, username: str) -> str:
        """李晓燕 for agent1; the username itself when the directory has no name for it."""
        return self.people.get(username, username)

    def role(self, role: str) -> str:
        """村代办员 Village agent for village_agent (other values as they are)."""
        return self.t(f"role_{role}") if role in ROLES else role

    def person_with_role(self, username: str, role: str = "") -> str:
        """Who did something: "李晓燕 · 村代办员 Village agent"."""
        who = self.person(username) if username else ""
        return " · ".join(part for part in (who, self.role(role) if role else "") if part)

    def place(self, code: str) -> str:
        """青山村(示例) for 330212001001; the code when no name is known."""
        return self.places.get(code, code)

    def database(self, name: str) -> str:
        """A village database by its village's name: ot-v-330212001001 → 青山村(示例)."""
        if name.startswith(DB_PREFIX):
            return self.place(name[len(DB_PREFIX) :])
        if name == "ot-catalog":
            return self.t("catalog_db")
        return name
