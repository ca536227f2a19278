"""What happens to deliveries when a subscription changes, and the actions that send to it.

The subscription row itself is webhooks.services' (which knows nothing of deliveries); these
services add the delivery side: pausing and resuming on (de)activation, test events and the
pre-flight check.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from deliveries.preflight import DEFAULT_EVENT_KEY, CheckResult, endpoint_of_webhook, run_preflight
from deliveries.services.lifecycle import (
    deliveries_pause_for_webhook,
    deliveries_resume_for_webhook,
)
from deliveries.services.publishing import PublishedEvent, event_publish
from webhooks import rules
from webhooks.models import Webhook
from webhooks.services import webhook_change, webhook_mark_deactivated


@transaction.atomic
def webhook_update(*, webhook: Webhook, **fields: Any) -> Webhook:
    """Change the given fields; activation and deactivation pause or resume deliveries.

    Raises ValidationError per field (webhooks.services' rules).
    """
    if webhook_change(webhook=webhook, **fields):
        if webhook.active:
            deliveries_resume_for_webhook(webhook_id=webhook.id)
        else:
            deliveries_pause_for_webhook(webhook_id=webhook.id)
    return webhook


@transaction.atomic
def webhook_deactivate(*, webhook: Webhook, reason: str) -> Webhook:
    """Deactivate with a recorded reason (shown in the dashboard and API); pauses deliveries."""
    webhook_mark_deactivated(webhook=webhook, reason=reason)
    deliveries_pause_for_webhook(webhook_id=webhook.id)
    return webhook


def webhook_activate(*, webhook: Webhook) -> Webhook:
    return webhook_update(webhook=webhook, active=True)


def webhook_send_test_events(*, webhook: Webhook, keys: list[str]) -> list[PublishedEvent]:
    """Publish realistic events of the given keys to this subscription only (not fanned out).

    Raises ValidationError({"events": ...}) for unknown keys.
    """
    try:
        canonical = rules.clean_event_keys(keys, account_id=webhook.account_id)
    except ValidationError as error:
        raise ValidationError({"events": error.messages}) from error
    return [
        event_publish(account=webhook.account, key=key, source="test", only_webhook=webhook)
        for key in canonical
    ]


def webhook_preflight(*, webhook: Webhook, event_key: str = DEFAULT_EVENT_KEY) -> list[CheckResult]:
    """Run Tillhub's pre-flight checklist against the subscription as deliveries reach it
    (its URL, signing secrets, Basic auth and timeouts; the server's target rules, user agent
    and redirect limit) and return the nine results in order.

    Sends up to four POSTs of one realistic `event_key` event (aliases accepted) to the
    endpoint and stores nothing. Blocking for up to a few request timeouts: call it outside a
    database transaction. Raises ValidationError({"event": ...}) for a key outside the catalog.
    """
    try:
        (key,) = rules.clean_event_keys([event_key])
    except ValidationError as error:
        raise ValidationError({"event": error.messages}) from error
    return run_preflight(
        **endpoint_of_webhook(webhook, now=timezone.now()),
        policy=rules.target_policy(),
        user_agent=settings.WEBHOOK_USER_AGENT,
        max_redirects=settings.WEBHOOK_MAX_REDIRECTS,
        event_key=key,
    )
