"""Resident ID numbers: valid numbers, each kind of invalid one, masking and hashing."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import DomainError, IdNumberError
from shared.idnumber import (
    Sex,
    check_char,
    is_valid_id_number,
    last4,
    make_id_number,
    mask_id_number,
    owner_hash,
    parse_id_number,
)

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "division", "birth", "sequence", "sex", "check"),
    [
        # The worked example of GB 11643-1999 (check character X).
        ("11010519491231002X", "110105", date(1949, 12, 31), "002", Sex.FEMALE, "X"),
        ("11010519491231002x", "110105", date(1949, 12, 31), "002", Sex.FEMALE, "X"),
        (" 1101 0519 4912 3100 2X ", "110105", date(1949, 12, 31), "002", Sex.FEMALE, "X"),
        (make_id_number("330212", date(1990, 1, 1), 123), "330212", date(1990, 1, 1), "123", Sex.MALE, "2"),
        (
            make_id_number("330212", date(2000, 2, 29), 88),
            "330212",
            date(2000, 2, 29),
            "088",
            Sex.FEMALE,
            None,
        ),
        (make_id_number("650102", date(1900, 1, 1), 1), "650102", date(1900, 1, 1), "001", Sex.MALE, None),
        (make_id_number("820000", TODAY, 7), "820000", TODAY, "007", Sex.MALE, None),
    ],
)
def test_valid_numbers_parse_into_parts(
    text: str, division: str, birth: date, sequence: str, sex: Sex, check: str | None
) -> None:
    parsed = parse_id_number(text, today=TODAY)
    assert (parsed.division, parsed.birth_date, parsed.sequence, parsed.sex) == (
        division,
        birth,
        sequence,
        sex,
    )
    assert parsed.number == "".join(text.split()).upper()
    assert check is None or parsed.check == check
    assert is_valid_id_number(text, today=TODAY)


VALID = make_id_number("330212", date(1990, 1, 1), 123)  # 330212199001011232


@pytest.mark.parametrize(
    ("text", "part", "zh_fragment"),
    [
        ("", "length", "18位"),
        (VALID[:17], "length", "现为17位"),
        (VALID + "1", "length", "现为19位"),
        ("33021219900101123A", "characters", "第18位"),
        ("3302121990O1011232", "characters", "前17位"),
        ("X30212199001011232", "characters", "前17位"),
        (make_id_number("990212", date(1990, 1, 1), 123), "division", "第1–6位"),
        (make_id_number("000212", date(1990, 1, 1), 123), "division", "第1–6位"),
        ("330212199002301232", "birth_date", "不是有效日期"),
        ("330212199013011232", "birth_date", "不是有效日期"),
        ("330212190002291232", "birth_date", "不是有效日期"),  # 1900 was not a leap year
        (make_id_number("330212", date(2026, 11, 25), 123), "birth_date", "晚于今天"),
        (make_id_number("330212", date(1899, 12, 31), 123), "birth_date", "早于1900年"),
        (VALID[:17] + "3", "check", "第18位校验码不正确"),
        ("110105194912310021", "check", "第18位校验码不正确"),
        (VALID[:14] + "213" + VALID[17], "check", "第18位校验码不正确"),  # neighbours swapped
    ],
)
def test_invalid_numbers_say_which_part_is_wrong(text: str, part: str, zh_fragment: str) -> None:
    with pytest.raises(IdNumberError) as caught:
        parse_id_number(text, today=TODAY)
    error = caught.value
    assert error.part == part
    assert zh_fragment in error.message.zh
    assert error.message.en and str(error) == f"{error.message.zh} / {error.message.en}"
    assert isinstance(error, DomainError)
    assert not is_valid_id_number(text, today=TODAY)


def test_check_message_is_the_documented_one() -> None:
    with pytest.raises(IdNumberError) as caught:
        parse_id_number(VALID[:17] + "0", today=TODAY)
    assert (
        str(caught.value)
        == "第18位校验码不正确，请核对 / The check character (18th) is wrong, please re-check"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("330212199001011234", "330212********1234"),
        ("11010519491231002x", "110105********002X"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask_id_number(text) == masked


def test_last4_hash_and_properties_agree() -> None:
    parsed = parse_id_number("11010519491231002x", today=TODAY)
    assert last4("11010519491231002x") == parsed.last4 == "002X"
    expected = hashlib.sha256(b"11010519491231002X").hexdigest()
    assert owner_hash(" 11010519491231002x") == parsed.owner_hash == expected
    assert parsed.masked == "110105********002X"


def test_every_single_digit_change_is_caught() -> None:
    for position in range(17):
        for digit in "0123456789":
            if digit == VALID[position]:
                continue
            changed = VALID[:position] + digit + VALID[position + 1 :]
            assert check_char(changed[:17]) != changed[17]


def test_make_id_number_refuses_bad_parts() -> None:
    with pytest.raises(ValueError):
        make_id_number("33021", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_id_number("330212", date(1990, 1, 1), 1000)


def test_full_width_input_from_an_input_method_is_folded() -> None:
    assert parse_id_number("１１０１０５１９４９１２３１００２ｘ", today=TODAY).number == "11010519491231002X"


@settings(max_examples=60, derandomize=True)
@given(
    st.sampled_from(["110105", "330212", "440305", "650102", "820000"]),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)
def test_made_numbers_parse_back(division: str, birth: date, sequence: int) -> None:
    parsed = parse_id_number(make_id_number(division, birth, sequence), today=TODAY)
    assert (parsed.division, parsed.birth_date, int(parsed.sequence)) == (division, birth, sequence)
    assert parsed.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)
