"""Thin Celery tasks: the broker says "now", the database says what."""

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown

from deliveries.dispatch.runtime import dispatch_runtime, stop_dispatch_runtime
from deliveries.notifications import send_deactivation_email
from deliveries.services.lifecycle import deliveries_expire, events_purge
from deliveries.wakeup import DISPATCH_TASK_NAME

logger = logging.getLogger(__name__)

# Defined beside the model it reads; named here so that every task a worker runs is in this
# module's namespace (Celery's autodiscovery imports tasks modules only).
__all__ = ["dispatch_due", "expire", "purge", "send_deactivation_email"]


@shared_task(name=DISPATCH_TASK_NAME)
def dispatch_due() -> None:
    """Due work is waiting (a publish, a scheduler tick): wake this process's dispatcher. The
    work itself is in the database, so this message carries nothing that could be lost."""
    dispatch_runtime().wake()


@worker_process_init.connect
def start_dispatcher(**_: object) -> None:
    """Every worker process serves from the start, not only those a message reaches first."""
    dispatch_runtime()


@worker_process_shutdown.connect
def stop_dispatcher(**_: object) -> None:
    stop_dispatch_runtime()


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
