"""One TLS context for every HTTP client of the app (共享TLS上下文).

Building a context loads the CA bundle: 0.1–0.2 s on the 2-core test machine, more on a cheap
phone. `httpx.AsyncClient` builds one per client unless it is given one, and a sync round opens a
client per village database (plus the reachability probe), so a township staff device paid it ten
times before its first request (ADR 0157). An `ssl.SSLContext` may be shared by any number of
connections; this one verifies certificates exactly as httpx's default does.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle; `SSL_CERT_FILE` and `SSL_CERT_DIR`
    honoured), built once per process."""
    return httpx.create_ssl_context()
