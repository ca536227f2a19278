"""Waking the dispatcher: the one message the broker carries.

Publishing asks for a dispatch after its transaction commits. A cache key coalesces the
requests: while one is outstanding, further publishes send nothing, and every claim clears the
key first, so a delivery committed after a claim always gets a fresh wake-up. Losing one costs
at most a scheduler tick (WEBHOOK_SCHEDULER_INTERVAL_SECONDS) of latency, never a delivery.
"""

import logging

from celery import current_app
from django.core.cache import cache

logger = logging.getLogger(__name__)

WAKEUP_KEY = "deliveries:wakeup"
DISPATCH_TASK_NAME = "deliveries.dispatch_due"
# Seconds a wake-up request stays outstanding at most: if its task never runs (lost message,
# no worker), the key lapses and the next publish asks again.
WAKEUP_TTL_SECONDS = 2


def wake_dispatcher() -> None:
    """Ask a worker to look for due deliveries now; never raises (the scheduler is the net).

    Sent by task name: the task's module runs the dispatcher, which sits above everything that
    publishes, so importing it here would run the dependencies backwards.
    """
    try:
        if cache.add(WAKEUP_KEY, 1, timeout=WAKEUP_TTL_SECONDS):
            current_app.send_task(DISPATCH_TASK_NAME)
    except Exception:
        logger.warning("could not wake the dispatcher; the scheduler will", exc_info=True)


def clear_wakeup() -> None:
    """Called before each claim: publishes from now on wake a dispatcher again."""
    try:
        cache.delete(WAKEUP_KEY)
    except Exception:
        logger.warning("could not clear the dispatcher wake-up key", exc_info=True)
