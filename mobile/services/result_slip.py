"""Result slip (结果领取单) as a picture and a PDF: what township staff print for the delivery.

The slip carries the QR code of a signed delivery token (ADR 0070): the village agent scans
it at the citizen's door, or the citizen opens it and confirms receipt. The PDF is one A4-ish
page that any browser or phone prints; the PNG is the same page for a chat or the screen.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from mobile.services.receipt import render_page


@dataclass(frozen=True)
class SlipData:
    """Everything printed on a result slip; texts are already bilingual."""

    tracking_code: str
    delivery_url: str
    item_name: str
    applicant_masked: str
    village: str
    status: str
    expires_at: str
    issued_at: str
    issued_by: str
    title: str = "结果领取单 Result slip"


def slip_lines(data: SlipData) -> list[tuple[str, bool]]:
    return [
        (f"事项 Item: {data.item_name}", True),
        (f"申请人 Applicant: {data.applicant_masked}", False),
        (f"村 Village: {data.village}", False),
        (f"状态 Status: {data.status}", False),
        ("送达时扫描上方二维码确认收到 At delivery, scan the QR code above to confirm receipt", True),
        (f"二维码有效期至 QR valid until: {data.expires_at}", False),
        (f"出具 Issued: {data.issued_at} · {data.issued_by}", False),
    ]


def render_slip(data: SlipData) -> Image.Image:
    return render_page(data.title, data.tracking_code, data.delivery_url, slip_lines(data), qr_box=10)


def slip_png(data: SlipData) -> bytes:
    out = io.BytesIO()
    render_slip(data).save(out, "PNG", optimize=True)
    return out.getvalue()


def slip_pdf(data: SlipData) -> bytes:
    """One page, 1080 px at 130 dpi (about 21 cm wide): prints on A4 from any browser."""
    out = io.BytesIO()
    render_slip(data).save(out, "PDF", resolution=130.0)
    return out.getvalue()
