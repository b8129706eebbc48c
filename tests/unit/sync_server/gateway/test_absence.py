"""Ids known absent: learnt by `_revs_diff`, consumed by the write, never learnt while being written."""

from __future__ import annotations

from sync_server.gateway.absence import AbsentIds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_id_learnt_absent_is_taken_once() -> None:
    absent = AbsentIds(Clock())
    absent.learn("db", ["a", "b"])
    assert absent.take("db", ["a", "c"]) == {"a"}
    assert absent.take("db", ["a"]) == set()  # consumed: the next write of "a" reads the server
    assert absent.take("other", ["b"]) == set()  # per database
    assert absent.take("db", ["b", "b"]) == {"b"}


def test_entries_expire() -> None:
    clock = Clock()
    absent = AbsentIds(clock, ttl=10)
    absent.learn("db", ["a"])
    clock.now += 5
    absent.learn("db", ["b"])
    clock.now += 6
    assert absent.take("db", ["a", "b"]) == {"b"}
    assert len(absent) == 0


def test_an_id_being_written_is_not_learnt_absent() -> None:
    """A look-up sent before a write lands may still miss it: its answer must not count."""
    clock = Clock()
    absent = AbsentIds(clock, ttl=10)
    assert absent.take("db", ["a"]) == set()  # a write of "a" begins
    absent.learn("db", ["a", "b"])  # a look-up that did not see it yet
    assert absent.take("db", ["a", "b"]) == {"b"}
    clock.now += 11
    absent.learn("db", ["a"])  # long after the write: a look-up that finds it absent is believed
    assert absent.take("db", ["a"]) == {"a"}


def test_memory_is_bounded() -> None:
    absent = AbsentIds(Clock(), max_ids=3)
    absent.learn("db", ["a", "b", "c", "d"])
    assert len(absent) == 3
    assert absent.take("db", ["a", "b", "c", "d"]) == {"b", "c", "d"}
