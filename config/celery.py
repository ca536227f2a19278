"""The Celery app. The broker only carries "look for due work now"; the database says what
is due, so a lost message costs latency, never a delivery."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hookline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        settings.WEBHOOK_SCHEDULER_INTERVAL_SECONDS,
        sender.signature("deliveries.dispatch_due"),
        name="dispatch due deliveries",
    )
    sender.add_periodic_task(
        settings.WEBHOOK_EXPIRY_INTERVAL_SECONDS,
        sender.signature("deliveries.expire"),
        name="expire deliveries past retention",
    )
    sender.add_periodic_task(
        settings.WEBHOOK_PURGE_INTERVAL_SECONDS,
        sender.signature("deliveries.purge"),
        name="purge events past retention",
    )
