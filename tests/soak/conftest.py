"""Prints the fuzz seed in the session header, so a failing run can be replayed."""

from __future__ import annotations

import pytest

from tests.soak.fuzz_seed import SEED


def pytest_report_header(config: pytest.Config) -> str:
    return f"schemathesis seed: {SEED} (replay with ONETRIP_FUZZ_SEED={SEED} make soak)"
