"""What one attempt's result means for its delivery (the table in SPEC section 3)."""

from __future__ import annotations

import datetime
import email.utils
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deliveries.engine.http import SendResult


class ErrorKind(StrEnum):
    """Why an attempt got no usable final response (or, for HTTP_STATUS, a non-2xx one)."""

    HTTP_STATUS = "http_status"
    TIMEOUT = "timeout"
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    DNS = "dns"
    TLS = "tls"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    BAD_REDIRECT = "bad_redirect"
    TARGET_REFUSED = "target_refused"
    CONNECTION_ERROR = "connection_error"


class AttemptOutcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    GIVE_UP = "give_up"  # no automatic retry; a manual resend still works (TLS failures)
    GONE = "gone"  # 410: deactivate the subscription, its deliveries wait as paused


@dataclass(frozen=True)
class Verdict:
    outcome: AttemptOutcome
    # Seconds the receiver asked us to wait (Retry-After, already capped); None = use the backoff.
    retry_after_seconds: float | None


_RETRY_AFTER_STATUSES = frozenset({429, 503})


def classify(
    result: SendResult,
    *,
    retry_client_errors: bool,
    retry_after_cap_seconds: float,
    now: float | None = None,
) -> Verdict:
    """Return the verdict for ``result``; ``now`` (unix seconds, default the clock) dates an
    HTTP-date ``Retry-After``.

    - transport errors: TLS gives up (a certificate does not fix itself and retrying would only
      hammer a misconfigured host; a person resends after fixing it). Everything else retries,
      TARGET_REFUSED included: the host's DNS or the subscription's URL may be fixed before the
      event expires, and expiry bounds the retries.
    - 2xx success; 410 gone; 429/503 retry, after ``Retry-After`` when it is given and readable
      (bounded by ``retry_after_cap_seconds``); other 4xx retry when ``retry_client_errors``,
      else give up; 5xx, final 3xx and anything else retry with the normal backoff.

    429 is always retried, even with ``retry_client_errors`` off: it says "later", not "never".
    """
    if result.error_kind is not None and result.error_kind is not ErrorKind.HTTP_STATUS:
        if result.error_kind is ErrorKind.TLS:
            return Verdict(AttemptOutcome.GIVE_UP, None)
        return Verdict(AttemptOutcome.RETRY, None)
    status = result.status
    if status is None:
        return Verdict(AttemptOutcome.RETRY, None)
    if 200 <= status < 300:
        return Verdict(AttemptOutcome.SUCCESS, None)
    if status == 410:
        return Verdict(AttemptOutcome.GONE, None)
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(
            _header(result.response_headers, "Retry-After"),
            now=time.time() if now is None else now,
        )
        if retry_after is not None:
            retry_after = min(retry_after, retry_after_cap_seconds)
        return Verdict(AttemptOutcome.RETRY, retry_after)
    if 400 <= status < 500 and not retry_client_errors:
        return Verdict(AttemptOutcome.GIVE_UP, None)
    return Verdict(AttemptOutcome.RETRY, None)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` value asks for (never negative), or None when absent
    or unreadable. Accepts delta-seconds (``120``) and an HTTP-date, measured from ``now``."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" comes back naive; an HTTP-date is always GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
