"""How the applicant signed, as shown on the review, the receipt and the case detail (签署方式)."""

from __future__ import annotations

from mobile.services.i18n import Translator
from shared.idnumber import mask_id_number
from shared.jsontypes import JSON
from shared.signing import SigningMethod, signing_method

LABEL_KEYS = {
    SigningMethod.SIGNATURE: "sign_self",
    SigningMethod.FINGERPRINT: "sign_fingerprint",
    SigningMethod.PROXY: "sign_proxy",
}


def signing_text(case: JSON, t: Translator) -> str:
    """"代签 Proxy signs · 王小明 330***********1234 · 儿子"; the proxy's ID number masked."""
    method = signing_method(case)
    text = t(LABEL_KEYS[method])
    proxy = case.get("signing", {}).get("proxy") if method is SigningMethod.PROXY else None
    if isinstance(proxy, dict):
        number = str(proxy.get("id_number", ""))
        parts = [str(proxy.get("name", "")), mask_id_number(number) if len(number) == 18 else ""]
        text += " · " + " ".join(p for p in parts if p)
        if proxy.get("relation"):
            text += f" · {proxy['relation']}"
    return text
