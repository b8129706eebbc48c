"""Delivery tokens (送达凭证): the signed QR code printed on a result slip.

When a result is ready the server signs a short token with its Ed25519 key; the slip
carries it as a QR code whose text is the URL `/t/{code}?d=<token>`. The agent's app
verifies it offline with the public key from `/api/public-key`; the server verifies it
again before it records the delivery, and remembers used token ids so a token records
one delivery at most.

Token layout (big-endian, 97 bytes + the tracking code), then RFC 4648 base32 without
padding, upper case — the QR alphanumeric mode stores base32 at 5.5 bits a character,
cheaper than base64url in byte mode (8 bits a character):

    offset  size  field
    0       1     version (1)
    1       4     key id: first 4 bytes of SHA-256 of the raw public key
    5       16    case ULID (the `case:` prefix is implied)
    21      8     token id (random, chosen by the caller)
    29      4     expiry, seconds since the Unix epoch (unsigned: good until 2106)
    33      1     length n of the tracking code
    34      n     tracking code, ASCII
    34+n    64    Ed25519 signature over DOMAIN + bytes 0…34+n

The signature covers a domain prefix, so a token signature can never be mistaken for a
signature over anything else the same key signs (JWTs).

    TokenError            any refused token; `code`, `reason_zh`, `reason_en`
    ├── TokenMalformed    not a token at all (bad characters, length, version)
    ├── TokenForged       signed by a key that is not ours
    ├── TokenAltered      our key id, but the signature does not match: content changed
    ├── TokenExpired      past its expiry
    ├── TokenWrongCase    valid, but for another case
    └── TokenUsed         valid, but already recorded a delivery
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ulid import ULID

VERSION = 1
DOMAIN = b"onetrip-delivery-token-v1\x00"
TOKEN_ID_BYTES = 8  # 64 random bits: collisions are out of reach for the life of a county
KEY_ID_BYTES = 4  # tells "someone else's key" from "our key, changed content"; not a secret
SIGNATURE_BYTES = 64
MAX_CODE_BYTES = 32
DEFAULT_TTL = timedelta(days=30)  # a result can wait a few weeks for the agent's next round
_HEADER = struct.Struct(">B4s16s8sIB")
CASE_PREFIX = "case:"


class TokenError(Exception):
    """A delivery token that must be refused; carries a bilingual reason."""

    code = "token_invalid"
    reason_zh = "送达二维码无效。"
    reason_en = "The delivery QR code is not valid."

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.code}: {self.reason_en}" + (f" ({detail})" if detail else ""))
        self.detail = detail

    @property
    def reason(self) -> str:
        """Both languages, Chinese first, as shown to people."""
        return f"{self.reason_zh} {self.reason_en}"


class TokenMalformed(TokenError):
    """Not a delivery token at all."""

    code = "token_malformed"
    reason_zh = "无法识别的二维码，请重新扫描结果单上的二维码。"
    reason_en = "This is not a delivery QR code. Scan the QR code on the result slip again."


class TokenForged(TokenError):
    """Signed by a key that is not the server's."""

    code = "token_forged"
    reason_zh = "二维码不是本系统签发的（伪造），请勿送达，并联系乡镇便民服务中心。"
    reason_en = "This QR code was not issued by OneTrip (forged). Do not hand over; call the township centre."


class TokenAltered(TokenError):
    """Our key id, but the content no longer matches the signature."""

    code = "token_altered"
    reason_zh = "二维码内容已被篡改，请勿送达，并联系乡镇便民服务中心。"
    reason_en = "This QR code has been altered. Do not hand over; call the township centre."


class TokenExpired(TokenError):
    """Past its expiry."""

    code = "token_expired"
    reason_zh = "二维码已过期，请到乡镇便民服务中心重新打印结果单。"
    reason_en = "This QR code has expired. Ask the township centre to print the result slip again."


class TokenWrongCase(TokenError):
    """Valid, but for a different case than the one being delivered."""

    code = "token_wrong_case"
    reason_zh = "二维码与本办件不符，请核对结果单是否属于本人。"
    reason_en = "This QR code belongs to another case. Check that the slip is this person's."


class TokenUsed(TokenError):
    """Valid, but it has already recorded a delivery."""

    code = "token_used"
    reason_zh = "该二维码已使用过，本办件已确认送达。"
    reason_en = "This QR code has already been used; the delivery is already recorded."


