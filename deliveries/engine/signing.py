"""The ``Tillhub-Signature`` header: ``t=<unix ms>,v1=<base64 HMAC-SHA256>`` (SPEC section 1).

The signed message is ``"<t>."`` followed by the raw body bytes, keyed with the UTF-8 bytes of the
subscription's secret. While a secret is rotated with a grace period the header carries one ``v1=``
per live secret; receivers accept the request when any of them matches.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence

SIGNATURE_SCHEME = "v1"


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    """Return the standard, padded base64 (44 characters) HMAC-SHA256 of ``"<t>." + body``."""
    message = f"{timestamp_ms}.".encode() + body
    # The one-shot C digest: several times cheaper than building an HMAC object per attempt.
    digest = hmac.digest(secret.encode("utf-8"), message, "sha256")
    return base64.b64encode(digest).decode("ascii")


def signature_header(secrets: Sequence[str], timestamp_ms: int, body: bytes) -> str:
    """Return the header value ``t=<ms>,v1=<sig>[,v1=<sig>...]``, one ``v1`` per secret in order.

    Raises ``ValueError`` when ``secrets`` is empty: an unsigned request is never sent.
    """
    if not secrets:
        raise ValueError("at least one signing secret is required")
    parts = [f"t={timestamp_ms}"]
    parts.extend(f"{SIGNATURE_SCHEME}={sign(secret, timestamp_ms, body)}" for secret in secrets)
    return ",".join(parts)


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """Return ``(timestamp_ms, [v1 signatures])`` from a ``Tillhub-Signature`` value.

    Unknown schemes (``v0=...``, future ``v2=...``) are ignored so that receivers keep working when
    a scheme is added. Raises ``ValueError`` with a message saying what is wrong when the value has
    no single integer ``t``, no ``v1`` or a part that is not ``key=value``.
    """
    timestamp_ms: int | None = None
    signatures: list[str] = []
    for raw_part in header.split(","):
        part = raw_part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"malformed signature header: part {part!r} is not key=value")
        if key == "t":
            if timestamp_ms is not None:
                raise ValueError("malformed signature header: more than one t=")
            if not value.isascii() or not value.isdigit():
                raise ValueError("malformed signature header: t= is not a unix time in ms")
            timestamp_ms = int(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp_ms is None:
        raise ValueError("malformed signature header: no t= timestamp")
    if not signatures:
        raise ValueError(f"malformed signature header: no {SIGNATURE_SCHEME}= signature")
    return timestamp_ms, signatures


def verify_signature(
    header: str,
    body: bytes,
    secrets: Sequence[str],
    *,
    now_ms: int,
    tolerance_seconds: float | None,
) -> bool:
    """Return True when any ``v1`` in ``header`` is the signature of ``body`` under any secret.

    Returns False for a malformed header, and when ``tolerance_seconds`` is not None and the
    header's timestamp is further than that from ``now_ms`` (either way: replays and clock skew).
    Every comparison is constant-time and every pair is compared, so timing tells nothing about
    which secret or signature came close.
    """
    try:
        timestamp_ms, signatures = parse_signature_header(header)
    except ValueError:
        return False
    if tolerance_seconds is not None and abs(now_ms - timestamp_ms) > tolerance_seconds * 1000:
        return False
    matched = False
    for secret in secrets:
        expected = sign(secret, timestamp_ms, body).encode("ascii")
        for signature in signatures:
            # Non-ASCII input cannot match and must not raise inside compare_digest.
            candidate = signature.encode("utf-8", errors="replace")
            matched |= hmac.compare_digest(expected, candidate)
    return matched
