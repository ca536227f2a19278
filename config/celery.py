"""The Celery app. The broker only carries "look for due work now"; the database says what
is due, so a lost message costs latency, never a delivery."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import (
    after_task_publish,
    task_postrun,
    worker_process_init,
    worker_process_shutdown,
)

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


@worker_process_init.connect
def observe_worker_process(**_: object) -> None:
    """In each worker process (after the fork): tracing when configured, and the limiter
    gauge's source (README "Operations")."""
    from deliveries.dispatch.runtime import dispatch_limiter_degraded
    from deliveries.observability.metrics import metrics_process_started
    from deliveries.observability.tracing import tracing_init

    tracing_init(service_name="hookline-worker", web=False)
    metrics_process_started(limiter_degraded=dispatch_limiter_degraded)


@worker_process_shutdown.connect
def forget_worker_process(pid: int | None = None, **_: object) -> None:
    """Its live gauges leave the metrics directory with it (prometheus-client's
    mark_process_dead); its counters stay, they are totals."""
    from deliveries.observability.metrics import metrics_process_exited

    metrics_process_exited(pid)


@task_postrun.connect
@after_task_publish.connect
def heartbeat(**_: object) -> None:
    """Worker processes after a task, the scheduler after sending one: HEARTBEAT_FILE, when
    set, is touched (docker-compose.yml's health checks read its age)."""
    from django.conf import settings

    from deliveries.observability.heartbeat import heartbeat_touch

    heartbeat_touch(settings.HEARTBEAT_FILE)
