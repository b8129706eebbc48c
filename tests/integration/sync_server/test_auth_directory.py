"""The names screens show (issue 17): display name, people and places at login and from
`/api/auth/me`, limited to the caller's area."""

from __future__ import annotations

import httpx

from sync_server.admin import cmd_add_user
from sync_server.couch import Couch
from tests.integration.sync_server.server_fixtures import PASSWORD, RunningServer, login, make_township


async def test_login_and_me_give_names_of_the_callers_area_only(
    api_server: RunningServer, couchdb_url: str
) -> None:
    here, elsewhere = await make_township(couchdb_url), await make_township(couchdb_url)
    couch = Couch(couchdb_url)
    try:
        await cmd_add_user(couch, here.agents[0], "village_agent", [here.villages[0]], PASSWORD, "李晓燕")
        await cmd_add_user(couch, here.staff, "township_staff", [here.code], PASSWORD, "陈静")
        # Someone of another township: their name is none of this township's business.
        await cmd_add_user(couch, elsewhere.agents[0], "village_agent", [elsewhere.villages[0]], PASSWORD,
                           "外乡人")
        # Saving again without a name keeps the stored one (a password reset loses no name).
        await cmd_add_user(couch, here.staff, "township_staff", [here.code], PASSWORD)
    finally:
        await couch.aclose()

    body = login(api_server.url, here.agents[1]).json()
    user = body["user"]
    assert user["display_name"] == ""  # none given: the app shows the username
    assert user["people"][here.agents[0]] == "李晓燕" and user["people"][here.staff] == "陈静"
    assert elsewhere.agents[0] not in user["people"] and "外乡人" not in str(body)
    assert user["places"][here.villages[0]] == f"测试{here.villages[0]}"
    assert user["places"][here.code] == f"测试{here.code}" and user["places"]["330212"] == "测试330212"
    assert not set(user["places"]) & {elsewhere.code, *elsewhere.villages}
    assert "password_hash" not in str(body) and "$argon2" not in str(body)

    staff = login(api_server.url, here.staff).json()
    me = httpx.get(f"{api_server.url}/api/auth/me", timeout=30,
                   headers={"Authorization": f"Bearer {staff['access_token']}"}).json()
    assert staff["user"]["display_name"] == me["display_name"] == "陈静"
    assert me["people"] == staff["user"]["people"] and me["places"] == staff["user"]["places"]
    assert set(here.villages) <= set(me["places"])
