"""Subscription health: keeping success/failure marks current and auto-deactivation."""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q

from deliveries.models import Attempt
from deliveries.notifications import queue_deactivation_email
from deliveries.services.operational import webhook_disabled_publish
from deliveries.services.subscriptions import webhook_deactivate
from webhooks.models import Webhook

# How stale `last_success_at` may be, seconds: it feeds a rule measured in days.
LAST_SUCCESS_RESOLUTION_SECONDS = 5


def webhooks_mark_results(
    *, succeeded: Iterable[uuid.UUID], failed: Iterable[uuid.UUID], now: datetime
) -> None:
    """A success clears the failing streak; a failure starts one if none is running."""
    succeeded = set(succeeded)
    if succeeded:
        # Only rows whose mark is stale: under load nearly every batch succeeds, and updating
        # the same webhook row from every worker's every batch would serialise their commits
        # on its row lock.
        fresh_until = now - timedelta(seconds=LAST_SUCCESS_RESOLUTION_SECONDS)
        Webhook.objects.filter(id__in=succeeded).filter(
            Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=fresh_until)
            | Q(failing_since__isnull=False)
        ).update(last_success_at=now, failing_since=None)
    only_failed = set(failed) - succeeded
    if only_failed:
        Webhook.objects.filter(id__in=only_failed, failing_since__isnull=True).update(
            failing_since=now
        )


def _auto_disable_reason(webhook: Webhook, now: datetime) -> str | None:
    """Why the subscription should be deactivated by SPEC section 3's rules, or None."""
    after = timedelta(seconds=settings.WEBHOOK_AUTO_DISABLE_AFTER_SECONDS)
    if webhook.failing_since is not None and webhook.failing_since <= now - after:
        return (
            f"Deactivated automatically: no successful delivery for "
            f"{_duration(after)} while attempts kept failing."
        )
    window = timedelta(seconds=settings.WEBHOOK_AUTO_DISABLE_WINDOW_SECONDS)
    totals = Attempt.objects.filter(webhook=webhook, started_at__gte=now - window).aggregate(
        total=Count("id"), failed=Count("id", filter=~Q(outcome="success"))
    )
    total, failed = totals["total"], totals["failed"]
    if total >= settings.WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS and (
        failed / total >= settings.WEBHOOK_AUTO_DISABLE_ERROR_RATE
    ):
        return (
            f"Deactivated automatically: {failed} of {total} attempts failed "
            f"in the last {_duration(window)}."
        )
    return None


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds:g} seconds"


def webhooks_auto_deactivate(*, webhook_ids: Iterable[uuid.UUID], now: datetime) -> list[Webhook]:
    """Deactivate those of the (failing) subscriptions that meet a rule; their account is
    e-mailed by a worker once this commits (queue_deactivation_email). Call it after the
    attempts are recorded, outside their transaction.

    Each subscription is evaluated at most every WEBHOOK_AUTO_DISABLE_CHECK_INTERVAL_SECONDS.
    Returns the deactivated subscriptions.
    """
    interval = settings.WEBHOOK_AUTO_DISABLE_CHECK_INTERVAL_SECONDS
    deactivated = []
    for webhook in Webhook.objects.filter(id__in=set(webhook_ids), active=True):
        if interval > 0 and not cache.add(f"autodisable:{webhook.id}", 1, timeout=interval):
            continue
        reason = _auto_disable_reason(webhook, now)
        if reason is None:
            continue
        with transaction.atomic():
            webhook_deactivate(webhook=webhook, reason=reason)
            webhook_disabled_notify(webhook=webhook, reason=reason, now=now)
        deactivated.append(webhook)
    return deactivated


def webhook_disabled_notify(*, webhook: Webhook, reason: str, now: datetime) -> None:
    """Tell the account that `webhook` was deactivated (by the error rules or a 410), once
    the current transaction commits: an e-mail to its users (from a worker) and the
    operational event `hookline.webhook_disabled.v1` to its other subscriptions."""
    queue_deactivation_email(webhook_id=webhook.id, reason=reason)
    webhook_disabled_publish(webhook=webhook, reason=reason, now=now)
