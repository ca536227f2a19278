"""Tillhub's pre-flight checklist, run against one endpoint before it gets real webhooks.

``run_preflight`` returns one ``CheckResult`` per item, in this order:

1. ``url``: the URL passes the target rules Hookline applies to subscriptions (SPEC section 4).
2. ``dns``: the host resolves; private or loopback addresses are named.
3. ``tcp``: a TCP connection opens within the connect timeout.
4. ``https``: a verified TLS handshake and the days until the certificate expires.
5. ``response_time``: the signed test POST is answered within the request timeout.
6. ``signed_event``: a correctly signed, realistic test event gets a 2xx.
7. ``bad_signature``: the same event with a wrong signature gets a 4xx.
8. ``idempotency``: the same event_id again gets a 2xx.
9. ``basic_auth``: without ``Authorization`` the endpoint answers 401/403 (when credentials
   are configured).

The POSTs go through the engine's ``Sender`` with exactly the headers a real delivery carries,
so what passes here passes for real deliveries. Plain Python, no Django: callers pass the
target policy, user agent and redirect limit from their settings.
"""

from deliveries.preflight.checks import resolve_addresses, run_preflight
from deliveries.preflight.results import (
    CERTIFICATE_WARN_DAYS,
    CHECK_TITLES,
    DEFAULT_EVENT_KEY,
    DEFAULT_USER_AGENT,
    MAX_ADDRESSES_TRIED,
    RESPONSE_EXCERPT_CHARS,
    SKIPPED_UNREACHABLE,
    CheckResult,
    CheckStatus,
    EndpointSettings,
    WebhookLike,
    display_url,
    endpoint_of_webhook,
    preflight_counts,
    preflight_failed,
    preflight_report,
    preflight_verdict,
)

__all__ = [
    "CERTIFICATE_WARN_DAYS",
    "CHECK_TITLES",
    "DEFAULT_EVENT_KEY",
    "DEFAULT_USER_AGENT",
    "MAX_ADDRESSES_TRIED",
    "RESPONSE_EXCERPT_CHARS",
    "SKIPPED_UNREACHABLE",
    "CheckResult",
    "CheckStatus",
    "EndpointSettings",
    "WebhookLike",
    "display_url",
    "endpoint_of_webhook",
    "preflight_counts",
    "preflight_failed",
    "preflight_report",
    "preflight_verdict",
    "resolve_addresses",
    "run_preflight",
]
