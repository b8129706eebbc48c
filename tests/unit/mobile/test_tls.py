"""One verifying TLS context per process, shared by every HTTP client of the app (ADR 0157)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from mobile.replication import RemoteDB
from mobile.tls import tls_context


@pytest.fixture
def fresh_context() -> Iterator[None]:
    tls_context.cache_clear()
    yield
    tls_context.cache_clear()


async def test_a_round_of_ten_databases_loads_the_ca_bundle_once(
    fresh_context: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    original = ssl.create_default_context

    def counting(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(kwargs)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    remotes = [RemoteDB(f"https://township.example/sync/ot-v-33021200100{n}", token="t") for n in range(10)]
    for remote in remotes:
        await remote.aclose()
    assert len(built) == 1


def test_the_shared_context_still_verifies_certificates_and_host_names(fresh_context: None) -> None:
    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
