"""Baseline (b), "task per delivery": the common design — one Celery task per delivery doing a
signed `requests` POST and a row update through the ORM.

    celery -A bench.baseline_tasks worker ...   (queue "bench-tasks")
"""

import os
import time

import django
import requests
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.utils import timezone  # noqa: E402

from deliveries.engine.request import delivery_headers  # noqa: E402
from deliveries.models import Attempt, Delivery  # noqa: E402
from deliveries.services.claiming import deliveries_load_jobs  # noqa: E402

app = Celery("bench_tasks", broker=os.environ["REDIS_URL"])
app.conf.task_default_queue = "bench-tasks"
app.conf.task_ignore_result = True
app.conf.worker_prefetch_multiplier = 4
session = requests.Session()


@app.task(name="bench.deliver_one")
def deliver_one(delivery_id: int) -> None:
    delivery = Delivery.objects.get(id=delivery_id)
    (job,) = deliveries_load_jobs([delivery.id], delivery.claim_token, timezone.now())
    headers = delivery_headers(
        body=job.body,
        signing_secrets=job.signing_secrets[:1],
        user_agent="Tillhub HTTP Connector/2.1.0",
    )
    started = timezone.now()
    clock = time.perf_counter()
    try:
        status = session.post(job.url, data=job.body, headers=headers, timeout=30).status_code
    except requests.RequestException:
        status = None
    ok = status is not None and 200 <= status < 300
    Attempt.objects.create(
        delivery_id=delivery.id,
        webhook_id=delivery.webhook_id,
        number=1,
        trigger="automatic",
        started_at=started,
        duration_ms=(time.perf_counter() - clock) * 1000,
        outcome="success" if ok else "retry",
        request_url=job.url,
        response_status=status,
    )
    Delivery.objects.filter(id=delivery.id).update(
        state="succeeded" if ok else "failed",
        attempt_count=1,
        last_attempt_at=started,
        last_status_code=status,
    )
