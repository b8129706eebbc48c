"""Resident ID numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit division code where the person first registered, the birth date
YYYYMMDD, a 3-digit sequence (odd for men, even for women) and a check character computed
with ISO 7064 MOD 11-2 (0–9 or X). Numbers are validated on entry, shown and logged only
masked (`330212********1234`), and looked up by `owner_hash`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shared.divisions import PROVINCES
from shared.errors import IdNumberError
from shared.text import Message

LENGTH: Final = 18
# ISO 7064 MOD 11-2 weights of the 17 leading digits: 2^(17-i) mod 11.
_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK: Final = "10X98765432"  # check character for (weighted sum mod 11) = 0, 1, 2, …
_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]")
EARLIEST_BIRTH: Final = date(1900, 1, 1)


class Sex(StrEnum):
    """From the sequence number: odd is male, even is female."""

    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class IdNumber:
    """A valid resident ID number, split into its parts."""

    number: str
    division: str
    birth_date: date
    sequence: str
    sex: Sex
    check: str

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def owner_hash(self) -> str:
        return owner_hash(self.number)


def normalize_id_number(text: str) -> str:
    """Drop spaces, fold full-width characters a Chinese input method may produce, upper-case `x`."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def check_char(first17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _error(part: str, zh: str, en: str) -> IdNumberError:
    return IdNumberError(part, Message(zh, en))


def parse_id_number(text: str, *, today: date) -> IdNumber:
    """Parse and validate; raise `IdNumberError` whose `.part` and message say what is wrong.

    Parts are checked in order: length, characters, division (digits 1–6), birth date
    (digits 7–14: a real date, not before 1900, not after `today`), check character (18th).
    """
    number = normalize_id_number(text)
    if len(number) != LENGTH:
        raise _error(
            "length",
            f"身份证号码应为18位，现为{len(number)}位，请核对",
            f"An ID number has 18 characters, this one has {len(number)}, please re-check",
        )
    if not _SHAPE.fullmatch(number):
        raise _error(
            "characters",
            "身份证号码前17位应为数字，第18位为数字或X，请核对",
            "The first 17 characters must be digits and the 18th a digit or X, please re-check",
        )
    division = number[:6]
    if int(division[:2]) not in PROVINCES:
        raise _error(
            "division",
            f"第1–6位地址码不正确（没有代码为 {division[:2]} 的省份），请核对",
            f"The address code (characters 1–6) is wrong: no province has code {division[:2]}",
        )
    birth = _birth_date(number[6:14], today)
    return IdNumber(
        number=number,
        division=division,
        birth_date=birth,
        sequence=number[14:17],
        sex=Sex.MALE if int(number[16]) % 2 else Sex.FEMALE,
        check=_verified_check(number),
    )


def _birth_date(digits: str, today: date) -> date:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise _error(
            "birth_date",
            f"第7–14位出生日期 {digits} 不是有效日期，请核对",
            f"The birth date (characters 7–14) {digits} is not a real date, please re-check",
        ) from None
    if birth > today:
        raise _error(
            "birth_date",
            f"第7–14位出生日期 {birth.isoformat()} 晚于今天，请核对",
            f"The birth date (characters 7–14) {birth.isoformat()} is in the future, please re-check",
        )
    if birth < EARLIEST_BIRTH:
        raise _error(
            "birth_date",
            f"第7–14位出生日期 {birth.isoformat()} 早于1900年，请核对",
            f"The birth date (characters 7–14) {birth.isoformat()} is before 1900, please re-check",
        )
    return birth


def _verified_check(number: str) -> str:
    if check_char(number[:17]) != number[17]:
        raise _error(
            "check",
            "第18位校验码不正确，请核对",
            "The check character (18th) is wrong, please re-check",
        )
    return number[17]


def is_valid_id_number(text: str, *, today: date) -> bool:
    """True when `parse_id_number` accepts `text`."""
    try:
        parse_id_number(text, today=today)
    except IdNumberError:
        return False
    return True


def mask_id_number(text: str) -> str:
    """`330212********1234`: the first 6 and last 4 characters, the rest starred.

    Anything too short to mask that way is starred entirely, so masking never reveals a
    malformed number.
    """
    number = normalize_id_number(text)
    if len(number) < LENGTH:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def last4(text: str) -> str:
    """The last 4 characters (what a citizen types on the tracking page), `X` upper-cased."""
    return normalize_id_number(text)[-4:]


def owner_hash(text: str) -> str:
    """sha256 hex of the normalized number: the lookup key of a citizen's materials."""
    return hashlib.sha256(normalize_id_number(text).encode("utf-8")).hexdigest()


def make_id_number(division: str, birth: date, sequence: int) -> str:
    """A valid number from its parts (for demo data and tests); the check character is computed."""
    if not re.fullmatch(r"[0-9]{6}", division):
        raise ValueError(f"division must be 6 digits: {division!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0–999: {sequence}")
    first17 = f"{division}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
