"""The Celery app. The broker only carries "look for due work now"; the database says what
is due, so a lost message costs latency, never a delivery."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hookline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def keep_broker_files_in_the_data_folder(sender: Celery, **_: object) -> None:
    """The filesystem broker keeps its exchange tables in `control_folder`, by default
    `control/` relative to whatever directory a process was started in (the repository root
    under `make run`): put it beside its messages instead (`var/broker/control/`)."""
    options = dict(sender.conf.broker_transport_options or {})
    data_folder = options.get("data_folder_in")
    if data_folder and "control_folder" not in options:
        options["control_folder"] = str(Path(data_folder) / "control")
        sender.conf.broker_transport_options = options


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
