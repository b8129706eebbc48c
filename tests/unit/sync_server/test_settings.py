"""Settings built from the environment."""

from __future__ import annotations

import pytest

from sync_server.settings import settings_from_env


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "http://127.0.0.1:8123"),
    ("0.0.0.0", "http://127.0.0.1:8123"),  # a wildcard bind is reached on loopback
    ("::", "http://127.0.0.1:8123"),
    ("10.0.0.5", "http://10.0.0.5:8123"),
])
def test_local_url_is_where_this_machine_reaches_the_server(host: str, expected: str) -> None:
    settings = settings_from_env({"ONETRIP_HOST": host, "ONETRIP_PORT": "8123"})
    assert settings.local_url == expected
