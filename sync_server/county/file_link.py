"""Material file links (材料文件链接): time-limited URLs the county platform fetches scans from.

A hand-off record names each file by a link rather than embedding it: scans are JPEGs of a
few hundred kilobytes and base64 in JSON costs a third more, and the county fetches only
what its reviewers open. The link is signed like an S3 pre-signed URL so the county needs
no account:

    {public_url}/api/county/files/{db}/{doc id}/{attachment}?expires=<unix s>&sig=<hex>

    sig = HMAC-SHA256(county secret, "GET\n{db}\n{doc id}\n{attachment}\n{expires}")

The record also carries CouchDB's own digest and length of each file, so the county can
verify what it fetched.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

FILES_PATH = "/api/county/files"
# The county reviews within the item's time limit (≤ 20 working days for any seed item);
# 60 days covers that with holidays and paused time to spare.
LINK_LIFETIME = 60 * 24 * 3600


def _mac(secret: bytes, db: str, doc_id: str, name: str, expires: int) -> str:
    message = f"GET\n{db}\n{doc_id}\n{name}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def file_link(public_url: str, secret: bytes, db: str, doc_id: str, name: str, now: int) -> str:
    """A link to attachment `name` of `doc_id` in `db`, valid for `LINK_LIFETIME` from `now`."""
    expires = now + LINK_LIFETIME
    path = "/".join(quote(part, safe="") for part in (db, doc_id, name))
    query = urlencode({"expires": expires, "sig": _mac(secret, db, doc_id, name, expires)})
    return f"{public_url.rstrip('/')}{FILES_PATH}/{path}?{query}"


def link_valid(secret: bytes, db: str, doc_id: str, name: str, expires: str | None, sig: str | None,
               now: int) -> bool:
    """True when `sig` signs this file and `expires` has not passed at `now`."""
    if not expires or not sig or not expires.isdigit():
        return False
    stamp = int(expires)
    if stamp < now:
        return False
    return hmac.compare_digest(_mac(secret, db, doc_id, name, stamp), sig)
