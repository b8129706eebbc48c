"""Soak (`make soak`): schemathesis against `/api/openapi.json` with every route mounted.

Each documented operation is fuzzed with a bearer token of each role and anonymously. Every
answer must be no server error, carry a status code the document declares for that operation,
and match the declared content type and schema. The examples are bounded and seeded: a
run prints its seed at the end (`ONETRIP_FUZZ_SEED=<seed> make soak` replays it);
ONETRIP_FUZZ_EXAMPLES sets the examples per operation and role (default 50).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from sync_server.app import ROUTE_PARTS
from sync_server.openapi import document
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    make_township,
    running_server,
    token_for,
)
from tests.soak.fuzz_seed import SEED

if TYPE_CHECKING:  # schemathesis names its OpenAPI case type for type checkers only
    from schemathesis.specs.openapi.schemas import OpenApiCase

# The multipart/related form of `PUT /sync/{db}/{docid}` has no serializer in schemathesis:
# those cases are skipped (its JSON form is fuzzed; tests/integration covers multipart uploads).
pytestmark = [pytest.mark.soak,
              pytest.mark.filterwarnings("ignore:Skipped test cases with unsupported payload media types")]

EXAMPLES = int(os.environ.get("ONETRIP_FUZZ_EXAMPLES") or 50)
ROLES = ("anonymous", "village_agent", "township_staff", "county_operator")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          unsupported_method]

schema = schemathesis.openapi.from_dict(document())


@dataclass(frozen=True)
class Caller:
    role: str
    headers: dict[str, str]
    databases: tuple[str, ...]


@pytest.fixture(scope="module")
def full_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("fuzz-data"), couchdb_url, ROUTE_PARTS) as server:
        yield server


@pytest.fixture(scope="module")
def callers(full_server: RunningServer, couchdb_url: str) -> dict[str, Caller]:
    township = asyncio.run(make_township(couchdb_url))
    names = {"village_agent": township.agents[0], "township_staff": township.staff,
             "county_operator": township.county}
    found = {"anonymous": Caller("anonymous", {}, township.dbs)}
    for role, name in names.items():
        token = token_for(full_server.url, name)
        found[role] = Caller(role, {"Authorization": f"Bearer {token}"}, township.dbs)
    return found


@pytest.fixture(params=ROLES)
def caller(request: pytest.FixtureRequest, callers: dict[str, Caller]) -> Caller:
    return callers[str(request.param)]


@schema.parametrize()
@seed(SEED)
@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None)
def test_api_answers_as_documented(case: OpenApiCase, full_server: RunningServer, caller: Caller) -> None:
    db = case.path_parameters.get("db") if case.path_parameters else None
    if isinstance(db, str) and len(db) % 2 == 0:  # half of the cases reach a real village database
        case.path_parameters["db"] = caller.databases[len(db) % 4 // 2]
    case.call_and_validate(base_url=full_server.url, headers=caller.headers, checks=CHECKS, timeout=30)
