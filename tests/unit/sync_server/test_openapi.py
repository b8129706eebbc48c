"""The OpenAPI document names every route the app mounts, and nothing it does not."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route

from sync_server.app import create_app
from sync_server.gateway.paths import METHODS, Endpoint, parse_sync_path
from sync_server.openapi import document
from sync_server.settings import settings_from_env

EXAMPLES = {"db": "ot-v-330212001001", "id": "checkpoint-1", "ddoc": "app", "docid": "case:01JD0000",
            "attachment": "signature.png"}
VERBS = ("get", "head", "post", "put", "delete", "patch", "options")


def app(tmp_path: Path) -> Starlette:
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path), "COUCHDB_URL": "http://a:b@127.0.0.1:9"})
    built = create_app(settings)
    return built


def operations(path_item: dict[str, object]) -> set[str]:
    return {verb.upper() for verb in VERBS if verb in path_item}


def openapi_path(starlette_path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", starlette_path)


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    paths = document()["paths"]
    mounted: dict[str, set[str]] = {}
    for route in app(tmp_path).routes:
        assert isinstance(route, Route)
        if route.path.startswith("/sync/"):
            continue
        mounted[openapi_path(route.path)] = set(route.methods or ()) - {"HEAD"}
    documented = {p: operations(item) - {"HEAD"} for p, item in paths.items() if not p.startswith("/sync/")}
    assert documented == mounted


def test_the_gateway_endpoints_match_its_endpoint_table(tmp_path: Path) -> None:
    sync_routes = [r for r in app(tmp_path).routes if isinstance(r, Route) and r.path.startswith("/sync/")]
    assert [r.path for r in sync_routes] == ["/sync/{rest:path}"]
    seen: set[Endpoint] = set()
    for path, item in document()["paths"].items():
        if not path.startswith("/sync/"):
            continue
        example = re.sub(r"\{(\w+)\}", lambda m: EXAMPLES[m.group(1)], path)
        parsed = parse_sync_path(example)
        assert parsed is not None and parsed.endpoint is not Endpoint.UNKNOWN, path
        assert operations(item) == METHODS[parsed.endpoint], path
        seen.add(parsed.endpoint)
    assert seen == set(METHODS)


def test_the_document_is_well_formed(tmp_path: Path) -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    schemes = set(doc["components"]["securitySchemes"])
    for path, item in doc["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for verb in VERBS:
            if verb not in item:
                continue
            operation = item[verb]
            assert operation["responses"] and operation["summary"], (path, verb)
            names = declared | {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (path, verb)
            for requirement in operation.get("security", []):
                assert set(requirement) <= schemes, (path, verb)


def test_every_body_and_every_protected_operation_declares_its_refusals() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared = set(operation["responses"])
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= declared, f"{method} {path}"
            if operation.get("security") == [{"bearer": []}]:
                assert {"401", "403"} <= declared, f"{method} {path}"
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
