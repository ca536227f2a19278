"""Pausing, resuming, resending, expiring and purging deliveries."""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from deliveries.services.claiming import retention_cutoff
from deliveries.wakeup import wake_dispatcher
from events.models import Event

if TYPE_CHECKING:
    from django.db.models import QuerySet

WAITING_STATES = (Delivery.State.PENDING, Delivery.State.FAILED)


def deliveries_pause_for_webhook(*, webhook_id: uuid.UUID) -> int:
    """Park the subscription's waiting deliveries as `paused`; returns how many."""
    return Delivery.objects.filter(webhook_id=webhook_id, state__in=WAITING_STATES).update(
        state=Delivery.State.PAUSED, next_attempt_at=None
    )


def deliveries_resume_for_webhook(*, webhook_id: uuid.UUID, now: datetime | None = None) -> int:
    """Make the subscription's paused deliveries due now (oldest first); returns how many.

    Those whose event passed retention meanwhile are expired instead.
    """
    now = now or timezone.now()
    paused = Delivery.objects.filter(webhook_id=webhook_id, state=Delivery.State.PAUSED)
    paused.filter(event_created_at__lt=retention_cutoff(now)).update(state=Delivery.State.EXPIRED)
    resumed = paused.update(state=Delivery.State.PENDING, next_attempt_at=now)
    if resumed:
        transaction.on_commit(wake_dispatcher)
    return resumed


def deliveries_resend(*, delivery_ids: Iterable[int]) -> int:
    """Make the deliveries due now as manual attempts (same body and event_id, fresh signature).

    Works in any state, expired and gave_up included; a delivery in flight is taken from its
    worker (whose result is then recorded as an attempt but no longer decides the state).
    Returns how many were queued.
    """
    return deliveries_resend_matching(deliveries=Delivery.objects.filter(id__in=list(delivery_ids)))


def deliveries_expire(*, now: datetime | None = None) -> int:
    """Mark waiting and paused deliveries of events past retention `expired`; returns how many."""
    now = now or timezone.now()
    return Delivery.objects.filter(
        state__in=(*WAITING_STATES, Delivery.State.PAUSED),
        event_created_at__lt=retention_cutoff(now),
        next_trigger=Delivery.Trigger.AUTOMATIC,
    ).update(state=Delivery.State.EXPIRED, next_attempt_at=None)


# Events removed per statement: small enough that no purge holds locks for long.
PURGE_BATCH_SIZE = 1000


def events_purge(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete events past retention with their deliveries and attempts, in bounded batches.

    Returns the number of events removed.
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return removed
            Attempt.objects.filter(delivery__event_id__in=ids).delete()
            Delivery.objects.filter(event_id__in=ids).delete()
            Event.objects.filter(id__in=ids).delete()
        removed += len(ids)


def deliveries_resend_matching(*, deliveries: "QuerySet[Delivery]") -> int:
    """Queue every delivery of `deliveries` for a manual attempt, in one UPDATE statement.

    Nothing is loaded into memory however many match; the dispatcher then sends them in its
    usual batches. Returns how many were queued.
    """
    queued = deliveries.order_by().update(
        state=Delivery.State.PENDING,
        next_attempt_at=timezone.now(),
        claim_token=None,
        next_trigger=Delivery.Trigger.MANUAL,
    )
    if queued:
        transaction.on_commit(wake_dispatcher)
    return queued
