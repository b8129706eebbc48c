"""Prints the fuzz seed at the end of a run that fuzzed (also under -q), so a failure replays."""

from __future__ import annotations

import pytest

from tests.soak.fuzz_seed import SEED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.stats
    reports = [r for outcome in ("passed", "failed", "error") for r in stats.get(outcome, [])]
    ran = any("tests/soak/" in getattr(report, "nodeid", "") for report in reports)
    if ran:
        terminalreporter.write_line(f"schemathesis seed: {SEED} "
                                    f"(replay with ONETRIP_FUZZ_SEED={SEED} make soak)")
