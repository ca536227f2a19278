"""What a pre-flight check found, and the report built from the findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypedDict

from yarl import URL

DEFAULT_USER_AGENT = "Tillhub HTTP Connector/2.1.0"
DEFAULT_EVENT_KEY = "transactions.create.v0"  # Tillhub's busiest event, with the largest body
# Days: a certificate closer to expiry than this gets a warning, so there is time to renew
# before deliveries start failing with TLS errors (which Tillhub does not retry).
CERTIFICATE_WARN_DAYS = 14
# Addresses tried for the TCP check: enough for dual-stack hosts, bounded wait when all hang.
MAX_ADDRESSES_TRIED = 4
# Characters of a response body quoted in a detail: enough to show an error message.
RESPONSE_EXCERPT_CHARS = 160

SKIPPED_UNREACHABLE = "skipped: reachability failed"

Resolver = Callable[[str, int], Sequence[str]]


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


CHECK_TITLES: dict[str, str] = {
    "url": "URL rules",
    "dns": "DNS resolution",
    "tcp": "TCP reachability",
    "https": "HTTPS certificate",
    "response_time": "Response within the timeout",
    "signed_event": "2xx for a signed test event",
    "bad_signature": "4xx for a wrong signature",
    "idempotency": "2xx for a repeated event_id",
    "basic_auth": "Basic auth enforced",
}


@dataclass(frozen=True)
class CheckResult:
    name: str  # stable key from CHECK_TITLES, e.g. "dns"
    status: CheckStatus
    detail: str  # what was found, in words
    advice: str = ""  # what to do about it; empty when there is nothing to do
    data: dict[str, Any] = field(default_factory=dict)  # measurements for machines

    @property
    def title(self) -> str:
        return CHECK_TITLES[self.name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": str(self.status),
            "detail": self.detail,
            "advice": self.advice,
            "data": self.data,
        }


def preflight_failed(results: Sequence[CheckResult]) -> bool:
    """Return True when any check failed (warnings and skips do not count)."""
    return any(result.status is CheckStatus.FAIL for result in results)


def preflight_counts(results: Sequence[CheckResult]) -> dict[str, int]:
    """Return how many checks ended in each status, keyed by every status's value in
    ``CheckStatus`` order (``pass``, ``warn``, ``fail``, ``skipped``), zeros included."""
    return {
        str(status): sum(result.status is status for result in results) for status in CheckStatus
    }


def preflight_report(results: Sequence[CheckResult], *, url: str) -> dict[str, Any]:
    """Return the report for machines, as ``preflight --json`` prints it and the API answers:
    ``url`` (shown without query and credentials), ``ok`` (no check failed), ``summary``
    (``preflight_counts``) and ``checks`` (each ``CheckResult.as_dict()``, in order)."""
    return {
        "url": display_url(url),
        "ok": not preflight_failed(results),
        "summary": preflight_counts(results),
        "checks": [result.as_dict() for result in results],
    }


def preflight_verdict(results: Sequence[CheckResult]) -> str:
    """Return the one-line verdict for people: ``"ready"``, ``"ready, with warnings to look
    at"`` or ``"not ready: fix the failed checks"``."""
    if preflight_failed(results):
        return "not ready: fix the failed checks"
    if any(result.status is CheckStatus.WARN for result in results):
        return "ready, with warnings to look at"
    return "ready"


class WebhookLike(Protocol):
    id: Any
    url: str
    username: str
    password: str
    connect_timeout_ms: int
    request_timeout_ms: int
    signature_scheme: str
    headers: dict[str, str]

    def signing_secrets(self, now: datetime) -> list[str]: ...


class EndpointSettings(TypedDict):
    url: str
    secrets: list[str]
    username: str
    password: str
    connect_timeout_ms: int
    request_timeout_ms: int
    webhook_id: str
    signature_scheme: str
    headers: dict[str, str]


def endpoint_of_webhook(webhook: WebhookLike, *, now: datetime) -> EndpointSettings:
    """Return ``run_preflight`` keyword arguments for a subscription: its URL, every secret that
    signs at ``now`` (rotation grace included) and its scheme, credentials, extra headers and
    timeouts."""
    return EndpointSettings(
        url=webhook.url,
        secrets=webhook.signing_secrets(now),
        username=webhook.username,
        password=webhook.password,
        connect_timeout_ms=webhook.connect_timeout_ms,
        request_timeout_ms=webhook.request_timeout_ms,
        webhook_id=str(webhook.id),
        signature_scheme=webhook.signature_scheme,
        headers=dict(webhook.headers),
    )


def display_url(url: str) -> str:
    """``url`` without query, fragment and credentials: query strings often carry tokens."""
    try:
        return str(URL(url).with_query(None).with_fragment(None).with_user(None))
    except ValueError:
        return "(unreadable URL)"
