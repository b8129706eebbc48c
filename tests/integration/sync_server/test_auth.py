"""Login, refresh rotation and reuse, device revocation, rate limits, token forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync_server.auth.ratelimit import default_limits
from sync_server.auth.tokens import AUDIENCE, ISSUER
from sync_server.couch import Couch
from sync_server.provision import AUTH_DB
from tests.integration.sync_server.server_fixtures import PASSWORD, RunningServer, Township, login


def me(server: RunningServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_login_returns_tokens_and_databases_per_role(
    api_server: RunningServer, township: Township
) -> None:
    agent = login(api_server.url, township.agents[0]).json()
    assert agent["user"]["databases"] == ["ot-catalog", township.dbs[0]]
    assert agent["expires_in"] == 1800 and agent["refresh_token"]
    staff = login(api_server.url, township.staff).json()
    assert staff["user"]["databases"] == ["ot-catalog", *sorted(township.dbs)]
    assert login(api_server.url, township.county).json()["user"]["databases"] == ["ot-catalog"]
    claims = jwt.decode(agent["access_token"], options={"verify_signature": False})
    assert {"iss", "aud", "sub", "role", "device", "jti", "exp", "nbf", "iat"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 1800
    assert me(api_server, agent["access_token"]).json()["username"] == township.agents[0]


async def test_bad_credentials_are_401_without_saying_which(
    api_server: RunningServer, township: Township
) -> None:
    wrong = login(api_server.url, township.agents[0], password="wrong password")
    unknown = login(api_server.url, "nobody-here", password="wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    bad = httpx.post(f"{api_server.url}/api/auth/login", content=b"{nope", timeout=10,
                     headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    text = httpx.post(f"{api_server.url}/api/auth/login", content=b"a=b", timeout=10)
    assert text.status_code == 415


async def test_failed_logins_are_limited_per_username_and_bounded(
    api_server: RunningServer, township: Township
) -> None:
    api_server.ctx.limits = default_limits()
    api_server.clock.frozen = time.time()  # waits are counted on this clock, not the wall's
    try:
        user = township.agents[1]
        for _ in range(6):  # 5 free failures, the 6th starts a wait
            assert login(api_server.url, user, password="wrong password").status_code == 401
        limited = login(api_server.url, user)  # even the right password waits
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"] == "too_many_requests"
        for _ in range(20):  # hammering during the wait does not extend it
            assert login(api_server.url, user, password="wrong password").status_code == 429
        api_server.clock.offset = 31  # the cap: a real user waits at most 30 s
        assert login(api_server.url, user).status_code == 200
    finally:
        api_server.clock.offset = 0
        api_server.clock.frozen = None
        api_server.ctx.limits = default_limits()


async def test_failed_logins_are_limited_per_address(
    api_server: RunningServer, township: Township
) -> None:
    api_server.ctx.limits = default_limits()
    try:
        for n in range(21):
            assert login(api_server.url, f"spray-{n}", password="wrong password").status_code == 401
        assert login(api_server.url, township.staff).status_code == 429
    finally:
        api_server.ctx.limits = default_limits()


async def test_refresh_rotates_and_reuse_ends_the_family(
    api_server: RunningServer, township: Township
) -> None:
    first = login(api_server.url, township.agents[0], device="phone-rot").json()
    second = httpx.post(f"{api_server.url}/api/auth/refresh",
                        json={"refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert me(api_server, second["access_token"]).status_code == 200
    reused = httpx.post(f"{api_server.url}/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The whole family is gone: the newer refresh token and every access token of the device.
    assert httpx.post(f"{api_server.url}/api/auth/refresh",
                      json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert me(api_server, second["access_token"]).status_code == 401
    assert me(api_server, first["access_token"]).status_code == 401
    again = login(api_server.url, township.agents[0], device="phone-rot").json()
    assert me(api_server, again["access_token"]).status_code == 200


async def test_refresh_tokens_are_stored_hashed(
    api_server: RunningServer, township: Township, couchdb_url: str
) -> None:
    pair = login(api_server.url, township.agents[0]).json()
    couch = Couch(couchdb_url)
    try:
        digest = hashlib.sha256(pair["refresh_token"].encode()).hexdigest()
        stored = await couch.get_doc(AUTH_DB, f"refresh:{digest}")
        assert stored is not None and pair["refresh_token"] not in json.dumps(stored)
    finally:
        await couch.aclose()


async def test_revoked_device_is_refused_at_its_next_request(
    api_server: RunningServer, township: Township, couchdb_url: str
) -> None:
    from sync_server.admin import cmd_revoke_device

    phone = f"lost-phone-{uuid.uuid4().hex[:8]}"  # a revoked id stays revoked in a reused CouchDB
    pair = login(api_server.url, township.agents[0], device=phone).json()
    assert me(api_server, pair["access_token"]).status_code == 200
    couch = Couch(couchdb_url)
    try:
        assert await cmd_revoke_device(couch, phone) is not None
        assert await cmd_revoke_device(couch, "never-seen") is None
    finally:
        await couch.aclose()
    assert me(api_server, pair["access_token"]).status_code == 401
    assert httpx.post(f"{api_server.url}/api/auth/refresh",
                      json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert login(api_server.url, township.agents[0], device=phone).status_code == 403


def _forgeries(server: RunningServer, username: str, device: str, family: str) -> dict[str, str]:
    now = int(time.time())
    good = {"iss": ISSUER, "aud": AUDIENCE, "sub": username, "role": "township_staff", "device": device,
            "fam": family, "jti": "x", "iat": now, "nbf": now, "exp": now + 600}
    key = server.ctx.key.private

    def signed(**changes: object) -> str:
        return jwt.encode({**good, **changes}, key, algorithm="EdDSA")

    header_none = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    header_hs = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(good).encode())
    hs_sig = hmac.new(server.ctx.key.public_pem.encode(), f"{header_hs}.{payload}".encode(), hashlib.sha256)
    return {
        "alg none": f"{header_none}.{payload}.",
        "HS256 with the public key": f"{header_hs}.{payload}.{b64(hs_sig.digest())}",
        "expired": signed(iat=now - 4000, nbf=now - 4000, exp=now - 2200),
        "not yet valid": signed(nbf=now + 600, exp=now + 1200),
        "wrong issuer": signed(iss="someone-else"),
        "wrong audience": signed(aud="another-api"),
        "other key": jwt.encode(good, Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        "tampered payload": ".".join([signed().split(".")[0],
                                      b64(json.dumps({**good, "sub": "root"}).encode()),
                                      signed().split(".")[2]]),
        "no exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, key, algorithm="EdDSA"),
        "garbage": "not.a.token",
    }


async def test_every_token_forgery_is_401(
    api_server: RunningServer, township: Township
) -> None:
    pair = login(api_server.url, township.agents[0], device="forge-dev").json()
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    control = _forgeries(api_server, township.agents[0], "forge-dev", claims["fam"])
    for name, token in control.items():
        response = me(api_server, token)
        assert response.status_code == 401, name
        assert response.json()["error"] == "unauthorized"
        sync = httpx.get(f"{api_server.url}/sync/{township.dbs[0]}/_changes",
                         headers={"Authorization": f"Bearer {token}"})
        assert sync.status_code == 401 and "results" not in sync.text, name
    # The same claims signed properly pass: the refusals above are about the forgery only.
    valid = jwt.encode({**jwt.decode(pair["access_token"], options={"verify_signature": False})},
                       api_server.ctx.key.private, algorithm="EdDSA")
    assert me(api_server, valid).status_code == 200
    assert httpx.get(f"{api_server.url}/api/auth/me").status_code == 401


@pytest.mark.parametrize("path", ["/api/public-key"])
async def test_public_key_is_published(api_server: RunningServer, path: str) -> None:
    body = httpx.get(api_server.url + path).json()
    assert body["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert len(base64.urlsafe_b64decode(body["raw"] + "=")) == 32
    assert PASSWORD not in json.dumps(body)
