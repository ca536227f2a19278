"""Thin Celery tasks: the broker says "now", the database says what."""

import logging

from celery import shared_task
from django.conf import settings

from deliveries.dispatcher import dispatch_runtime
from deliveries.services.lifecycle import deliveries_expire, events_purge

logger = logging.getLogger(__name__)


@shared_task(name="deliveries.dispatch_due", acks_late=True)
def dispatch_due() -> None:
    """Claim and send due deliveries until none is due (or the task's time is up)."""
    summary = dispatch_runtime().dispatch(max_seconds=settings.WEBHOOK_DISPATCH_TASK_SECONDS)
    if summary.more_due:
        # Hand over to a fresh task rather than hold this one forever: other queued tasks
        # (expiry, purge) get their turn, and the work continues right away.
        dispatch_due.delay()


@shared_task(name="deliveries.expire", acks_late=True)
def expire() -> None:
    expired = deliveries_expire()
    if expired:
        logger.info("expired %d deliveries past retention", expired)


@shared_task(name="deliveries.purge", acks_late=True)
def purge() -> None:
    purged = events_purge()
    if purged:
        logger.info("purged %d events past retention with their history", purged)
