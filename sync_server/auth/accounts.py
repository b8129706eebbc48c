"""User accounts (用户账号) in ot-auth and the databases each may sync.

    {"_id": "user:<username>", "type": "user", "username", "display_name" (the person's name,
     what screens and receipts show; may be absent on older accounts), "password_hash"
     (argon2id), "role", "divisions": [codes], "disabled": false, "created_at", "updated_at"}

Jurisdiction follows from role and divisions: a village agent syncs the databases of its
villages (12-digit codes), township staff every registered village of their townships
(9-digit codes), a county operator none; everyone reads `ot-catalog`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shared.documents import township_of
from sync_server.couch import JSON, Couch
from sync_server.provision import AUTH_DB, CATALOG_DB, upsert, village_db, village_of
from sync_server.registry import load_registry, villages_under

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")


class AccountRole(StrEnum):
    """Roles of docs/design.md §Roles (the same values as the domain core's `Role`)."""

    VILLAGE_AGENT = "village_agent"
    TOWNSHIP_STAFF = "township_staff"
    COUNTY_OPERATOR = "county_operator"


# The division level each role is attached to, in digits.
DIVISION_DIGITS = {AccountRole.VILLAGE_AGENT: 12, AccountRole.TOWNSHIP_STAFF: 9,
                   AccountRole.COUNTY_OPERATOR: 6}


class AccountError(ValueError):
    """A user that cannot be created as asked (bad name, role or divisions)."""


@dataclass(frozen=True)
class User:
    """An authenticated user as the API sees it."""

    username: str
    role: AccountRole
    divisions: tuple[str, ...]
    device: str = ""

    def may_read(self, db: str) -> bool:
        return db == CATALOG_DB or self.may_write(db)

    def may_write(self, db: str) -> bool:
        """True for the village databases inside this user's jurisdiction (never ot-catalog)."""
        village = village_of(db)
        if village is None:
            return False
        if self.role is AccountRole.VILLAGE_AGENT:
            return village in self.divisions
        if self.role is AccountRole.TOWNSHIP_STAFF:
            return township_of(village) in self.divisions
        return False


def user_from_doc(doc: JSON, device: str = "") -> User:
    return User(doc["username"], AccountRole(doc["role"]), tuple(doc["divisions"]), device)


def check_role(role: str) -> AccountRole:
    try:
        return AccountRole(role)
    except ValueError:
        names = ", ".join(r.value for r in AccountRole)
        raise AccountError(f"未知角色 {role!r} / unknown role {role!r}: use one of {names}") from None


async def check_account(couch: Couch, username: str, role: str, divisions: list[str]) -> AccountRole:
    """Validate a new account against the registry; raises `AccountError` saying what is wrong."""
    if not USERNAME.match(username):
        raise AccountError(f"用户名不合法 / invalid username {username!r}: 2–32 of a-z 0-9 _ . -")
    account_role = check_role(role)
    if not divisions:
        raise AccountError("至少需要一个区划 / at least one --division is needed")
    digits = DIVISION_DIGITS[account_role]
    known = await load_registry(couch)
    for code in divisions:
        if len(code) != digits or not code.isdigit():
            raise AccountError(f"角色 {role} 需要 {digits} 位区划代码 / role {role} needs {digits}-digit "
                               f"division codes, got {code!r}")
        if code not in known:
            raise AccountError(f"区划 {code} 未登记 / division {code} is not registered: "
                               "add it with `onetrip admin add-division` first")
    return account_role


async def save_user(couch: Couch, username: str, role: AccountRole, divisions: list[str],
                    password_hash: str, now: str, display_name: str = "") -> bool:
    """Create or replace `user:<username>`. True if anything changed; an empty `display_name`
    keeps the stored one."""
    stored = await couch.get_doc(AUTH_DB, f"user:{username}")
    name = display_name.strip() or (str(stored.get("display_name", "")) if stored else "")
    doc: JSON = {"_id": f"user:{username}", "type": "user", "username": username, "display_name": name,
                 "password_hash": password_hash, "role": role.value, "divisions": sorted(set(divisions)),
                 "disabled": False, "created_at": stored["created_at"] if stored else now, "updated_at": now}
    return await upsert(couch, AUTH_DB, doc)


async def load_user(couch: Couch, username: str) -> JSON | None:
    if not USERNAME.match(username):
        return None
    return await couch.get_doc(AUTH_DB, f"user:{username}")


async def databases(couch: Couch, user: User) -> list[str]:
    """The databases `user` may sync, ot-catalog first."""
    villages: set[str] = set()
    if user.role is AccountRole.VILLAGE_AGENT:
        villages.update(user.divisions)
    elif user.role is AccountRole.TOWNSHIP_STAFF:
        for township in user.divisions:
            villages.update(await villages_under(couch, township))
    return [CATALOG_DB] + [village_db(v) for v in sorted(villages)]
