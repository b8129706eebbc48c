"""Directory (通讯录): the names a user's screens show instead of codes.

Returned with the account at login and by `/api/auth/me`, kept by the app for offline use:

    "display_name": the user's own name,
    "people": {username: display name} of the accounts working in the user's area (the
              township of an agent or staff member, the county of an operator), so a
              timeline says 李晓燕, not agent1;
    "places": {division code: Chinese name} of the user's divisions, the villages under
              them and the divisions above them, so screens say 青山村, not 330212001001.

Only names: no password hashes, roles of others or devices leave the server.
"""

from __future__ import annotations

from typing import TypedDict

from sync_server.auth.accounts import AccountRole, User
from sync_server.couch import JSON, Couch
from sync_server.provision import AUTH_DB
from sync_server.registry import load_registry

# The area whose people a user reads about, as a division code length: an agent's events are
# handled by the staff of its township; a county operator hands off for the whole county.
AREA_DIGITS = {AccountRole.VILLAGE_AGENT: 9, AccountRole.TOWNSHIP_STAFF: 9, AccountRole.COUNTY_OPERATOR: 6}


class Directory(TypedDict):
    display_name: str
    people: dict[str, str]
    places: dict[str, str]


def display_name(doc: JSON | None) -> str:
    """A user document's name for people; accounts created before names existed have none."""
    name = str(doc.get("display_name") or "") if doc else ""
    return name.strip()


def _related(code: str, areas: set[str]) -> bool:
    """True when `code` lies inside one of `areas` or contains one (a county above a township)."""
    return any(code.startswith(area) or area.startswith(code) for area in areas)


async def directory(couch: Couch, user: User, own: JSON | None) -> Directory:
    """The names `user` needs; `own` is the user's stored document."""
    areas = {code[: AREA_DIGITS[user.role]] for code in user.divisions}
    rows = (await couch.get_json(f"/{AUTH_DB}/_all_docs", startkey="user:", endkey="user:\ufff0",
                                 include_docs=True))["rows"]
    people = {
        str(doc["username"]): name
        for row in rows
        if (doc := row.get("doc")) and (name := display_name(doc))
        and not doc.get("disabled") and _related_any(doc.get("divisions", []), areas)
    }
    places = {d.code: d.name_zh for d in await load_registry(couch) if _related(d.code, areas)}
    return {"display_name": display_name(own), "people": people, "places": places}


def _related_any(codes: object, areas: set[str]) -> bool:
    return isinstance(codes, list) and any(_related(str(code), areas) for code in codes)
