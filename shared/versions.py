"""Version vectors (版本向量): which device edits a field value has seen.

A version vector maps a device id to the number of edits of one field made on that device,
e.g. `{"tablet-7": 3, "server": 1}`. A missing device counts as 0. Comparing two vectors
tells whether one edit happened after the other (it had seen it) or concurrently.
Pure functions over plain dicts, as stored in a case's `meta.fields[path]["vv"]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

VersionVector = Mapping[str, int]


class Order(StrEnum):
    """How version vector `a` relates to `b`."""

    BEFORE = "before"  # a < b: b has seen everything a has, and more
    AFTER = "after"  # a > b
    EQUAL = "equal"
    CONCURRENT = "concurrent"  # each has seen an edit the other has not


class VersionVectorError(ValueError):
    """A version vector that is not a mapping of device id to a non-negative integer."""


def validate(value: object) -> dict[str, int]:
    """A clean copy of an untrusted version vector (zero entries dropped); `VersionVectorError` if bad."""
    if not isinstance(value, Mapping):
        raise VersionVectorError("a version vector must be an object")
    clean: dict[str, int] = {}
    for device, counter in value.items():
        if not isinstance(device, str) or not device:
            raise VersionVectorError("version vector keys must be device ids")
        if not isinstance(counter, int) or isinstance(counter, bool) or counter < 0:
            raise VersionVectorError(f"version vector counter must be a non-negative integer: {device}")
        if counter:
            clean[device] = counter
    return clean


def increment(vv: VersionVector, device: str) -> dict[str, int]:
    """A new vector with `device`'s counter one higher."""
    if not device:
        raise VersionVectorError("device id must not be empty")
    result = dict(vv)
    result[device] = result.get(device, 0) + 1
    return result


def compare(a: VersionVector, b: VersionVector) -> Order:
    a_ahead = b_ahead = False
    for device in set(a) | set(b):
        x, y = a.get(device, 0), b.get(device, 0)
        if x > y:
            a_ahead = True
        elif y > x:
            b_ahead = True
    if a_ahead and b_ahead:
        return Order.CONCURRENT
    if a_ahead:
        return Order.AFTER
    if b_ahead:
        return Order.BEFORE
    return Order.EQUAL


def dominates(a: VersionVector, b: VersionVector) -> bool:
    """True when `a` has seen every edit `b` has (after or equal)."""
    return compare(a, b) in (Order.AFTER, Order.EQUAL)


def merge(vectors: Iterable[VersionVector]) -> dict[str, int]:
    """The pointwise maximum: a vector that has seen every edit any of `vectors` has."""
    result: dict[str, int] = {}
    for vv in vectors:
        for device, counter in vv.items():
            if counter > result.get(device, 0):
                result[device] = counter
    return dict(sorted(result.items()))


def maximal(vectors: Iterable[VersionVector]) -> list[int]:
    """Indexes of the vectors no other vector is strictly after (the concurrent frontier)."""
    items = list(vectors)
    return [i for i, vv in enumerate(items)
            if not any(compare(other, vv) is Order.AFTER for j, other in enumerate(items) if j != i)]
