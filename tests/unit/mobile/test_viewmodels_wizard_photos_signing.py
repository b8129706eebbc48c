"""Wizard (issue 17): a big photo from a file with its progress and refusals on the row, and
the signing alternatives — fingerprint photo (按手印) or a proxy (代签) with a valid ID number."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.receipt import ReceiptViewModel
from mobile.viewmodels.wizard import MaterialRow, Step, WizardViewModel
from shared.idnumber import make_id_number, mask_id_number
from tests.unit.mobile.factories import make_store, sample_items
from tests.unit.mobile.images import big_photo, jpeg_bytes, text_page
from tests.unit.mobile.test_viewmodels_wizard import STROKES, TODAY, fill_applicant, make_vm

PROXY_ID = make_id_number("330212", date(1979, 10, 2), 55)


def at_materials(tmp_path: Path) -> WizardViewModel:
    vm = make_vm(make_store(tmp_path))
    vm.choose_item("pension-enrol")
    vm.choose_situation("first")
    fill_applicant(vm)
    assert vm.next() and vm.step is Step.MATERIALS
    return vm


def at_signature(tmp_path: Path) -> WizardViewModel:
    vm = at_materials(tmp_path)
    assert vm.next() and vm.next() and vm.step is Step.SIGNATURE
    return vm


def row(vm: WizardViewModel, code: str) -> MaterialRow:
    return next(r for r in vm.material_rows() if r.requirement.code == code)


def test_a_big_photo_file_shows_progress_then_is_stored(tmp_path: Path) -> None:
    vm = at_materials(tmp_path)
    photo = tmp_path / "IMG_48MP.jpg"
    big_photo(photo, 8000, 6000, quality=40)
    vm.scan_arriving("id_card", 0.4)
    assert row(vm, "id_card").progress == 0.4 and vm.busy
    assert asyncio.run(vm.add_scan_async("id_card", photo))
    stored = row(vm, "id_card")
    assert stored.received and stored.progress is None and not vm.busy
    assert photo.exists()  # the caller's file: the view-model never deletes it


def test_a_refused_file_or_a_failed_upload_leaves_the_row_usable(tmp_path: Path) -> None:
    vm = at_materials(tmp_path)
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(5000))
    vm.scan_arriving("id_card", 1.0)
    assert not asyncio.run(vm.add_scan_async("id_card", pdf))
    refused = row(vm, "id_card")
    assert not refused.received and "不是图片" in refused.error and not vm.busy
    vm.scan_arriving("id_card", 0.3)
    vm.scan_failed("id_card", "照片上传中断，请重试 The photo stopped arriving: try again")
    assert "上传中断" in row(vm, "id_card").error and not vm.busy
    vm.scan_arriving("id_card", 0.1)  # a new try clears the old message
    assert row(vm, "id_card").error == "" and vm.busy
    vm.scan_cancelled("id_card")
    assert not vm.busy


def test_fingerprint_instead_of_a_signature(tmp_path: Path) -> None:
    vm = at_signature(tmp_path)
    vm.choose_signing(vm.signing.FINGERPRINT)
    assert not vm.next() and "手印" in vm.error
    assert not asyncio.run(vm.add_fingerprint(b"not a picture")) and "不是图片" in vm.error
    assert asyncio.run(vm.add_fingerprint(jpeg_bytes(text_page(800, 600))))
    assert vm.mark() is not None
    assert vm.next() and vm.step is Step.REVIEW
    assert "按手印" in dict(vm.summary())["签署 Signed"]
    assert vm.submit()
    assert vm.case is not None
    case = vm.book.get(vm.case["_id"])
    assert case["signing"] == {"method": "fingerprint"} and "fingerprint.jpg" in case["_attachments"]


def test_proxy_signs_with_name_and_valid_id_number(tmp_path: Path) -> None:
    vm = at_signature(tmp_path)
    vm.choose_signing(vm.signing.PROXY)
    assert not vm.next() and "代签人" in vm.error
    assert not vm.sign_by_proxy(STROKES, 400, 200, name="", id_number=PROXY_ID) and "姓名" in vm.error
    wrong = PROXY_ID[:17] + ("0" if PROXY_ID[17] != "0" else "1")
    assert not vm.sign_by_proxy(STROKES, 400, 200, name="李卫东", id_number=wrong)
    assert "代签人身份证号" in vm.error and "校验" in vm.error
    applicant = vm.applicant["id_number"]
    assert not vm.sign_by_proxy(STROKES, 400, 200, name="李卫东", id_number=applicant)
    assert "不能是申请人" in vm.error
    assert not vm.sign_by_proxy([], 400, 200, name="李卫东", id_number=PROXY_ID) and "签名" in vm.error
    assert vm.sign_by_proxy(STROKES, 400, 200, name=" 李卫东 ", id_number=PROXY_ID.lower(), relation="侄子")
    assert vm.next() and vm.step is Step.REVIEW
    shown = dict(vm.summary())["签署 Signed"]
    assert "代签" in shown and "李卫东" in shown and PROXY_ID not in shown and PROXY_ID[-4:] in shown
    assert vm.submit()
    assert vm.case is not None
    case = vm.book.get(vm.case["_id"])
    assert case["signing"] == {
        "method": "proxy",
        "proxy": {"name": "李卫东", "id_number": PROXY_ID, "relation": "侄子"},
    }
    assert "signature.png" in case["_attachments"]


def test_a_resumed_proxy_draft_keeps_the_drawn_signature(tmp_path: Path) -> None:
    vm = at_signature(tmp_path)
    vm.choose_signing(vm.signing.PROXY)
    assert vm.sign_by_proxy(STROKES, 400, 200, name="李卫东", id_number=PROXY_ID)
    again = make_vm(vm.book.store)
    assert vm.case is not None
    again.resume(vm.case["_id"])
    assert again.step is Step.REVIEW and again.proxy["name"] == "李卫东"
    again.back()
    assert again.sign_by_proxy([], 400, 200, name="李卫东", id_number=PROXY_ID)  # no new strokes


def test_switching_back_to_own_signature_needs_the_applicant_to_sign(tmp_path: Path) -> None:
    vm = at_signature(tmp_path)
    vm.choose_signing(vm.signing.FINGERPRINT)
    assert asyncio.run(vm.add_fingerprint(jpeg_bytes(text_page(800, 600))))
    vm.choose_signing(vm.signing.SIGNATURE)
    assert not vm.next() and "签名" in vm.error
    assert vm.sign(STROKES, 400, 200) and vm.next()


def test_the_receipt_and_the_case_detail_say_who_signed_with_the_id_masked(tmp_path: Path) -> None:
    vm = at_signature(tmp_path)
    vm.choose_signing(vm.signing.PROXY)
    assert vm.sign_by_proxy(STROKES, 400, 200, name="李卫东", id_number=PROXY_ID, relation="村委会")
    assert vm.next() and vm.submit()
    assert vm.case is not None
    case = vm.book.get(vm.case["_id"])
    receipt = ReceiptViewModel(
        case, sample_items(), server_url="http://t.example", agent="张代办", contact="138", folder=tmp_path
    )
    signed = receipt.data().signed
    assert signed.startswith("代签 Proxy signs") and "李卫东" in signed and "村委会" in signed
    assert PROXY_ID not in signed and mask_id_number(PROXY_ID) in signed
    assert receipt.image()[:8] == b"\x89PNG\r\n\x1a\n"
    detail = CaseDetailViewModel(
        vm.book, sample_items(), vm.t, today=lambda: TODAY, deadline_of=lambda d, n: d
    )
    detail.load(case["_id"])
    assert dict(detail.fields())["签署 Signed"] == signed


def test_a_receiver_who_cannot_sign_delivers_with_a_fingerprint_photo(tmp_path: Path) -> None:
    from mobile.viewmodels.delivery import RECEIVER_FINGERPRINT
    from tests.unit.mobile.factories import make_book, make_case
    from tests.unit.mobile.test_viewmodels_delivery_receipt import CODE, token_for
    from tests.unit.mobile.test_viewmodels_delivery_receipt import make_vm as delivery_vm

    book = make_book(make_store(tmp_path))
    case = make_case(book, status="result_ready", tracking_code=CODE)
    vm = delivery_vm(book)
    assert vm.verify(token_for(case)), vm.error
    assert not asyncio.run(vm.confirm_with_fingerprint(b"%PDF-1.4")) and "不是图片" in vm.error
    assert not vm.done and book.get(case["_id"])["status"] == "result_ready"
    assert asyncio.run(vm.confirm_with_fingerprint(jpeg_bytes(text_page(700, 500)), receiver="张三"))
    stored = book.get(case["_id"])
    assert stored["status"] == "delivered" and RECEIVER_FINGERPRINT in stored["_attachments"]
    event = book.events(case["_id"])[-1]
    assert event["data"]["signing"] == "fingerprint" and event["data"]["signature"] == RECEIVER_FINGERPRINT
