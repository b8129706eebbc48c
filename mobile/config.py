"""App deployment settings (应用配置) from `flet.toml`, read with tomllib.

Nothing is read at import time: `load_config()` is called by the entry point. Every key has
a default, so a missing or partial file still starts the app. Environment overrides exist
for development (`ONETRIP_SERVER_URL`, `ONETRIP_DEVICE_DATA`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = PROJECT_ROOT / "flet.toml"
ASSETS_DIR = PROJECT_ROOT / "assets"


class ConfigError(ValueError):
    """flet.toml exists but cannot be used; the message names the key."""


@dataclass(frozen=True)
class AppConfig:
    """Settings of one app build: server, sync, language, branding, local data folder."""

    server_url: str = "http://127.0.0.1:8000"
    sync_interval: int = 60
    language: str = "zh"
    page_size: int = 30
    brand_name: str = "一次办 OneTrip"
    brand_org: str = ""
    brand_contact: str = ""
    primary_color: str = "#0B5CAD"
    data_dir: Path = Path.home() / ".onetrip"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Reads `path` (default: the project's flet.toml) and applies environment overrides."""
    env = os.environ if environ is None else environ
    file = path or DEFAULT_FILE
    data: dict[str, Any] = {}
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{file}: {error}") from error
    server = _table(data, "server")
    app = _table(data, "app")
    brand = _table(data, "branding")
    language = str(app.get("language", "zh"))
    if language not in ("zh", "en"):
        raise ConfigError(f"app.language must be 'zh' or 'en', not {language!r}")
    interval = server.get("sync_interval", 60)
    if not isinstance(interval, int) or interval < 5:
        raise ConfigError("server.sync_interval must be a whole number of seconds ≥ 5")
    # On a phone Flet sets FLET_APP_STORAGE_DATA to the app's private folder.
    data_dir = (
        env.get("ONETRIP_DEVICE_DATA") or env.get("FLET_APP_STORAGE_DATA") or str(Path.home() / ".onetrip")
    )
    return AppConfig(
        server_url=env.get("ONETRIP_SERVER_URL") or str(server.get("url", AppConfig.server_url)).rstrip("/"),
        sync_interval=interval,
        language=language,
        page_size=int(app.get("page_size", 30)),
        brand_name=str(brand.get("name", AppConfig.brand_name)),
        brand_org=str(brand.get("org", "")),
        brand_contact=str(brand.get("contact", "")),
        primary_color=str(brand.get("primary_color", AppConfig.primary_color)),
        data_dir=Path(data_dir),
    )


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value
