"""The outgoing request of a delivery: the one place its headers are put together.

The dispatcher, the pre-flight checks and the benchmark all build their requests here, so a
header added or changed (SPEC section 1) reaches every sender at once.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence

from deliveries.engine.signing import (
    SignatureScheme,
    signature_header,
    standard_webhooks_signature_header,
)

CONTENT_TYPE = "application/json"
NO_EXTRA_HEADERS: Mapping[str, str] = {}


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
    signature_scheme: str = SignatureScheme.TILLHUB,
    event_id: str | None = None,
    extra_headers: Mapping[str, str] = NO_EXTRA_HEADERS,
) -> dict[str, str]:
    """The headers of one attempt: content type, user agent, Basic auth when configured, the
    subscription's own ``extra_headers`` (validated when stored: none of them collides with
    ours), and the signature of ``body`` at ``signed_at_ms`` (default: now) under every secret:
    ``Tillhub-Signature``, or for the Standard Webhooks scheme ``webhook-id`` (``event_id``),
    ``webhook-timestamp`` (unix seconds) and ``webhook-signature``.

    Raises ``ValueError`` when ``signing_secrets`` is empty (an unsigned request is never sent),
    for the Standard Webhooks scheme without an ``event_id`` or with a malformed secret, and for
    an unknown scheme.
    """
    if signed_at_ms is None:
        signed_at_ms = int(time.time() * 1000)
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": user_agent}
    if authorization:
        headers["Authorization"] = authorization
    if extra_headers:
        headers.update(extra_headers)
    if signature_scheme == SignatureScheme.TILLHUB:
        headers["Tillhub-Signature"] = signature_header(signing_secrets, signed_at_ms, body)
    elif signature_scheme == SignatureScheme.STANDARD_WEBHOOKS:
        if not event_id:
            raise ValueError("the Standard Webhooks scheme needs the event id (webhook-id)")
        signed_at_seconds = signed_at_ms // 1000
        headers["webhook-id"] = event_id
        headers["webhook-timestamp"] = str(signed_at_seconds)
        headers["webhook-signature"] = standard_webhooks_signature_header(
            signing_secrets, event_id, signed_at_seconds, body
        )
    else:
        raise ValueError(f"unknown signature scheme {signature_scheme!r}")
    return headers
