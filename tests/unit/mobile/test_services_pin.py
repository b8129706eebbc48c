"""PIN verifier: slow hash, lockout that grows, reset on success."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mobile.services.errors import PinError
from mobile.services.pin import FREE_ATTEMPTS, LOCK_SECONDS, PinRecord, check_pin, create_pin

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_right_pin_opens_and_hash_hides_it() -> None:
    record = create_pin("246810", FAST)
    assert "246810" not in record.hash and record.hash.startswith("$argon2id$")
    assert check_pin(record, "246810", now=0, hasher=FAST).ok


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "", "１２３４５６"])
def test_pin_must_be_six_ascii_digits(pin: str) -> None:
    with pytest.raises(PinError, match="6"):
        create_pin(pin, FAST)


def test_lockout_grows_and_success_resets() -> None:
    record = create_pin("135790", FAST)
    now = 1000.0
    for attempt in range(FREE_ATTEMPTS - 1):
        result = check_pin(record, "000000", now, FAST)
        record = result.record
        assert not result.ok and result.attempts_left == FREE_ATTEMPTS - attempt - 1
        assert result.attempts_left > 0 and record.locked_until == 0.0
    # The last free try, once wrong, locks at once: "0 tries left" never allows another.
    result = check_pin(record, "000000", now, FAST)
    assert result.attempts_left == 0 and result.locked_for == LOCK_SECONDS
    record = result.record
    # While locked even the right PIN is refused, without counting.
    refused = check_pin(record, "135790", now + 1, FAST)
    assert not refused.ok and refused.record == record
    now = record.locked_until
    result = check_pin(record, "111111", now, FAST)
    assert result.locked_for == 2 * LOCK_SECONDS
    now = result.record.locked_until
    opened = check_pin(result.record, "135790", now, FAST)
    assert opened.ok and opened.record.failures == 0 and opened.record.locked_until == 0.0


@pytest.mark.parametrize("pin", ["111111", "000000", "123456", "654321", "012345", "987654",
                                 "121212", "112211", "123123", "520520"])
def test_weak_pins_are_refused_in_both_languages(pin: str) -> None:
    with pytest.raises(PinError) as refused:
        create_pin(pin, FAST)
    assert "太容易" in str(refused.value) and "too easy" in str(refused.value)


@pytest.mark.parametrize("pin", ["135790", "246810", "730419", "580263"])
def test_ordinary_pins_are_accepted(pin: str) -> None:
    assert create_pin(pin, FAST).hash


def test_record_round_trips_through_json() -> None:
    record = PinRecord(hash="$argon2id$x", failures=3, locked_until=12.5)
    assert PinRecord.from_json(record.to_json()) == record


def test_corrupt_hash_counts_as_failure_not_crash() -> None:
    result = check_pin(PinRecord(hash="garbage"), "123456", 0, FAST)
    assert not result.ok and result.record.failures == 1
