"""Pausing, resuming, resending, expiring and purging deliveries."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from deliveries.services.claiming import retention_cutoff
from deliveries.wakeup import wake_dispatcher
from events.models import Event
from webhooks.models import Webhook

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

    Those whose event passed retention meanwhile are expired instead, except the ones a
    person resent while the subscription was inactive (a manual resend works on anything
    not yet purged).
    """
    now = now or timezone.now()
    paused = Delivery.objects.filter(webhook_id=webhook_id, state=Delivery.State.PAUSED)
    paused.filter(
        event_created_at__lt=retention_cutoff(now), next_trigger=Delivery.Trigger.AUTOMATIC
    ).update(state=Delivery.State.EXPIRED)
    resumed = paused.update(state=Delivery.State.PENDING, next_attempt_at=now)
    if resumed:
        transaction.on_commit(wake_dispatcher)
    return resumed


@dataclass(frozen=True)
class ResendCounts:
    """What a manual resend did: `queued` deliveries are due now; `paused` ones belong to an
    inactive subscription and wait, as manual attempts, until it is activated."""

    queued: int
    paused: int


def deliveries_resend(*, delivery_ids: Iterable[int]) -> ResendCounts:
    """Make the deliveries due now as manual attempts (same body and event_id, fresh signature).

    Works in any state, expired and gave_up included; a delivery in flight is taken from its
    worker (whose result is then recorded as an attempt but no longer decides the state).
    Deliveries of an inactive subscription are not sent: they wait as `paused` until it is
    activated. Returns how many were queued and how many paused.
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


@transaction.atomic
def deliveries_resend_matching(
    *, deliveries: "QuerySet[Delivery]", webhook: Webhook | None = None
) -> ResendCounts:
    """Queue every delivery of `deliveries` for a manual attempt: those of an active
    subscription are due now, those of an inactive one wait as `paused` (with the manual
    trigger) until it is activated.

    One UPDATE statement when the deliveries all belong to active or all to inactive
    subscriptions (always so for one subscription's); nothing is loaded into memory however
    many match, and the dispatcher then sends them in its usual batches. Pass `webhook` when
    every delivery is that subscription's: it spares a look at the deliveries to find their
    subscriptions. Those subscriptions are locked first, so an activation or deactivation
    running at the same time is wholly before or wholly after the resend: no delivery ends up
    due for an inactive subscription, or paused for an active one.
    """
    matching = deliveries.order_by()
    subscriptions = Webhook.objects.select_for_update().order_by("id")
    if webhook is not None:
        subscriptions = subscriptions.filter(id=webhook.id)
    else:
        subscriptions = subscriptions.filter(id__in=matching.values("webhook_id"))
    active = dict(subscriptions.values_list("id", "active"))
    inactive = [webhook_id for webhook_id, is_active in active.items() if not is_active]
    now_due = {"state": Delivery.State.PENDING, "next_attempt_at": timezone.now()}
    waiting = {"state": Delivery.State.PAUSED, "next_attempt_at": None}
    manual = {"claim_token": None, "next_trigger": Delivery.Trigger.MANUAL}
    if not inactive:
        queued, paused = matching.update(**now_due, **manual), 0
    elif len(inactive) == len(active):
        queued, paused = 0, matching.update(**waiting, **manual)
    else:
        queued = matching.exclude(webhook_id__in=inactive).update(**now_due, **manual)
        paused = matching.filter(webhook_id__in=inactive).update(**waiting, **manual)
    if queued:
        transaction.on_commit(wake_dispatcher)
    return ResendCounts(queued=queued, paused=paused)
