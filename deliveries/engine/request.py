"""The outgoing request of a delivery: the one place its headers are put together.

The dispatcher, the pre-flight checks and the benchmark all build their requests here, so a
header added or changed (SPEC section 1) reaches every sender at once.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

from deliveries.engine.signing import signature_header

CONTENT_TYPE = "application/json"


def basic_authorization(username: str, password: str) -> str | None:
    """The ``Authorization`` value for Basic auth, or None when no username is configured."""
    if not username:
        return None
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


def delivery_headers(
    *,
    body: bytes,
    signing_secrets: Sequence[str],
    user_agent: str,
    authorization: str | None = None,
    signed_at_ms: int | None = None,
) -> dict[str, str]:
    """The headers of one attempt: content type, user agent, Basic auth when configured and the
    ``Tillhub-Signature`` of ``body`` at ``signed_at_ms`` (default: now) under every secret.

    Raises ``ValueError`` when ``signing_secrets`` is empty: an unsigned request is never sent.
    """
    if signed_at_ms is None:
        signed_at_ms = int(time.time() * 1000)
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": user_agent}
    if authorization:
        headers["Authorization"] = authorization
    headers["Tillhub-Signature"] = signature_header(signing_secrets, signed_at_ms, body)
    return headers
