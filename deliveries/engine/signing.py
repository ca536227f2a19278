"""Request signatures (SPEC section 1): the ``Tillhub-Signature`` header, ``t=<unix ms>,v1=<base64
HMAC-SHA256>``, and the Standard Webhooks headers, the second scheme a subscription may choose.

Tillhub's signed message is ``"<t>."`` followed by the raw body bytes, keyed with the UTF-8 bytes
of the subscription's secret. Standard Webhooks sign ``"<webhook-id>.<unix seconds>."`` and the
body, keyed with the base64-decoded part of a ``whsec_`` secret. While a secret is rotated with a
grace period either header carries one signature per live secret; receivers accept the request
when any of them matches.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping, Sequence
from enum import StrEnum

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


# --- Standard Webhooks (https://www.standardwebhooks.com/), the second scheme of SPEC section 1 ---

STANDARD_WEBHOOKS_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# The key sizes the secret's base64 part may decode to, bytes: 24 at least (Svix's own
# secrets have 24, fewer is guessable), 64 at most (SHA-256's block: a longer HMAC key is
# hashed down first, so more adds nothing).
STANDARD_WEBHOOKS_KEY_BYTES_RANGE = (24, 64)
STANDARD_WEBHOOKS_VERSION = "v1"


class SignatureScheme(StrEnum):
    """How a subscription's requests are signed (its ``signature_scheme``)."""

    TILLHUB = "tillhub"  # Tillhub-Signature: t=<ms>,v1=<sig>
    STANDARD_WEBHOOKS = "standard-webhooks"  # webhook-id, webhook-timestamp, webhook-signature


def standard_webhooks_secret(key: bytes) -> str:
    """Return ``whsec_<standard base64 of key>``, the form such secrets are shown and given in."""
    return STANDARD_WEBHOOKS_SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def standard_webhooks_key(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_<base64>`` secret (the base64 part decoded).

    Padding may be left out, as the Standard Webhooks libraries allow. Raises ``ValueError``
    saying what is wrong (never echoing the secret) unless the secret has the prefix, standard
    base64 after it, and decodes to 24 to 64 bytes.
    """
    if not secret.startswith(STANDARD_WEBHOOKS_SECRET_PREFIX):
        raise ValueError(
            f"a Standard Webhooks secret starts with {STANDARD_WEBHOOKS_SECRET_PREFIX}"
        )
    encoded = secret[len(STANDARD_WEBHOOKS_SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise ValueError(
            f"a Standard Webhooks secret is {STANDARD_WEBHOOKS_SECRET_PREFIX} followed by "
            "standard base64"
        ) from None
    low, high = STANDARD_WEBHOOKS_KEY_BYTES_RANGE
    if not low <= len(key) <= high:
        raise ValueError(
            f"the base64 part of a Standard Webhooks secret decodes to {low} to {high} bytes"
        )
    return key


def standard_webhooks_sign(
    secret: str, message_id: str, timestamp_seconds: int, body: bytes
) -> str:
    """Return the base64 HMAC-SHA256 of ``"<message_id>.<timestamp_seconds>." + body`` keyed
    with the decoded secret. Raises ``ValueError`` for a malformed secret."""
    message = f"{message_id}.{timestamp_seconds}.".encode() + body
    digest = hmac.digest(standard_webhooks_key(secret), message, "sha256")
    return base64.b64encode(digest).decode("ascii")


def standard_webhooks_signature_header(
    secrets: Sequence[str], message_id: str, timestamp_seconds: int, body: bytes
) -> str:
    """Return the ``webhook-signature`` value: ``v1,<sig>`` per secret in order, space-separated.

    Raises ``ValueError`` when ``secrets`` is empty (an unsigned request is never sent) or one
    is malformed.
    """
    if not secrets:
        raise ValueError("at least one signing secret is required")
    signatures = (
        standard_webhooks_sign(secret, message_id, timestamp_seconds, body) for secret in secrets
    )
    return " ".join(f"{STANDARD_WEBHOOKS_VERSION},{signature}" for signature in signatures)


def verify_standard_webhooks_signature(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now_seconds: float,
    tolerance_seconds: float | None,
) -> bool:
    """Return True when a ``v1`` entry of ``webhook-signature`` is the signature of ``body``
    (with ``webhook-id`` and ``webhook-timestamp``) under any of ``secrets``.

    ``headers`` are matched case-insensitively. False when one of the three headers is missing
    or malformed, a secret is malformed, or (``tolerance_seconds`` not None) the timestamp is
    further than that from ``now_seconds``. Constant-time comparisons, every pair compared.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not signatures or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if tolerance_seconds is not None and abs(now_seconds - int(timestamp)) > tolerance_seconds:
        return False
    given = [
        value.encode("utf-8", errors="replace")
        for version, _, value in (entry.partition(",") for entry in signatures.split(" "))
        if version == STANDARD_WEBHOOKS_VERSION and value
    ]
    matched = False
    for secret in secrets:
        try:
            expected = standard_webhooks_sign(secret, message_id, int(timestamp), body)
        except ValueError:
            continue
        for candidate in given:
            matched |= hmac.compare_digest(expected.encode("ascii"), candidate)
    return matched
