"""Hybrid logical clock: ordering of the encoding, tick/observe rules, bounded drift."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.hlc import MAX_DRIFT_MS, Hlc, HlcError, clamp, observe, parse, parse_or_none, tick

NOW = 1_795_933_800_000  # 2026-11-28T…Z in milliseconds

hlcs = st.builds(
    Hlc,
    st.integers(0, 10**15),
    st.integers(0, 99_999),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12),
)


def test_encoding_is_fixed_width_and_round_trips() -> None:
    h = Hlc(NOW, 7, "tablet-7")
    assert h.encode() == "000001795933800000-00007-tablet-7"
    assert parse(h.encode()) == h


@settings(max_examples=60)
@given(hlcs, hlcs)
def test_string_order_equals_clock_order(a: Hlc, b: Hlc) -> None:
    assert (a.encode() < b.encode()) == (a < b)
    assert parse(a.encode()) == a


@pytest.mark.parametrize(
    "text", ["", "12-3-x", "000001795933800000-00007-", "000001795933800000-7-dev", None, 5]
)
def test_parse_refuses_malformed(text: object) -> None:
    with pytest.raises(HlcError):
        parse(text)  # type: ignore[arg-type]  # malformed on purpose, None and int included
    assert parse_or_none(text) is None


@pytest.mark.parametrize("device", ["", " dev", "dev\n"])
def test_device_id_must_be_clean(device: str) -> None:
    with pytest.raises(HlcError):
        Hlc(NOW, 0, device)


@pytest.mark.parametrize(
    ("last", "wall", "expected"),
    [
        (None, NOW, Hlc(NOW, 0, "d")),  # first event: wall time
        (Hlc(NOW - 5, 3, "x"), NOW, Hlc(NOW, 0, "d")),  # wall clock moved on: counter resets
        (Hlc(NOW, 3, "x"), NOW, Hlc(NOW, 4, "d")),  # same millisecond: counter
        (Hlc(NOW + 50, 1, "x"), NOW, Hlc(NOW + 50, 2, "d")),  # wall clock went back: never goes back
        (Hlc(NOW, 99_999, "x"), NOW, Hlc(NOW + 1, 0, "d")),  # counter overflow: next millisecond
    ],
)
def test_tick(last: Hlc | None, wall: int, expected: Hlc) -> None:
    assert tick(last, wall, "d") == expected


def test_observe_adopts_a_remote_clock_within_the_drift_bound() -> None:
    remote = Hlc(NOW + 60_000, 5, "other")
    assert observe(Hlc(NOW, 0, "me"), remote, NOW, "me") == Hlc(NOW + 60_000, 6, "me")


def test_observe_clamps_a_remote_clock_far_in_the_future() -> None:
    bogus = Hlc(NOW + 365 * 86_400_000, 0, "wrong-clock")
    # The bogus time never spreads: the next local event is at our own wall time.
    assert observe(None, bogus, NOW, "me") == Hlc(NOW, 1, "me")


@pytest.mark.parametrize(
    ("hlc", "expected"),
    [
        (Hlc(NOW + MAX_DRIFT_MS, 3, "d"), Hlc(NOW + MAX_DRIFT_MS, 3, "d")),  # at the bound: kept
        (Hlc(NOW + MAX_DRIFT_MS + 1, 3, "d"), Hlc(NOW, 0, "d")),  # beyond: clamped, device kept
        (Hlc(NOW - 10**9, 0, "d"), Hlc(NOW - 10**9, 0, "d")),  # past clocks are never moved
    ],
)
def test_clamp(hlc: Hlc, expected: Hlc) -> None:
    assert clamp(hlc, NOW) == expected


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 10**13), st.booleans()), min_size=1, max_size=30), hlcs)
def test_a_device_clock_is_strictly_monotonic(walls: list[tuple[int, bool]], remote: Hlc) -> None:
    last: Hlc | None = None
    for wall, receive in walls:
        new = observe(last, remote, wall, "me") if receive else tick(last, wall, "me")
        assert last is None or new > last
        last = new
