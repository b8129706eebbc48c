"""Receipt (受理回执) after submitting: tracking code, QR of the tracking page, one-time list.

Shown on screen large enough to be photographed and saved as a PNG in the device's
receipts folder, from where it can be shared or printed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from mobile.services.i18n import Translator
from mobile.services.qr import qr_png
from mobile.services.receipt import ReceiptData, render_receipt
from mobile.viewmodels.china_time import show_time
from mobile.viewmodels.items import ItemChoice
from mobile.viewmodels.signing import signing_text
from shared.idnumber import mask_id_number
from shared.ids import normalize_tracking_code
from shared.workdays import china_date


class ReceiptViewModel:
    """Builds the receipt of one submitted case."""

    def __init__(
        self,
        case: dict[str, Any],
        items: Sequence[ItemChoice],
        *,
        server_url: str,
        agent: str,
        contact: str,
        folder: Path,
        deadline_of: Callable[[date, int], date] | None = None,
    ) -> None:
        self.case = case
        self.item = next((i for i in items if i.code == case.get("item_code")), None)
        self.server_url = server_url.rstrip("/")
        self.agent = agent
        self.contact = contact
        self.folder = folder
        self.deadline_of = deadline_of
        self.saved_path: Path | None = None

    @property
    def tracking_code(self) -> str:
        return str(self.case.get("tracking_code", ""))

    @property
    def tracking_url(self) -> str:
        """What the QR holds: the citizen tracking page (`GET /t/{code}`)."""
        return f"{self.server_url}/t/{normalize_tracking_code(self.tracking_code)}"

    def qr(self) -> bytes:
        return qr_png(self.tracking_url, box_size=8)

    def data(self) -> ReceiptData:
        names = {}
        situation = self.item.situation(str(self.case.get("situation"))) if self.item else None
        if situation is not None:
            names = {r.code: r.name for r in situation.requirements}
        received = tuple(
            names.get(e["requirement"], e["requirement"]) for e in self.case.get("materials", [])
        )
        missing = tuple(names.get(code, code) for code in self.case.get("missing", []))
        number = str(self.case.get("applicant", {}).get("id_number", ""))
        name = str(self.case.get("applicant", {}).get("name", ""))
        submitted = str(self.case.get("submitted_at") or self.case.get("updated_at") or "")
        return ReceiptData(
            tracking_code=self.tracking_code,
            tracking_url=self.tracking_url,
            item_name=self.item.name if self.item else str(self.case.get("item_code")),
            applicant_masked=f"{name} {mask_id_number(number) if len(number) == 18 else ''}".strip(),
            # The receipt is bilingual whatever the app's language (like its other lines).
            signed=signing_text(self.case, Translator("zh")),
            received=received,
            missing=missing,
            time_limit_days=self.item.time_limit_days if self.item else 3,
            agent=self.agent,
            contact=self.contact,
            issued_at=show_time(submitted),
            **self._due(submitted),
        )

    def _due(self, submitted: str) -> dict[str, Any]:
        """The due date: the case's deadline once accepted, else the day it would be if the
        township accepted it the day it was submitted (the clock starts at acceptance)."""
        deadline = self.case.get("deadline")
        if isinstance(deadline, str) and deadline:
            return {"due_date": deadline, "due_estimated": False}
        if self.deadline_of is None or self.item is None:
            return {"due_date": ""}
        try:
            moment = datetime.fromisoformat(submitted.replace("Z", "+00:00"))
        except ValueError:
            moment = datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        due = self.deadline_of(china_date(moment), self.item.time_limit_days)
        return {"due_date": due.isoformat(), "due_estimated": True}

    def image(self) -> bytes:
        return render_receipt(self.data())

    def save(self) -> Path:
        """Writes the receipt PNG to the receipts folder and returns its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"receipt-{normalize_tracking_code(self.tracking_code)}.png"
        path.write_bytes(self.image())
        self.saved_path = path
        return path
