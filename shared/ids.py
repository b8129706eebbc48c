"""Document ids (文档标识) and citizens' tracking codes (查询码).

Ids are `<type>:<ULID>` so they sort by creation time and say what they are:

    case:<ULID>                 办件
    event:<case ULID>:<ULID>    one audit event of that case (全程留痕)
    material:<ULID>             a citizen's reusable material (材料库)
    review:<case ULID>          the conflict review of that case, at most one per case

The caller makes the ULID (it holds the clock and the random source); this module only
formats and checks. ULIDs are written in canonical upper case.

Tracking codes are what a citizen types into the tracking page: 11 random Crockford
base32 symbols (55 bits, from caller-provided bytes) and one check symbol, read in
groups of four: `K7QM-9XRT-2HNC`. The check symbol is a weighted sum over GF(32)
(one Reed–Solomon parity symbol): symbol i is multiplied by α^(12-i), α a primitive
element, and the sum of all twelve weighted symbols is zero. Distinct non-zero weights
catch every single wrong symbol; α^k ≠ α^(k+1) catches every swap of two different
neighbours (and every jump transposition within the code). So a mistyped code is
refused before any look-up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NewType

from ulid import ULID

from shared.errors import IdentifierError, TrackingCodeError
from shared.text import Message

DocId = NewType("DocId", str)


class Kind(StrEnum):
    """The document types whose ids this module makes."""

    CASE = "case"
    EVENT = "event"
    MATERIAL = "material"
    REVIEW = "review"


# How many ULIDs follow the type prefix of each kind.
_PARTS: Final[dict[Kind, int]] = {Kind.CASE: 1, Kind.EVENT: 2, Kind.MATERIAL: 1, Kind.REVIEW: 1}

# Canonical ULID text: 26 Crockford symbols; the first is 0–7 because a ULID is 128 bits.
_ULID_RE: Final = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


@dataclass(frozen=True)
class ParsedId:
    """An id split into its type and its ULID parts."""

    kind: Kind
    parts: tuple[str, ...]

    @property
    def case_ulid(self) -> str | None:
        """The case ULID an id belongs to (cases, events, reviews), else None."""
        return self.parts[0] if self.kind in (Kind.CASE, Kind.EVENT, Kind.REVIEW) else None


def _ulid_text(value: ULID | str) -> str:
    text = str(value)
    if not _ULID_RE.fullmatch(text):
        raise IdentifierError(Message(f"不是有效的 ULID：{text!r}", f"Not a valid ULID: {text!r}"))
    return text


def new_id(kind: Kind | str, *ulids: ULID | str) -> DocId:
    """Format an id of `kind` from its ULID parts (`new_id("event", case_ulid, ulid)`)."""
    try:
        k = Kind(kind)
    except ValueError:
        raise IdentifierError(
            Message(f"未知的文档类型：{kind!r}", f"Unknown document type: {kind!r}")
        ) from None
    if len(ulids) != _PARTS[k]:
        raise IdentifierError(
            Message(
                f"{k} 标识需要 {_PARTS[k]} 个 ULID", f"A {k} id needs {_PARTS[k]} ULID(s), got {len(ulids)}"
            )
        )
    return DocId(":".join([k.value, *(_ulid_text(u) for u in ulids)]))


def case_id(ulid: ULID | str) -> DocId:
    """`case:<ULID>`."""
    return new_id(Kind.CASE, ulid)


def event_id(case: ULID | str, ulid: ULID | str) -> DocId:
    """`event:<case ULID>:<ULID>`; `case` may be the case's ULID or its id."""
    return new_id(Kind.EVENT, _case_part(case), ulid)


def material_id(ulid: ULID | str) -> DocId:
    """`material:<ULID>`."""
    return new_id(Kind.MATERIAL, ulid)


def review_id(case: ULID | str) -> DocId:
    """`review:<case ULID>`; `case` may be the case's ULID or its id."""
    return new_id(Kind.REVIEW, _case_part(case))


def _case_part(case: ULID | str) -> str:
    text = str(case)
    if text.startswith("case:"):
        return parse_id(text).parts[0]
    return text


def parse_id(doc_id: str) -> ParsedId:
    """Split and check an id; raise `IdentifierError` when it is not one of ours."""
    head, _, rest = doc_id.partition(":")
    try:
        kind = Kind(head)
    except ValueError:
        raise IdentifierError(
            Message(f"未知的文档标识：{doc_id!r}", f"Unknown document id: {doc_id!r}")
        ) from None
    parts = tuple(rest.split(":")) if rest else ()
    if len(parts) != _PARTS[kind] or not all(_ULID_RE.fullmatch(p) for p in parts):
        raise IdentifierError(Message(f"文档标识格式不正确：{doc_id!r}", f"Malformed {kind} id: {doc_id!r}"))
    return ParsedId(kind, parts)


