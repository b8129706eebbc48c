"""Hybrid logical clock (混合逻辑时钟) for last-writer-wins field merges.

An HLC is `(millis, counter, device)`: wall-clock milliseconds as the writing device saw
them, a counter that orders events within the same millisecond (or when the wall clock goes
backwards), and the device id that breaks the last tie. It is encoded as a string that sorts
exactly like the tuple:

    000001795933800000-00000-tablet-7
    └ 18 digits millis ┘ └ counter ┘ └ device id ┘

Pure: callers pass the wall time (`wall_ms`); nothing here reads a clock.

Bounded drift (why a device with a wrong clock cannot win everything): an HLC more than
`MAX_DRIFT_MS` ahead of the observer's own wall time is *clamped* to the observer's wall
time (keeping its device id) before it is compared or adopted. The server clamps when it
merges conflicting leaves, and devices clamp what they observe before editing. So a tablet
whose clock says 2030 wins at most the conflicts merged before real time catches up with
its edit's arrival — never every later edit — and its bogus time never spreads to honest
devices' clocks. Causality itself is carried by version vectors (`shared/versions.py`);
the HLC only orders edits that are truly concurrent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Phones in villages take their time from the network; ten minutes covers a badly set clock
# or timezone-less offset seconds, while still stopping a clock set days or years ahead.
MAX_DRIFT_MS = 10 * 60 * 1000

# 18 digits of milliseconds reach past the year 30,000; fixed width keeps string order = time order.
_MILLIS_DIGITS = 18
# A device makes far fewer than 100,000 edits inside one millisecond; on overflow the clock
# moves one millisecond ahead instead.
_COUNTER_DIGITS = 5
_COUNTER_MAX = 10**_COUNTER_DIGITS - 1
_PATTERN = re.compile(r"^(\d{18})-(\d{5})-(\S.*)$")


class HlcError(ValueError):
    """A malformed HLC string or an invalid device id / wall time."""


@dataclass(frozen=True, order=True)
class Hlc:
    """One hybrid-logical-clock reading; ordering of instances equals ordering of `encode()`."""

    millis: int
    counter: int
    device: str

    def __post_init__(self) -> None:
        if not 0 <= self.millis < 10**_MILLIS_DIGITS:
            raise HlcError(f"HLC millis out of range: {self.millis}")
        if not 0 <= self.counter <= _COUNTER_MAX:
            raise HlcError(f"HLC counter out of range: {self.counter}")
        _check_device(self.device)

    def encode(self) -> str:
        return f"{self.millis:0{_MILLIS_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}-{self.device}"

    def __str__(self) -> str:
        return self.encode()


def parse(text: str) -> Hlc:
    """Decode `encode()`'s string; `HlcError` for anything else."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise HlcError(f"not an HLC string: {text!r:.60}")
    return Hlc(int(match.group(1)), int(match.group(2)), match.group(3))


def parse_or_none(text: object) -> Hlc | None:
    """Like `parse`, but None for a missing or malformed value (data from devices is untrusted)."""
    if not isinstance(text, str):
        return None
    try:
        return parse(text)
    except HlcError:
        return None


def clamp(hlc: Hlc, now_ms: int, max_drift_ms: int = MAX_DRIFT_MS) -> Hlc:
    """`hlc`, or the observer's own time when `hlc` is more than `max_drift_ms` in its future."""
    if hlc.millis > now_ms + max_drift_ms:
        return Hlc(now_ms, 0, hlc.device)
    return hlc


def tick(last: Hlc | None, wall_ms: int, device: str) -> Hlc:
    """The HLC of a new local event after `last` (the newest HLC this device has seen or made)."""
    if wall_ms < 0:
        raise HlcError("wall time must not be negative")
    if last is None or wall_ms > last.millis:
        return Hlc(wall_ms, 0, device)
    if last.counter < _COUNTER_MAX:
        return Hlc(last.millis, last.counter + 1, device)
    return Hlc(last.millis + 1, 0, device)


def observe(last: Hlc | None, remote: Hlc, wall_ms: int, device: str,
            max_drift_ms: int = MAX_DRIFT_MS) -> Hlc:
    """The HLC of a local event that follows receiving `remote` (clamped first: bounded drift)."""
    seen = clamp(remote, wall_ms, max_drift_ms)
    newest = seen if last is None or seen > last else last
    return tick(newest, wall_ms, device)


def _check_device(device: str) -> None:
    if not isinstance(device, str) or not device or device != device.strip() or "\n" in device:
        raise HlcError(f"invalid device id for an HLC: {device!r:.60}")
