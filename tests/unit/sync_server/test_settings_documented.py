"""Every setting in `sync_server.settings.SETTINGS` has a row in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from sync_server.settings import SETTINGS

README = Path(__file__).resolve().parents[3] / "README.md"
HEADER = "| variable | default | meaning |"


def documented_variables() -> set[str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    names: set[str] = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names.add(line.split("|")[1].strip().strip("`"))
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [s.name for s in SETTINGS if s.name not in documented_variables()]
    assert missing == [], f"add these rows to README.md's configuration table: {missing}"