def is_id_of(doc_id: str, kind: Kind | str) -> bool:
    """True when `doc_id` is a well-formed id of `kind`."""
    try:
        return parse_id(doc_id).kind == Kind(kind)
    except (IdentifierError, ValueError):
        return False


# --- tracking codes -------------------------------------------------------------------

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
DATA_SYMBOLS: Final = 11  # 11 × 5 = 55 random bits (≥ 50 asked for, docs/design.md §Tracking codes)
CODE_SYMBOLS: Final = DATA_SYMBOLS + 1
RANDOM_BYTES: Final = 7  # 56 bits: enough for the 55 we use
_GROUP: Final = 4
# Misreadings Crockford base32 folds onto the symbol meant.
_FOLD: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
# GF(32) with the primitive polynomial x^5 + x^2 + 1; α = x = 2 generates all 31 non-zero elements.
_POLY: Final = 0b100101


def _gf_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return product


def _gf_pow_alpha(k: int) -> int:
    result = 1
    for _ in range(k % 31):
        result = _gf_mul(result, 2)
    return result


# Weight of position i (0-based) of a full code: α^(CODE_SYMBOLS - 1 - i); the check symbol gets α^0 = 1.
_WEIGHTS: Final = tuple(_gf_pow_alpha(CODE_SYMBOLS - 1 - i) for i in range(CODE_SYMBOLS))


# Each position's weight times every symbol value, precomputed: the check of a code is 12 look-ups
# instead of 12 bit-by-bit multiplications (the gateway checks the code of every case it judges).
_WEIGHTED: Final = tuple(tuple(_gf_mul(weight, value) for value in range(32)) for weight in _WEIGHTS)


def _weighted_sum(values: list[int]) -> int:
    total = 0
    for row, value in zip(_WEIGHTED, values, strict=False):
        total ^= row[value]
    return total


def check_symbol(data: str) -> str:
    """The check symbol for 11 data symbols (already normalized)."""
    # With the check weight 1, the check value equals the weighted sum of the data (in GF(2^k), x + x = 0).
    return ALPHABET[_weighted_sum([_VALUE[c] for c in data])]


def _group(code: str) -> str:
    return "-".join(code[i : i + _GROUP] for i in range(0, len(code), _GROUP))


def new_tracking_code(random_bytes: bytes) -> str:
    """A tracking code from at least 7 caller-provided random bytes, e.g. `K7QM-9XRT-2HNC`."""
    if len(random_bytes) < RANDOM_BYTES:
        raise ValueError(f"need at least {RANDOM_BYTES} random bytes, got {len(random_bytes)}")
    bits = int.from_bytes(random_bytes[:RANDOM_BYTES], "big") >> (RANDOM_BYTES * 8 - DATA_SYMBOLS * 5)
    data = "".join(ALPHABET[(bits >> (5 * (DATA_SYMBOLS - 1 - i))) & 31] for i in range(DATA_SYMBOLS))
    return _group(data + check_symbol(data))


def normalize_tracking_code(text: str) -> str:
    """The canonical `XXXX-XXXX-XXXX` form of what a citizen typed, check symbol verified.

    Case, spaces and hyphens are ignored; O reads as 0, I and L as 1. Raises
    `TrackingCodeError` (part "length", "characters" or "check").
    """
    folded = unicodedata.normalize("NFKC", text)  # full-width letters and digits from an IME
    compact = "".join(folded.split()).replace("-", "").upper().translate(_FOLD)
    if len(compact) != CODE_SYMBOLS:
        raise TrackingCodeError(
            "length",
            Message(
                f"查询码应为 {CODE_SYMBOLS} 位（现为 {len(compact)} 位），请核对",
                f"A tracking code has {CODE_SYMBOLS} characters (not {len(compact)}), please re-check",
            ),
        )
    bad = sorted({c for c in compact if c not in _VALUE})
    if bad:
        shown = "".join(bad)
        raise TrackingCodeError(
            "characters",
            Message(
                f"查询码含有无效字符：{shown}，请核对",
                f"The tracking code contains invalid characters: {shown}",
            ),
        )
    if _weighted_sum([_VALUE[c] for c in compact]) != 0:
        raise TrackingCodeError(
            "check",
            Message(
                "查询码有误（校验不通过），请逐位核对",
                "The tracking code is mistyped (check failed), please re-check",
            ),
        )
    return _group(compact)


def is_valid_tracking_code(text: str) -> bool:
    """True when `text` normalizes to a tracking code whose check symbol is right."""
    try:
        normalize_tracking_code(text)
    except TrackingCodeError:
        return False
    return True