@dataclass(frozen=True)
class DeliveryToken:
    """The verified content of a delivery token."""

    case_id: str  # "case:<ULID>"
    tracking_code: str
    token_id: str  # hex of the 8 random bytes
    expires_at: datetime  # UTC, whole seconds
    key_id: str  # hex


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """First bytes of SHA-256 of the raw public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES]


def issue_token(private_key: Ed25519PrivateKey, *, case_id: str, tracking_code: str, now: datetime,
                token_id: bytes, ttl: timedelta = DEFAULT_TTL) -> str:
    """Sign a token for `case_id`; `token_id` is `TOKEN_ID_BYTES` random bytes from the caller."""
    if len(token_id) != TOKEN_ID_BYTES:
        raise ValueError(f"token_id must be {TOKEN_ID_BYTES} bytes")
    code = tracking_code.encode("ascii")
    if not 0 < len(code) <= MAX_CODE_BYTES:
        raise ValueError("tracking code must be 1–32 ASCII characters")
    expiry = int((_utc(now) + ttl).timestamp())
    body = _HEADER.pack(VERSION, key_id(private_key.public_key()), _case_ulid(case_id).bytes, token_id,
                        expiry, len(code)) + code
    signature = private_key.sign(DOMAIN + body)
    return base64.b32encode(body + signature).decode("ascii").rstrip("=")


def read_token(token: str, public_key: Ed25519PublicKey) -> DeliveryToken:
    """Decode and check the signature only (no expiry, case or use checks)."""
    raw = _decode(token)
    version, kid, case_bytes, tid, expiry, code_len = _HEADER.unpack_from(raw)
    if version != VERSION:
        raise TokenMalformed(f"version {version}")
    if len(raw) != _HEADER.size + code_len + SIGNATURE_BYTES:
        raise TokenMalformed("length")
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    if kid != key_id(public_key):
        raise TokenForged("unknown key")
    try:
        public_key.verify(signature, DOMAIN + body)
    except InvalidSignature:
        raise TokenAltered("signature") from None
    try:
        code = body[_HEADER.size:].decode("ascii")
    except UnicodeDecodeError:
        raise TokenAltered("code") from None
    return DeliveryToken(
        case_id=CASE_PREFIX + str(ULID.from_bytes(case_bytes)),
        tracking_code=code,
        token_id=tid.hex(),
        expires_at=datetime.fromtimestamp(expiry, UTC),
        key_id=kid.hex(),
    )


def verify_token(token: str, public_key: Ed25519PublicKey, *, now: datetime, expected_case: str | None = None,
                 used_ids: Collection[str] = ()) -> DeliveryToken:
    """The token's content when it may record a delivery now; else a `TokenError` subclass.

    `expected_case` is the case id (`case:<ULID>`) or tracking code being delivered;
    `used_ids` holds the hex token ids that already recorded a delivery.
    """
    content = read_token(token, public_key)
    if _utc(now) >= content.expires_at:
        raise TokenExpired(content.expires_at.isoformat())
    if expected_case is not None and expected_case not in (content.case_id, content.tracking_code):
        raise TokenWrongCase()
    if content.token_id in used_ids:
        raise TokenUsed()
    return content


def delivery_url(base_url: str, tracking_code: str, token: str) -> str:
    """The text of the QR code: the tracking page carrying the token."""
    return f"{base_url.rstrip('/')}/t/{quote(tracking_code, safe='')}?d={token}"


def token_from_url(text: str) -> tuple[str, str]:
    """(tracking code, token) from a scanned QR text; `TokenMalformed` when it is not one of ours."""
    parts = urlsplit(text.strip())
    segments = parts.path.rstrip("/").split("/")
    tokens = parse_qs(parts.query).get("d", [])
    if len(segments) < 2 or segments[-2] != "t" or not segments[-1] or len(tokens) != 1:
        raise TokenMalformed("not a delivery URL")
    return segments[-1], tokens[0]


def _decode(token: str) -> bytes:
    text = token.strip().upper()
    if not text or len(text) > 200:
        raise TokenMalformed("length")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise TokenMalformed("characters") from None
    if len(raw) < _HEADER.size + 1 + SIGNATURE_BYTES:
        raise TokenMalformed("length")
    return raw


def _case_ulid(case_id: str) -> ULID:
    text = case_id.removeprefix(CASE_PREFIX)
    try:
        return ULID.from_str(text)
    except ValueError:
        raise ValueError(f"not a case id: {case_id!r}") from None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(UTC)
