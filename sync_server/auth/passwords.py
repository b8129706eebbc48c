"""Password hashing (口令散列): argon2id via argon2-cffi.

Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): slow enough
to make offline guessing expensive, cheap enough that a 2-core server verifies a login in
tens of milliseconds. Hashes carry their parameters, so raising them later keeps old hashes
valid and `needs_rehash` tells the login to upgrade them.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 8  # characters; short demo passwords are generated longer than this


class WeakPassword(ValueError):
    """The password is too short to be set."""


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 个字符 / "
                           f"the password needs at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


# A valid hash of a random password: verifying against it when the user does not exist makes
# a failed login take the same time whether or not the username is known.
DUMMY_HASH = _HASHER.hash("onetrip-no-such-user-placeholder")
