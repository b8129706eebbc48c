"""Delivery (送达) of a result: scan the result slip's QR, verify it offline with the
server's public key, show whose case it is, take the receiver's signature, record it.

The token check is `shared.delivery.verify_token` (signature, expiry, case, replay); the
server checks again when the delivery event arrives. Where the camera or the QR reader is
not available, the agent types the QR text (the fallback the issue asks for).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mobile.services.errors import QrError, ScanError, SignatureError
from mobile.services.i18n import Translator
from mobile.services.qr import QrReader, read_qr
from mobile.services.scan import ScanSource, process_scan
from mobile.services.signature import Stroke, render_signature
from mobile.store.errors import NotFound
from mobile.viewmodels.casebook import CaseBook
from shared.delivery import DeliveryToken, TokenError, read_token, token_from_url, verify_token
from shared.documents import EventKind
from shared.idnumber import mask_id_number

RECEIVER_SIGNATURE = "receiver-signature.png"
# A receiver who cannot sign presses a fingerprint on the slip or on paper (ADR 0120).
RECEIVER_FINGERPRINT = "receiver-fingerprint.jpg"


def load_public_key(text: str) -> Ed25519PublicKey | None:
    """The server key as cached from `/api/public-key`: PEM, or base64 of the 32 raw bytes."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode("ascii"))
        return key if isinstance(key, Ed25519PublicKey) else None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class Verified:
    """A token that passed, and the case it delivers."""

    token: str
    content: DeliveryToken
    case_id: str
    name: str
    id_masked: str
    item: str


class DeliveryViewModel:
    """One delivery at a time: verify → sign → record."""

    def __init__(
        self,
        book: CaseBook,
        t: Translator,
        *,
        public_key: Callable[[], str],
        now: Callable[[], datetime],
        item_name: Callable[[str], str],
        reader: QrReader | None = None,
    ) -> None:
        self.book = book
        self.t = t
        self.public_key = public_key
        self.now = now
        self.item_name = item_name
        self.reader = reader
        self.typed = ""
        self.verified: Verified | None = None
        self.error = ""
        self.done = False

    def scan(self, picture: bytes) -> bool:
        """A photo of the QR (camera or picked file)."""
        try:
            text = read_qr(picture, self.reader)
        except QrError as error:
            self.error = str(error)
            return False
        return self.verify(text)

    def verify(self, text: str | None = None) -> bool:
        """Checks the scanned or typed QR text offline."""
        self.error, self.verified, self.done = "", None, False
        raw = (text if text is not None else self.typed).strip()
        key = load_public_key(self.public_key())
        if key is None:
            self.error = self.t("no_public_key")
            return False
        try:
            token = token_from_url(raw)[1] if "/" in raw else raw
            case_id = read_token(token, key).case_id
            content = verify_token(token, key, now=self.now(), used_ids=self._used_ids(case_id))
            case = self.book.get(content.case_id)
        except TokenError as error:
            self.error = error.reason
            return False
        except NotFound:
            self.error = "本机没有这个办件，请先同步 This case is not on this phone: sync first"
            return False
        if case.get("status") != "result_ready":
            self.error = f"{self.t('status_' + str(case.get('status')))}: 不能送达 cannot be delivered"
            return False
        number = str(case.get("applicant", {}).get("id_number", ""))
        self.verified = Verified(
            token=token,
            content=content,
            case_id=content.case_id,
            name=str(case.get("applicant", {}).get("name", "")),
            id_masked=mask_id_number(number) if len(number) == 18 else number,
            item=self.item_name(str(case.get("item_code", ""))),
        )
        return True

    def confirm(self, strokes: Sequence[Stroke], width: int, height: int, receiver: str = "") -> bool:
        """Receiver's signature, then the case becomes delivered with a `delivered` event."""
        if self.verified is None:
            return False
        try:
            png = render_signature(strokes, width, height)
        except SignatureError as error:
            self.error = str(error)
            return False
        self._deliver(RECEIVER_SIGNATURE, png, "image/png", receiver, "signature")
        return True

    async def confirm_with_fingerprint(self, source: ScanSource, receiver: str = "") -> bool:
        """The receiver cannot sign: a photo of their fingerprint (按手印) instead."""
        if self.verified is None:
            return False
        try:
            scan = await asyncio.to_thread(process_scan, source)
        except ScanError as error:
            self.error = str(error)
            return False
        self._deliver(RECEIVER_FINGERPRINT, scan.jpeg, "image/jpeg", receiver, "fingerprint")
        return True

    def _deliver(self, name: str, data: bytes, content_type: str, receiver: str, method: str) -> None:
        assert self.verified is not None
        case = self.book.get(self.verified.case_id)
        rev = self.book.store.put_attachment(case["_id"], case["_rev"], name, data, content_type)["rev"]
        case = self.book.get(case["_id"])
        assert case["_rev"] == rev
        case = self.book.save(case, {**case, "status": "delivered"})
        self.book.add_event(
            case,
            EventKind.DELIVERED,
            {
                "from": "result_ready",
                "to": "delivered",
                "token": self.verified.token,
                "token_id": self.verified.content.token_id,
                "receiver": receiver.strip(),
                "signature": name,
                "signing": method,
            },
        )
        self.done = True
        self.error = ""

    def _used_ids(self, case_id: str) -> set[str]:
        # Tokens of this case already used on this phone (the server keeps the full list).
        return {
            str(event["data"]["token_id"])
            for event in self.book.events(case_id)
            if event.get("kind") == EventKind.DELIVERED and event.get("data", {}).get("token_id")
        }
