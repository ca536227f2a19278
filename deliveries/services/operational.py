"""Operational events (SPEC 3): Hookline tells an account about its own subscriptions'
health through the same machinery as any event: `hookline.webhook_disabled.v1`,
`hookline.webhook_circuit_opened.v1` and `hookline.webhook_recovered.v1`.

Published after the change they report has committed (the caller's transaction, or at once
outside one), to the account's subscriptions that list the key, never to the subscription the
event is about, even when it lists the key: a dead endpoint would otherwise be told about
itself, fail, and be told again.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from deliveries.models import Delivery, EndpointCircuit
from deliveries.services.circuit import CircuitChanges
from deliveries.wakeup import wake_dispatcher
from events.envelope import compact_json, format_timestamp
from events.models import Event
from webhooks.models import Webhook
from webhooks.selectors import webhooks_subscribed

WEBHOOK_DISABLED = "hookline.webhook_disabled.v1"
WEBHOOK_CIRCUIT_OPENED = "hookline.webhook_circuit_opened.v1"
WEBHOOK_RECOVERED = "hookline.webhook_recovered.v1"
OPERATIONAL_EVENT_KEYS = (WEBHOOK_DISABLED, WEBHOOK_CIRCUIT_OPENED, WEBHOOK_RECOVERED)
# The envelope's event_entity of every operational event.
OPERATIONAL_ENTITY = "webhook"


def operational_payload(
    *,
    webhook: Webhook,
    reason: str,
    circuit: EndpointCircuit | None,
    consecutive_failures: int,
    now: datetime,
) -> dict[str, Any]:
    """The payload of an operational event about `webhook` (the catalog's schemas describe
    it): `id` is the subscription's, so it is also the envelope's entity_instance_id."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "description": webhook.description,
        "active": webhook.active,
        "reason": reason,
        "consecutive_failures": consecutive_failures,
        "times_opened": circuit.times_opened if circuit else 0,
        "opened_at": _iso(circuit.opened_at) if circuit else None,
        "next_probe_at": _iso(circuit.next_probe_at) if circuit else None,
        "disabled_at": _iso(webhook.disabled_at),
        "last_success_at": _iso(webhook.last_success_at),
        "failing_since": _iso(webhook.failing_since),
        "occurred_at": format_timestamp(now),
    }


def _iso(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def operational_event_publish(*, key: str, webhook: Webhook, payload: dict[str, Any]) -> None:
    """Store the operational event `key` about `webhook` with one delivery per other
    subscription of its account that lists the key, once the current transaction commits
    (at once outside one)."""
    transaction.on_commit(lambda: _publish_now(key=key, webhook=webhook, payload=payload))


def _publish_now(*, key: str, webhook: Webhook, payload: dict[str, Any]) -> int:
    targets = [
        target
        for target in webhooks_subscribed(account_id=webhook.account_id, key=key)
        if target.id != webhook.id
    ]
    if not targets:
        return 0
    now = timezone.now()
    # Stored at the envelope's precision, as every event (publishing.event_publish).
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    with transaction.atomic():
        event = Event.objects.create(
            account_id=webhook.account_id,
            key=key,
            entity=OPERATIONAL_ENTITY,
            entity_instance_id=webhook.id,
            payload_json=compact_json(payload),
            # Made by Hookline itself, like the generated payloads.
            source=Event.Source.GENERATED,
            created_at=now,
        )
        Delivery.objects.bulk_create(
            [
                Delivery(
                    event=event,
                    webhook_id=target.id,
                    event_key=key,
                    event_created_at=now,
                    state=Delivery.State.PENDING if target.active else Delivery.State.PAUSED,
                    next_attempt_at=now if target.active else None,
                )
                for target in targets
            ]
        )
    if any(target.active for target in targets):
        wake_dispatcher()
    return len(targets)


def circuit_events_publish(*, changes: CircuitChanges, now: datetime) -> None:
    """Publish `webhook_circuit_opened` / `webhook_recovered` for the circuits a recording
    opened or closed (it has committed)."""
    ids = {*changes.opened, *changes.closed}
    webhooks = Webhook.objects.in_bulk(ids)
    circuits = EndpointCircuit.objects.in_bulk(ids)
    announcements = (
        (
            WEBHOOK_CIRCUIT_OPENED,
            changes.opened,
            "{failures} consecutive failed attempts: deliveries wait and one probe goes out "
            "after the cool-down.",
        ),
        (
            WEBHOOK_RECOVERED,
            changes.closed,
            "An attempt succeeded: the circuit is closed and waiting deliveries flow again.",
        ),
    )
    for key, changed, reason in announcements:
        for webhook_id, failures in changed.items():
            webhook = webhooks.get(webhook_id)
            if webhook is None:
                continue
            operational_event_publish(
                key=key,
                webhook=webhook,
                payload=operational_payload(
                    webhook=webhook,
                    reason=reason.format(failures=failures),
                    circuit=circuits.get(webhook_id),
                    consecutive_failures=failures,
                    now=now,
                ),
            )


def webhook_disabled_publish(*, webhook: Webhook, reason: str, now: datetime) -> None:
    """Publish `webhook_disabled` about `webhook` once the current transaction commits."""
    circuit = EndpointCircuit.objects.filter(webhook_id=webhook.id).first()
    operational_event_publish(
        key=WEBHOOK_DISABLED,
        webhook=webhook,
        payload=operational_payload(
            webhook=webhook,
            reason=reason,
            circuit=circuit,
            consecutive_failures=circuit.consecutive_failures if circuit else 0,
            now=now,
        ),
    )
