"""Result slip (结果领取单): township staff issue the signed delivery QR of a finished case.

For a case whose status is `result_ready` the server signs a delivery token
(`POST /api/delivery/{code}/token`, staff of the village only; ADR 0070). The slip shows the
QR of its URL with the case summary and the tracking code, and is saved as a PDF to print
(or a PNG to share). Issuing needs the network; each issue is a new token (the old ones stay
valid until they expire or one of them is used: the case is delivered once).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from mobile.services.i18n import Translator
from mobile.services.qr import qr_png
from mobile.services.result_slip import SlipData, slip_pdf, slip_png
from mobile.services.staff_api import StaffApi, StaffApiError
from mobile.viewmodels.china_time import show_time
from shared.idnumber import mask_id_number
from shared.jsontypes import JSON

NOT_READY = "结果尚未办结，不能出具领取单 The result is not ready: no slip can be issued yet"


class ResultSlipViewModel:
    """Issues the token of one case and builds its slip."""

    def __init__(
        self,
        case: JSON,
        api: Callable[[], StaffApi],
        t: Translator,
        *,
        item_name: Callable[[str], str],
        issued_by: str,
        now: Callable[[], datetime],
        place: Callable[[str], str] = str,
    ) -> None:
        self.case = case
        self.place = place  # a village code → its name (Names.place); the code when unknown
        self.api = api
        self.t = t
        self.item_name = item_name
        self.issued_by = issued_by
        self.now = now
        self.url = ""
        self.expires_at = ""
        self.issued_at = ""
        self.error = ""

    @property
    def case_id(self) -> str:
        return str(self.case.get("_id", ""))

    @property
    def tracking_code(self) -> str:
        return str(self.case.get("tracking_code") or "")

    @property
    def ready(self) -> bool:
        """A slip was issued: the QR and the PDF exist."""
        return bool(self.url)

    async def load(self) -> None:
        """Asks the server for a delivery token; `error` says why not."""
        self.error = ""
        if self.case.get("status") != "result_ready" or not self.tracking_code:
            self.error = NOT_READY
            return
        try:
            answer = await self.api().issue_delivery_token(self.tracking_code)
        except StaffApiError as error:
            self.error = str(error)
            return
        self.url = str(answer.get("url") or "")
        self.expires_at = show_time(str(answer.get("expires_at") or ""))
        self.issued_at = show_time(self.now())
        if not self.url:
            self.error = "服务器没有返回二维码 The server sent no QR code"

    def data(self) -> SlipData:
        applicant = self.case.get("applicant") or {}
        number = str(applicant.get("id_number") or "")
        name = str(applicant.get("name") or "")
        masked = f"{name} {mask_id_number(number) if len(number) == 18 else ''}".strip()
        village = str((self.case.get("division") or {}).get("village") or "")
        return SlipData(
            tracking_code=self.tracking_code,
            delivery_url=self.url,
            item_name=self.item_name(str(self.case.get("item_code") or "")),
            applicant_masked=masked,
            village=self.place(village) if village else "",
            status=self.t(f"status_{self.case.get('status')}"),
            expires_at=self.expires_at,
            issued_at=self.issued_at,
            issued_by=self.issued_by,
        )

    def qr(self) -> bytes:
        return qr_png(self.url, box_size=8)

    def file_name(self) -> str:
        return f"result-slip-{re.sub(r'[^0-9A-Za-z-]', '', self.tracking_code) or 'case'}.pdf"

    def pdf(self) -> bytes:
        return slip_pdf(self.data())

    def png(self) -> bytes:
        return slip_png(self.data())
