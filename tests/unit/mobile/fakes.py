"""Small stand-ins for the network side of the app (the auth server), for view-model tests."""

from __future__ import annotations

from argon2 import PasswordHasher

from mobile.services.auth_client import BadCredentials, Offline, Tokens
from mobile.services.device_state import Account
from mobile.viewmodels.context import AppContext

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
AGENT = Account("agent1", "village_agent", ("330212001001",), ("ot-v-330212001001",), "李代办")
STAFF = Account(
    "staff1", "township_staff", ("330212001",), ("ot-v-330212001001", "ot-v-330212001002"), "王站长"
)


class FakeAuth:
    """Answers like the server: one known user, or offline."""

    def __init__(self, account: Account = AGENT, password: str = "secret-pw", online: bool = True) -> None:
        self.account = account
        self.password = password
        self.online = online
        self.calls = 0

    async def login(self, server_url: str, username: str, password: str, device_id: str) -> Tokens:
        self.calls += 1
        if not self.online:
            raise Offline("连不上服务器 Cannot reach the server")
        if username != self.account.username or password != self.password:
            raise BadCredentials("用户名或密码不对 Wrong username or password")
        return Tokens("access-1", "refresh-1", 900, self.account)

    async def refresh(self, server_url: str, refresh_token: str) -> Tokens:
        return Tokens("access-2", "refresh-2", 900, self.account)


async def sign_in_with_pin(ctx: AppContext, pin: str = "135790") -> None:
    """The agent of a `FakeAuth` context signs in and sets the offline PIN, as at first start."""
    ctx.session.username, ctx.session.password = "agent1", "secret-pw"
    assert await ctx.session.sign_in()
    ctx.session.pin = ctx.session.pin_confirm = pin
    assert ctx.session.set_pin()
