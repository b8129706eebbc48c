"""How the applicant signed (签署方式): own signature, fingerprint (按手印) or a proxy (代签).

A citizen who cannot write (illiterate, injured hand, too frail) signs as counters accept it:
a fingerprint pressed on paper and photographed, or a proxy — a witness, usually family or
the village committee — who signs for them and is identified by name and resident ID number.

The case carries it as `signing` (absent on older cases: own signature)::

    {"method": "signature"}
    {"method": "fingerprint"}
    {"method": "proxy", "proxy": {"name": "王小明", "id_number": "330212…", "relation": "儿子"}}

The picture is an attachment of the case: `signature.png` (the applicant's or the proxy's
strokes) or `fingerprint.jpg` (the photo, through the scan pipeline). The proxy's full ID
number stays on the case like the applicant's; screens, receipts and logs show it masked.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

from shared.idnumber import check_char

SIGNATURE_ATTACHMENT: Final = "signature.png"
FINGERPRINT_ATTACHMENT: Final = "fingerprint.jpg"
# A name as written on an ID card: minority names with "·" run to 20-odd characters.
MAX_NAME = 40
MAX_RELATION = 20
_ID_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]")


class SigningMethod(StrEnum):
    """签名 / 按手印 / 代签."""

    SIGNATURE = "signature"
    FINGERPRINT = "fingerprint"
    PROXY = "proxy"


def attachment_for(method: SigningMethod) -> str:
    """The case attachment that holds the mark of `method`."""
    return FINGERPRINT_ATTACHMENT if method is SigningMethod.FINGERPRINT else SIGNATURE_ATTACHMENT


def signing_method(case: dict[str, Any]) -> SigningMethod:
    """The method of a case; cases from before the alternatives existed were signed in person."""
    signing = case.get("signing")
    if isinstance(signing, dict):
        try:
            return SigningMethod(str(signing.get("method")))
        except ValueError:
            pass
    return SigningMethod.SIGNATURE


def signing_problem(value: Any) -> tuple[str, str] | None:
    """Why `value` is not a valid `signing` field, as (Chinese, English); None when it is.

    Checks the shape and the proxy's ID number checksum (GB 11643): no clock is needed, so
    the server and the phone check alike (the phone also checks the birth date as typed).
    """
    if not isinstance(value, dict):
        return ("签署方式格式错误", "signing must be an object")
    try:
        method = SigningMethod(str(value.get("method")))
    except ValueError:
        return ("未知的签署方式", "signing.method must be signature, fingerprint or proxy")
    extra = set(value) - {"method", "proxy"}
    if extra:
        return ("签署方式含有未知字段", f"signing has unknown fields: {', '.join(sorted(map(str, extra)))}")
    proxy = value.get("proxy")
    if method is not SigningMethod.PROXY:
        return None if proxy is None else ("只有代签才有代签人", "only a proxy signature names a proxy")
    if not isinstance(proxy, dict) or set(proxy) - {"name", "id_number", "relation"}:
        return ("代签人格式错误", "signing.proxy must be an object with name, id_number, relation")
    name, number, relation = proxy.get("name"), proxy.get("id_number"), proxy.get("relation", "")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        return ("缺少代签人姓名", f"signing.proxy.name must be 1 to {MAX_NAME} characters")
    if not isinstance(relation, str) or len(relation) > MAX_RELATION:
        return ("代签人关系过长", f"signing.proxy.relation must be at most {MAX_RELATION} characters")
    valid = isinstance(number, str) and _ID_SHAPE.fullmatch(number) and check_char(number[:17]) == number[-1]
    if not valid:
        return ("代签人身份证号不正确", "signing.proxy.id_number is not a valid resident ID number")
    return None
