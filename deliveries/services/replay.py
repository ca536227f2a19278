"""Event replay (SPEC 5): an event again to the subscriptions that list its key now."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from deliveries.models import Delivery
from deliveries.services.claiming import retention_cutoff
from deliveries.services.lifecycle import deliveries_resend_matching

# The fan-out's own constructor, so a replayed delivery is made exactly as a published one is
# (state by activity, the ordering key of an `ordering: "entity"` subscription).
from deliveries.services.publishing import fanout_delivery
from deliveries.wakeup import wake_dispatcher
from events.envelope import format_timestamp
from events.models import Event
from webhooks.models import Webhook
from webhooks.selectors import webhooks_subscribed


class EventPastRetention(Exception):
    """The event is older than WEBHOOK_EVENT_RETENTION_SECONDS: it is not sent again."""

    def __init__(self, event: Event) -> None:
        self.event = event
        days = settings.WEBHOOK_EVENT_RETENTION_SECONDS / 86400
        super().__init__(
            f"Event {event.id} was published at {format_timestamp(event.created_at)}, longer "
            f"ago than the retention of {settings.WEBHOOK_EVENT_RETENTION_SECONDS:g} seconds "
            f"({days:g} days): it is no longer replayed, and it will be purged. Publish it anew."
        )


@dataclass(frozen=True)
class ReplayCounts:
    """What a replay did: `resent` existing deliveries and `created` new ones for subscribers
    that had none; `paused` of them (both kinds) belong to inactive subscriptions and wait,
    as manual attempts, until those are activated."""

    resent: int
    created: int
    paused: int

    @property
    def deliveries(self) -> int:
        return self.resent + self.created


def event_replay(
    *,
    event: Event,
    webhook_ids: Collection[uuid.UUID] | None = None,
    now: datetime | None = None,
) -> ReplayCounts:
    """Send `event` again (same event_id and body, fresh signatures) to every subscription of
    its account that lists its key now, or to those of `webhook_ids` only.

    A subscription with a delivery of the event gets it resent (a manual attempt, like a
    resend: due now, or paused for an inactive subscription); one without (it subscribed
    later) gets a new delivery. Returns the counts.

    Raises EventPastRetention for an event older than WEBHOOK_EVENT_RETENTION_SECONDS, and
    ValidationError({"webhooks": ...}) naming a given id that is not one of the account's
    subscriptions or one that does not list the event's key.
    """
    now = now or timezone.now()
    if event.created_at < retention_cutoff(now):
        raise EventPastRetention(event)
    subscribers = webhooks_subscribed(account_id=event.account_id, key=event.key)
    if webhook_ids is not None:
        subscribers = _chosen(event, subscribers, webhook_ids)
    if not subscribers:
        return ReplayCounts(resent=0, created=0, paused=0)
    with transaction.atomic():
        # Locked in id order (as resends lock them), so two replays of one event at once take
        # turns: the second sees the first's new deliveries instead of making them twice, and
        # an activation running meanwhile is wholly before or after.
        ids = [webhook.id for webhook in subscribers]
        active = dict(
            Webhook.objects.select_for_update()
            .filter(id__in=ids)
            .order_by("id")
            .values_list("id", "active")
        )
        subscribers = [webhook for webhook in subscribers if webhook.id in active]
        for webhook in subscribers:
            webhook.active = active[webhook.id]
        existing = Delivery.objects.filter(event=event, webhook_id__in=list(active))
        with_delivery = set(existing.values_list("webhook_id", flat=True))
        resent = deliveries_resend_matching(deliveries=existing)
        new = [
            fanout_delivery(event, webhook, now)
            for webhook in subscribers
            if webhook.id not in with_delivery
        ]
        for delivery in new:
            # Made by a person, like a resend: no automatic expiry overtakes it.
            delivery.next_trigger = Delivery.Trigger.MANUAL
        Delivery.objects.bulk_create(new)
        if any(delivery.state == Delivery.State.PENDING for delivery in new):
            transaction.on_commit(wake_dispatcher)
    new_paused = sum(delivery.state == Delivery.State.PAUSED for delivery in new)
    return ReplayCounts(
        resent=resent.queued + resent.paused,
        created=len(new),
        paused=resent.paused + new_paused,
    )


def _chosen(
    event: Event, subscribers: list[Webhook], webhook_ids: Collection[uuid.UUID]
) -> list[Webhook]:
    """The subscribers named in `webhook_ids`; ValidationError naming those that are not."""
    by_id = {webhook.id: webhook for webhook in subscribers}
    unknown = [webhook_id for webhook_id in webhook_ids if webhook_id not in by_id]
    if unknown:
        of_account = set(
            Webhook.objects.filter(account_id=event.account_id, id__in=unknown).values_list(
                "id", flat=True
            )
        )
        messages = [
            f"{webhook_id} does not subscribe to {event.key}."
            if webhook_id in of_account
            else f"{webhook_id} is not one of your webhooks."
            for webhook_id in unknown
        ]
        raise ValidationError({"webhooks": messages})
    return [by_id[webhook_id] for webhook_id in dict.fromkeys(webhook_ids)]
