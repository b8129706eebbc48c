"""PIN verifier (解锁密码) for opening the app offline after the first online sign-in.

The PIN is stored only as an Argon2id hash (slow on purpose: six digits are a million
guesses, so each guess must cost). Failed attempts lock the app for a growing time; the
record is a plain value that the caller persists, and `now` (seconds) is passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mobile.services.errors import PinError

PIN_LENGTH = 6
# The FREE_ATTEMPTS-th wrong PIN locks for LOCK_SECONDS, each further one for twice as long,
# capped at a day: a neighbour guessing cannot get through 10^6 PINs; the owner waits a
# minute. "0 tries left" is never shown with a try still allowed.
FREE_ATTEMPTS = 5
LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 86_400
# Argon2id at OWASP's low-memory setting (19 MiB, 2 passes): ~50 ms on a cheap phone.
DEFAULT_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_PIN = re.compile(rf"[0-9]{{{PIN_LENGTH}}}")


@dataclass(frozen=True)
class PinRecord:
    """What is stored on the device: the hash, failures in a row and the lock end (epoch s)."""

    hash: str
    failures: int = 0
    locked_until: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"hash": self.hash, "failures": self.failures, "locked_until": self.locked_until}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PinRecord:
        failures = data.get("failures", 0)
        locked = data.get("locked_until", 0.0)
        return cls(
            hash=str(data["hash"]),
            failures=int(failures) if isinstance(failures, int | float | str) else 0,
            locked_until=float(locked) if isinstance(locked, int | float | str) else 0.0,
        )


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one attempt and the record to store afterwards."""

    ok: bool
    record: PinRecord
    locked_for: float = 0.0
    attempts_left: int = 0


def validate_pin(pin: str) -> None:
    if not _PIN.fullmatch(pin):
        raise PinError("解锁密码须为6位数字 The PIN must be 6 digits")
    if is_weak_pin(pin):
        raise PinError("密码太容易被猜到（如111111、123456、121212），请换一个"
                       " This PIN is too easy to guess (like 111111, 123456 or 121212): choose another")


def is_weak_pin(pin: str) -> bool:
    """The PINs a neighbour tries first: one or two digits only (111111, 121212, 112211), a
    run up or down (123456, 654321), or a block said twice (123123)."""
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in pairwise(digits)}
    half = len(pin) // 2
    return len(set(pin)) <= 2 or steps in ({1}, {-1}) or pin[:half] * 2 == pin


def create_pin(pin: str, hasher: PasswordHasher = DEFAULT_HASHER) -> PinRecord:
    """A fresh record for a new PIN."""
    validate_pin(pin)
    return PinRecord(hash=hasher.hash(pin))


def check_pin(record: PinRecord, pin: str, now: float, hasher: PasswordHasher = DEFAULT_HASHER) -> PinCheck:
    """Verifies one attempt; while locked, refuses without even hashing."""
    if now < record.locked_until:
        return PinCheck(ok=False, record=record, locked_for=record.locked_until - now)
    try:
        hasher.verify(record.hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        failures = record.failures + 1
        over = failures - FREE_ATTEMPTS + 1  # the last free attempt, once wrong, locks
        lock = min(MAX_LOCK_SECONDS, LOCK_SECONDS * 2 ** (over - 1)) if over > 0 else 0
        updated = replace(record, failures=failures, locked_until=now + lock if lock else 0.0)
        left = max(0, FREE_ATTEMPTS - failures)
        return PinCheck(False, updated, locked_for=float(lock), attempts_left=left)
    return PinCheck(ok=True, record=replace(record, failures=0, locked_until=0.0))
