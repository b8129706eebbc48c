"""Guessing the last 4 digits is slowed down, never locked (ADR 0128): the attacks it stops.

Each test owns its cases (unique codes) and advances the service's clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from sync_server.citizen import citizen_routes
from sync_server.citizen.ratelimit import PER_CODE
from tests.integration.sync_server.citizen.conftest import ID_NUMBER, World

RIGHT = ID_NUMBER[-4:]
WRONG = [f"{n:04d}" for n in range(10_000) if f"{n:04d}" != RIGHT]


@asynccontextmanager
async def clients(world: World) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """`from_address(ip)`: a client of the same service whose requests come from `ip`."""
    app = Starlette(routes=citizen_routes(world.service))
    made: dict[str, httpx.AsyncClient] = {}

    def from_address(ip: str) -> httpx.AsyncClient:
        if ip not in made:
            made[ip] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)),
                                         base_url="https://ot.example")
        return made[ip]

    try:
        yield from_address
    finally:
        for client in made.values():
            await client.aclose()


async def track(client: httpx.AsyncClient, code: str, last4: str) -> httpx.Response:
    return await client.post("/api/track", json={"code": code, "id_last4": last4})


def wait(world: World, response: httpx.Response) -> None:
    world.clock.now += timedelta(seconds=int(response.headers["retry-after"]))


async def test_one_address_guessing_is_slowed_down_and_the_wait_grows(world: World) -> None:
    code = (await world.add_case())["tracking_code"]
    async with clients(world) as from_address:
        guesser = from_address("198.51.100.7")
        waits: list[int] = []
        for last4 in WRONG[:9]:
            answer = await track(guesser, code, last4)
            while answer.status_code == 429:  # a patient guesser waits exactly as told
                assert "分钟" in answer.json()["reason"] or "秒" in answer.json()["reason"]
                waits.append(int(answer.headers["retry-after"]))
                wait(world, answer)
                answer = await track(guesser, code, last4)
            assert answer.status_code == 404
        # 5 at once, then 1, 2, 4, 8 minutes between tries, then 15 minutes each.
        assert waits == [60, 120, 240, 480], waits
        blocked = await track(guesser, code, WRONG[9])
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) == int(PER_CODE.cap)
        # Hammering while told to wait neither gets a try nor makes the wait longer.
        for last4 in WRONG[10:40]:
            again = await track(guesser, code, last4)
            assert again.status_code == 429
            assert int(again.headers["retry-after"]) <= int(PER_CODE.cap)


async def test_rotating_addresses_are_bounded_per_code(world: World) -> None:
    code = (await world.add_case())["tracking_code"]
    async with clients(world) as from_address:
        answers = [(await track(from_address(f"203.0.113.{i}"), code, WRONG[i])).status_code
                   for i in range(1, 41)]
        # A fresh address per guess gains nothing: the code itself waits after 5 failures.
        assert answers == [404] * 5 + [429] * 35, answers
        # A guess every 30 s from a fresh address for 80 minutes: tried after 1, 2, 4, 8 minutes'
        # waits, then every 15 minutes — 8 tries out of 159, and 4 an hour from then on.
        admitted = []
        for i in range(1, 160):
            world.clock.now += timedelta(seconds=30)
            answer = await track(from_address(f"198.18.{i // 250}.{i % 250}"), code, WRONG[40 + i])
            if answer.status_code == 404:
                admitted.append(i * 30)
        assert admitted == [60, 180, 420, 900, 1800, 2700, 3600, 4500], admitted


async def test_the_rightful_citizen_gets_in_after_the_wait(world: World) -> None:
    code = (await world.add_case())["tracking_code"]
    async with clients(world) as from_address:
        for i in range(30):  # someone holding the receipt guesses from many addresses
            await track(from_address(f"192.0.2.{i + 1}"), code, WRONG[i])
        citizen = from_address("100.64.0.9")
        refused = await track(citizen, code, RIGHT)
        assert refused.status_code == 429  # the right digits are not even checked while the code waits
        assert "right digits will work" in refused.json()["reason"]
        assert int(refused.headers["retry-after"]) <= int(PER_CODE.cap)
        wait(world, refused)
        answer = await track(citizen, code, RIGHT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["applicant"] == "张**"
        # Her success did not hand the guessers fresh free tries: the next guess still waits.
        assert (await track(from_address("192.0.2.200"), code, WRONG[40])).status_code == 404
        assert (await track(from_address("192.0.2.201"), code, WRONG[41])).status_code == 429


async def test_one_address_spraying_many_codes_is_slowed_down(world: World) -> None:
    codes = [(await world.add_case())["tracking_code"] for _ in range(12)]
    async with clients(world) as from_address:
        sprayer = from_address("198.51.100.99")
        answers = [(await track(sprayer, code, WRONG[0])).status_code for code in codes]
        assert answers == [404] * 10 + [429] * 2, answers  # 10 failures at once per address
        # Another address on the same codes is not affected: a shared NAT is not locked.
        assert (await track(from_address("198.51.100.100"), codes[-1], RIGHT)).status_code == 200
