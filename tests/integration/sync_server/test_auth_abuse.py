"""Issue 15, F9/F11: signing someone out with their device id, and bursts of password guesses."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx

from sync_server.admin import cmd_revoke_device
from sync_server.auth.ratelimit import default_limits
from sync_server.couch import Couch
from tests.integration.sync_server.server_fixtures import PASSWORD, RunningServer, Township, login
from tests.waiting import wait_for


def _me(server: RunningServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_another_users_login_with_my_device_id_does_not_sign_me_out(
        api_server: RunningServer, township: Township, couch: Couch) -> None:
    """F9: device ids are public (in every event); a login with one gets its own seat."""
    device = f"staff-tablet-{uuid.uuid4().hex[:8]}"
    staff = login(api_server.url, township.staff, device=device).json()
    assert _me(api_server, staff["access_token"]).json()["device"] == device
    attacker = login(api_server.url, township.agents[0], device=device)
    assert attacker.status_code == 200, attacker.text
    seat = _me(api_server, attacker.json()["access_token"]).json()["device"]
    assert seat != device and seat.startswith(device + "@") and attacker.json()["user"]["device"] == seat
    # The owner keeps working: access token and refresh token.
    assert _me(api_server, staff["access_token"]).status_code == 200
    refreshed = httpx.post(f"{api_server.url}/api/auth/refresh",
                           json={"refresh_token": staff["refresh_token"]}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text
    assert _me(api_server, refreshed.json()["access_token"]).status_code == 200
    # Logging in again on the seat does not touch the owner either; the owner's own re-login
    # starts the owner's new family only.
    again = login(api_server.url, township.agents[0], device=device).json()
    assert _me(api_server, refreshed.json()["access_token"]).status_code == 200
    assert _me(api_server, attacker.json()["access_token"]).status_code == 401  # its own older family
    # Nobody can name a seat directly, and revoking the device id revokes its seats.
    assert login(api_server.url, township.agents[0], device=seat).status_code == 400
    assert await cmd_revoke_device(couch, device) is not None
    assert _me(api_server, refreshed.json()["access_token"]).status_code == 401
    assert _me(api_server, again["access_token"]).status_code == 401
    assert login(api_server.url, township.agents[0], device=device).status_code == 403


async def test_a_concurrent_burst_of_guesses_gets_no_more_tries_than_a_series(
        api_server: RunningServer, township: Township) -> None:
    """F11: attempts are counted before the slow password check, so a burst cannot outrun the limit."""
    ctx = api_server.ctx
    ctx.limits = default_limits()  # a clean slate for this test's address
    free = ctx.limits.by_username.free
    api_server.clock.frozen = time.time()  # no back-off runs out during the burst
    try:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=60)) as ac:
            burst = await asyncio.gather(*(ac.post(
                f"{api_server.url}/api/auth/login",
                json={"username": township.agents[1], "password": f"guess-{i}", "device_id": f"d{i}"})
                for i in range(60)))
        counts = Counter(r.status_code for r in burst)
        # A series gets `free` failures, one more that starts the back-off, then 429s.
        assert counts == {401: free + 1, 429: 60 - free - 1}, counts
        assert all(r.headers["Retry-After"] for r in burst if r.status_code == 429)
        # The right password is refused too while the back-off runs (it is counted the same way).
        right = login(api_server.url, township.agents[1], password=PASSWORD)
        assert right.status_code == 429
    finally:
        api_server.clock.frozen = None
        ctx.limits = default_limits()
    # The count every server process shares (ADR 0111) runs its back-off out in real time.
    wait_for(lambda: login(api_server.url, township.agents[1]).status_code == 200, timeout=60,
             what="the shared back-off to run out")
