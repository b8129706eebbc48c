"""Version vectors: increment, compare, merge, frontier."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.versions import Order, VersionVectorError, compare, dominates, increment, maximal, merge, validate

vectors = st.dictionaries(st.sampled_from(["a", "b", "c", "server"]), st.integers(0, 5), max_size=4)


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ({}, {}, Order.EQUAL),
        ({"a": 1}, {"a": 1, "b": 0}, Order.EQUAL),  # a missing device counts as 0
        ({"a": 1}, {"a": 2}, Order.BEFORE),
        ({"a": 2, "b": 1}, {"a": 2}, Order.AFTER),
        ({"a": 1}, {"b": 1}, Order.CONCURRENT),
        ({"a": 2, "b": 1}, {"a": 1, "b": 2}, Order.CONCURRENT),
    ],
)
def test_compare(a: dict[str, int], b: dict[str, int], order: Order) -> None:
    assert compare(a, b) is order


def test_increment_does_not_mutate() -> None:
    vv = {"a": 1}
    assert increment(vv, "a") == {"a": 2}
    assert increment(vv, "b") == {"a": 1, "b": 1}
    assert vv == {"a": 1}


def test_merge_and_maximal() -> None:
    assert merge([{"a": 2}, {"a": 1, "b": 3}, {}]) == {"a": 2, "b": 3}
    assert maximal([{"a": 1}, {"a": 2}, {"b": 1}]) == [1, 2]
    assert maximal([{"a": 1}, {"a": 1}]) == [0, 1]


@pytest.mark.parametrize("bad", [[], {"a": -1}, {"a": "1"}, {"": 1}, {"a": True}])
def test_validate_refuses_bad_vectors(bad: object) -> None:
    with pytest.raises(VersionVectorError):
        validate(bad)


def test_validate_drops_zero_entries() -> None:
    assert validate({"a": 0, "b": 2}) == {"b": 2}


@settings(max_examples=60)
@given(vectors, vectors, vectors)
def test_merge_is_a_least_upper_bound(a: dict[str, int], b: dict[str, int], c: dict[str, int]) -> None:
    m = merge([a, b])
    assert dominates(m, a) and dominates(m, b)
    assert merge([a, b]) == merge([b, a])
    assert merge([merge([a, b]), c]) == merge([a, merge([b, c])])
    if dominates(c, a) and dominates(c, b):
        assert dominates(c, m)
    flipped = {Order.BEFORE: Order.AFTER, Order.AFTER: Order.BEFORE}
    assert compare(b, a) is flipped.get(compare(a, b), compare(a, b))
