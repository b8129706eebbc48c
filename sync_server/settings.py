"""Server settings (配置), built once from the environment by `settings_from_env`.

Every setting is listed in `SETTINGS` with its default and help text; the README's
configuration table is checked against this list by a test.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ONETRIP_DATA", "./data",
            "data folder: embedded engine files, generated secrets and keys, the audit journal"),
    Setting("COUCHDB_URL", "", "CouchDB server with admin credentials; unset → embedded engine"),
    Setting("ONETRIP_PORT", "8000", "server port"),
    Setting("ONETRIP_HOST", "127.0.0.1", "server bind address"),
    Setting("COUNTY_PLATFORM_URL", "", "where county hand-offs go; unset → built-in simulator"),
    Setting("ONETRIP_APP_PORT", "8550", "port of the Flet app in web mode (`onetrip up`)"),
    Setting("ONETRIP_COUNTY_PORT", "8010", "port of the county platform simulator (`onetrip up`)"),
    Setting("ONETRIP_PUBLIC_URL", "", "public base URL printed on receipts and QR codes; unset → http://HOST:PORT"),
    Setting("ONETRIP_CALENDAR", "", "working-day override file for years chinese-calendar does not know; "
            "unset → assets/calendar/overrides.json"),
    Setting("ONETRIP_DIVISIONS", "", "divisions file registered at every start (format of "
            "assets/divisions.json); unset → the demo divisions, only when seeding the demo"),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    couchdb_url: str | None
    host: str
    port: int
    county_platform_url: str | None
    app_port: int
    county_port: int
    public_url: str
    divisions_file: Path | None = None

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def local_url(self) -> str:
        """Where processes on this machine reach the server (a wildcard bind → loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env

    def get(name: str) -> str:
        default = next(s.default for s in SETTINGS if s.name == name)
        return env.get(name, "").strip() or default

    host = get("ONETRIP_HOST")
    port = int(get("ONETRIP_PORT"))
    return Settings(
        data_dir=Path(get("ONETRIP_DATA")).resolve(),
        couchdb_url=get("COUCHDB_URL") or None,
        host=host,
        port=port,
        county_platform_url=get("COUNTY_PLATFORM_URL") or None,
        app_port=int(get("ONETRIP_APP_PORT")),
        county_port=int(get("ONETRIP_COUNTY_PORT")),
        public_url=(get("ONETRIP_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
        divisions_file=Path(get("ONETRIP_DIVISIONS")).resolve() if get("ONETRIP_DIVISIONS") else None,
    )
