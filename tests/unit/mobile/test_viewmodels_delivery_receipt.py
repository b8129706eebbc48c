"""Delivery (QR verify offline → receiver signature → delivered) and the receipt view-model."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image

from mobile.services.i18n import Translator
from mobile.services.qr import qr_png, read_qr
from mobile.viewmodels.casebook import CaseBook
from mobile.viewmodels.delivery import DeliveryViewModel
from mobile.viewmodels.receipt import ReceiptViewModel
from shared.delivery import delivery_url, issue_token
from shared.ids import new_tracking_code
from tests.unit.mobile.factories import make_book, make_case, make_store, sample_items

T = Translator("zh")
CODE = new_tracking_code(bytes(range(7)))
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
STROKES = [[(40.0 + i * 10, 80.0) for i in range(20)], [(140.0, 30.0 + i * 8) for i in range(15)]]
KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def token_for(case: dict[str, Any], now: datetime = NOW, token_id: bytes = b"\x01" * 8) -> str:
    return issue_token(KEY, case_id=case["_id"], tracking_code=CODE, now=now, token_id=token_id)


def make_vm(book: CaseBook, key: str = PUBLIC) -> DeliveryViewModel:
    return DeliveryViewModel(
        book, T, public_key=lambda: key, now=lambda: NOW, item_name=lambda c: f"item {c}"
    )


def test_scan_verify_sign_and_record(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(book, status="result_ready", tracking_code=CODE)
    url = delivery_url("http://127.0.0.1:8000", CODE, token_for(case))
    vm = make_vm(book)
    assert vm.scan(qr_png(url)), vm.error
    assert vm.verified is not None and vm.verified.name == "张三" and "********" in vm.verified.id_masked
    assert not vm.confirm([[(1.0, 1.0)]], 400, 200) and "签名" in vm.error
    assert vm.confirm(STROKES, 400, 200, receiver="张三")
    stored = store.get(case["_id"])
    assert stored["status"] == "delivered" and "receiver-signature.png" in stored["_attachments"]
    event = book.events(case["_id"])[-1]
    assert event["kind"] == "delivered" and event["data"]["token_id"] == "01" * 8
    # The same QR again: refused as used.
    again = make_vm(book)
    assert not again.verify(url)


def test_forged_expired_and_typed_tokens(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(book, status="result_ready")
    other = Ed25519PrivateKey.generate()
    forged = issue_token(other, case_id=case["_id"], tracking_code="X", now=NOW, token_id=b"\x02" * 8)
    vm = make_vm(book)
    assert (not vm.verify(forged) and "无效" in vm.error) or "不是" in vm.error
    expired = token_for(case, now=NOW - timedelta(days=60))
    assert not vm.verify(expired) and "expired" in vm.error.lower()
    vm.typed = " " + token_for(case) + " "
    assert vm.verify()
    assert not vm.scan(qr_png("hello")) and vm.verified is None


def test_no_cached_key_and_wrong_status_explain(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(book, status="accepted")
    assert not make_vm(book, key="").verify(token_for(case))
    vm = make_vm(book)
    assert not vm.verify(token_for(case)) and "不能送达" in vm.error


def test_receipt_holds_code_qr_and_one_time_list(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(
        book,
        status="submitted",
        situation="first",
        tracking_code=CODE,
        missing=["bank_card"],
        materials=[{"requirement": "id_card", "material_id": "m", "source": "captured"}],
    )
    vm = ReceiptViewModel(
        case,
        sample_items(),
        server_url="http://127.0.0.1:8000/",
        agent="李代办",
        contact="0574-1",
        folder=tmp_path / "receipts",
    )
    assert vm.tracking_url == f"http://127.0.0.1:8000/t/{CODE}"
    assert read_qr(vm.qr()) == vm.tracking_url
    data = vm.data()
    assert data.missing == ("银行卡 Bank card",) and data.received == ("居民身份证 Resident ID card",)
    assert data.time_limit_days == 3 and "********" in data.applicant_masked
    path = vm.save()
    assert path.name == f"receipt-{CODE}.png"
    assert Image.open(io.BytesIO(path.read_bytes())).width == 1080


@pytest.mark.usefixtures("device_in_california")
def test_receipt_is_dated_in_beijing_time(tmp_path: Path) -> None:
    book = make_book(make_store(tmp_path))
    case = make_case(book, status="submitted", tracking_code=CODE, submitted_at="2026-12-02T16:28:00Z")
    vm = ReceiptViewModel(
        case,
        sample_items(),
        server_url="http://x",
        agent="李代办",
        contact="0574-1",
        folder=tmp_path / "receipts",
    )
    assert vm.data().issued_at == "2026-12-03 00:28"


def test_receipt_gives_the_expected_due_date_then_the_real_one(tmp_path: Path) -> None:
    book = make_book(make_store(tmp_path))
    case = make_case(book, status="submitted", situation="first", tracking_code=CODE,
                     submitted_at="2026-12-02T16:28:00Z")  # 12-03 00:28 in Beijing
    calls: list[tuple[date, int]] = []

    def deadline_of(start: date, days: int) -> date:
        calls.append((start, days))
        return start + timedelta(days=days)

    def receipt(case: dict[str, object]) -> ReceiptViewModel:
        return ReceiptViewModel(case, sample_items(), server_url="http://x", agent="李代办",
                                contact="0574-1", folder=tmp_path / "receipts", deadline_of=deadline_of)

    data = receipt(case).data()
    assert calls == [(date(2026, 12, 3), 3)]  # counted from the Beijing day, with the item's limit
    assert data.due_date == "2026-12-06" and data.due_estimated
    accepted = receipt({**case, "status": "accepted", "deadline": "2026-12-09"}).data()
    assert accepted.due_date == "2026-12-09" and not accepted.due_estimated
    assert "http://x/t/" in receipt(case).tracking_url
