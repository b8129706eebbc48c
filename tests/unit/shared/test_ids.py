"""Document ids and tracking codes (typos caught before any look-up)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ulid import ULID

from shared.errors import IdentifierError, TrackingCodeError
from shared.ids import (
    ALPHABET,
    Kind,
    ParsedId,
    case_id,
    event_id,
    is_id_of,
    is_valid_tracking_code,
    material_id,
    new_id,
    new_tracking_code,
    normalize_tracking_code,
    parse_id,
    review_id,
)

U1 = "01JD0000000000000000000001"
U2 = "01JD0000000000000000000002"


@pytest.mark.parametrize(
    ("made", "expected", "kind", "parts"),
    [
        (case_id(U1), f"case:{U1}", Kind.CASE, (U1,)),
        (case_id(ULID.from_str(U1)), f"case:{U1}", Kind.CASE, (U1,)),
        (event_id(U1, U2), f"event:{U1}:{U2}", Kind.EVENT, (U1, U2)),
        (event_id(f"case:{U1}", U2), f"event:{U1}:{U2}", Kind.EVENT, (U1, U2)),
        (material_id(U2), f"material:{U2}", Kind.MATERIAL, (U2,)),
        (review_id(U1), f"review:{U1}", Kind.REVIEW, (U1,)),
        (review_id(f"case:{U1}"), f"review:{U1}", Kind.REVIEW, (U1,)),
        (new_id("event", U1, U2), f"event:{U1}:{U2}", Kind.EVENT, (U1, U2)),
    ],
)
def test_ids_are_made_and_parsed(made: str, expected: str, kind: Kind, parts: tuple[str, ...]) -> None:
    assert made == expected
    assert parse_id(made) == ParsedId(kind, parts)
    assert is_id_of(made, kind)


def test_case_ulid_of_related_ids() -> None:
    assert parse_id(event_id(U1, U2)).case_ulid == U1
    assert parse_id(review_id(U1)).case_ulid == U1
    assert parse_id(material_id(U1)).case_ulid is None


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "case",
        "case:",
        f"case:{U1.lower()}",
        f"case:{U1}:{U2}",
        f"event:{U1}",
        f"thing:{U1}",
        f"case:8{U1[1:]}",  # a ULID above 2^128
        f"case:{U1[:-1]}U",  # U is not in Crockford's alphabet
        f"_design:{U1}",
    ],
)
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError):
        parse_id(bad)
    assert not is_id_of(bad, Kind.CASE)


@pytest.mark.parametrize(
    ("kind", "ulids"), [("case", (U1, U2)), ("event", (U1,)), ("nope", (U1,)), ("case", ("not-a-ulid",))]
)
def test_new_id_refuses_wrong_parts(kind: str, ulids: tuple[str, ...]) -> None:
    with pytest.raises(IdentifierError):
        new_id(kind, *ulids)


def test_tracking_code_shape() -> None:
    code = new_tracking_code(bytes(range(7)))
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert all(c in ALPHABET for c in code.replace("-", ""))
    assert normalize_tracking_code(code) == code
    with pytest.raises(ValueError):
        new_tracking_code(b"123456")


def test_tracking_code_uses_55_random_bits() -> None:
    # Bits beyond the 55th do not matter; each of the 55 does.
    base = bytes(7)
    assert (
        new_tracking_code(base)
        == new_tracking_code(b"\x00" * 6 + b"\x01")
        == new_tracking_code(base + b"\xff")
    )
    codes = {new_tracking_code((1 << (55 - bit)).to_bytes(7, "big")) for bit in range(55)}
    assert len(codes) == 55


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("lower", "case"),
        ("spaces", "spaces"),
        ("nohyphen", "no hyphens"),
    ],
)
def test_normalize_forgives_case_spaces_and_hyphens(typed: str, meaning: str) -> None:
    code = new_tracking_code(b"\x12\x34\x56\x78\x9a\xbc\xde")
    variants = {
        "lower": code.lower(),
        "spaces": " " + code.replace("-", " ") + " ",
        "nohyphen": code.replace("-", ""),
    }
    assert normalize_tracking_code(variants[typed]) == code, meaning


def test_normalize_reads_o_as_zero_and_i_l_as_one() -> None:
    code = next(c for c in (new_tracking_code(bytes([n] * 7)) for n in range(256)) if "0" in c and "1" in c)
    typed = code.replace("0", "o").replace("1", "l", 1).replace("1", "I")
    assert normalize_tracking_code(typed) == code


@pytest.mark.parametrize(
    ("typed", "part"),
    [
        ("", "length"),
        ("K7QM-9XRT-2HN", "length"),
        ("K7QM-9XRT-2HNCC", "length"),
        ("K7QM-9XRT-2HNU", "characters"),
        ("K7QM-9XRT-2HN*", "characters"),
    ],
)
def test_malformed_codes_are_refused(typed: str, part: str) -> None:
    with pytest.raises(TrackingCodeError) as caught:
        normalize_tracking_code(typed)
    assert caught.value.part == part
    assert "查询码" in caught.value.message.zh and caught.value.message.en
    assert not is_valid_tracking_code(typed)


codes = st.binary(min_size=7, max_size=7).map(new_tracking_code)


@settings(max_examples=60, derandomize=True)
@given(codes, st.integers(0, 11), st.sampled_from(ALPHABET))
def test_every_single_symbol_typo_is_caught(code: str, position: int, symbol: str) -> None:
    compact = code.replace("-", "")
    if compact[position] == symbol:
        return
    typo = compact[:position] + symbol + compact[position + 1 :]
    with pytest.raises(TrackingCodeError) as caught:
        normalize_tracking_code(typo)
    assert caught.value.part == "check"


@settings(max_examples=60, derandomize=True)
@given(codes, st.integers(0, 10))
def test_every_adjacent_transposition_is_caught(code: str, position: int) -> None:
    compact = code.replace("-", "")
    a, b = compact[position], compact[position + 1]
    if a == b:
        return
    swapped = compact[:position] + b + a + compact[position + 2 :]
    assert not is_valid_tracking_code(swapped)


def test_all_single_typos_and_swaps_exhaustively_for_one_code() -> None:
    compact = new_tracking_code(b"\xa5\x5a\xc3\x3c\x0f\xf0\x99").replace("-", "")
    for position in range(12):
        for symbol in ALPHABET:
            if symbol != compact[position]:
                assert not is_valid_tracking_code(compact[:position] + symbol + compact[position + 1 :])
    for position in range(11):
        a, b = compact[position], compact[position + 1]
        if a != b:
            assert not is_valid_tracking_code(compact[:position] + b + a + compact[position + 2 :])


def test_full_width_tracking_code_is_folded() -> None:
    code = new_tracking_code(b"\x12\x34\x56\x78\x9a\xbc\xde")
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != "-" else "－" for c in code)
    assert normalize_tracking_code(full_width) == code
