"""Which divisions `onetrip up` registers: ONETRIP_DIVISIONS, else the demo file only for the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync_server.admin import asset_divisions, startup_divisions
from sync_server.settings import settings_from_env


def test_production_registers_no_demo_divisions(tmp_path: Path) -> None:
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path)})
    assert list(startup_divisions(settings, seeding_demo=False)) == []
    assert [d.code for d in startup_divisions(settings, seeding_demo=True)] == \
        [d.code for d in asset_divisions()]


def test_a_divisions_file_is_registered_demo_or_not(tmp_path: Path) -> None:
    path = tmp_path / "county.json"
    path.write_text(json.dumps({"divisions": [{"code": "330212", "name_zh": "鄞州区"}]}), encoding="utf-8")
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path), "ONETRIP_DIVISIONS": str(path)})
    for seeding in (False, True):
        assert [d.code for d in startup_divisions(settings, seeding)] == ["330212"]


def test_a_missing_divisions_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = settings_from_env({"ONETRIP_DIVISIONS": str(tmp_path / "nope.json")})
    with pytest.raises(FileNotFoundError, match="ONETRIP_DIVISIONS"):
        startup_divisions(settings, seeding_demo=False)
