"""The package boundaries of docs/design.md §Layering, checked on the source (imports anywhere in a module).

`shared` imports neither `mobile` nor `sync_server`; `mobile` and `sync_server` never import
each other. Only the demo seeder (`onetrip_demo`) and the tests may use both sides.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "shared": {"mobile", "sync_server", "onetrip_demo"},
    "mobile": {"sync_server", "onetrip_demo"},
    "sync_server": {"mobile", "onetrip_demo"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_its_boundary(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert offenders == {}


# Inside the app, a layer imports only the layers below it (docs/architecture.md §mobile):
# store ← replication ← sync plan ← services ← view-models ← views. A service that imported a
# view-model made the sync round depend on the sync bar.
APP_LAYERS = {
    "mobile/store": ("mobile.replication", "mobile.sync_plan", "mobile.services", "mobile.viewmodels",
                     "mobile.views"),
    "mobile/replication": ("mobile.sync_plan", "mobile.services", "mobile.viewmodels", "mobile.views"),
    "mobile/services": ("mobile.viewmodels", "mobile.views"),
    "mobile/viewmodels": ("mobile.views",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(APP_LAYERS))
def test_app_layer_imports_only_the_layers_below(layer: str) -> None:
    above = APP_LAYERS[layer]
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.startswith(above))
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


# The repo stands alone: no tracked file cites design notes kept outside it or a machine's
# paths. Only CI's runner and the Makefile may name the default place of Apache CouchDB's
# release script, which lives beside the checkout.
# The names are assembled from parts so that this file does not cite them itself.
_NOTES = ("DES" "IGN", "CONTR" "ACTS", "STY" "LE", "COUCH" "DB", "FL" "ET")
OUTSIDE = re.compile("|".join([
    *(rf"\b{name}\.md" for name in _NOTES),
    rf"\b{_NOTES[0]} §",
    rf"\b{_NOTES[1]}\b",
    re.escape("../" + "shared/"),
    *(re.escape("/" + top + "/") for top in ("work", "root")),
]))
MAY_CITE_OUTSIDE = {".ci/run", "Makefile"}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_file_cites_documents_outside_the_repo() -> None:
    offenders = {}
    for name in tracked_files():
        path = ROOT / name
        if name in MAY_CITE_OUTSIDE or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found = sorted({match.group() for match in OUTSIDE.finditer(text)})
        if found:
            offenders[name] = found
    assert offenders == {}
