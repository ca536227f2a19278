"""/metrics after a known run: real worker processes (prometheus-client multiprocess mode, the
directory shared with this process's web client), a real local receiver, some attempts failing;
and the database gauges (due, oldest due, subscriptions by health) read at scrape time."""

import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from deliveries.models import Attempt, Delivery, EndpointCircuit
from deliveries.observability.metrics import event_key_label
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from tests.support.services import ThrowawayRedis
from webhooks.services import webhook_create

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "hookline.json"
KEY = "customers.create.v0"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def workers(transactional_db: None) -> Iterator[CeleryProcesses]:
    processes = CeleryProcesses(_test_database_url())
    processes.start_worker("metrics", concurrency=2)
    processes.start_scheduler()
    yield processes
    processes.close()


def publish_elsewhere(processes: CeleryProcesses, account_id: object, count: int) -> None:
    """Publish from a process of its own, which counts into the shared metrics directory as a
    web process would."""
    processes.manage(
        "shell",
        "-c",
        "from accounts.models import Account\n"
        "from deliveries.services.publishing import event_publish\n"
        f"account = Account.objects.get(id={str(account_id)!r})\n"
        f"for _ in range({count}):\n"
        f"    event_publish(account=account, key={KEY!r}, payload={{}})\n",
    )


def known_run(
    workers: CeleryProcesses, account: object, events: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[ScriptedReceiver, ScriptedReceiver]:
    """`events` events to two subscriptions: one always answers 200, the other answers 500 to
    the first `events` requests (each such delivery retries once, then succeeds)."""
    healthy, flaky = ScriptedReceiver(), ScriptedReceiver()
    flaky.then(*[Reply(status=500)] * events)
    webhook_create(account=account, url=healthy.url(), events=[KEY])
    webhook_create(account=account, url=flaky.url(), events=[KEY])
    publish_elsewhere(workers, account.id, events)
    wait_until(
        lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 2 * events,
        timeout=60,
    )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", workers.metrics_folder)
    return healthy, flaky


@pytest.mark.worker
def test_counters_and_histograms_match_a_known_run(workers, account, client, monkeypatch):
    # given
    events = 4
    healthy, flaky = known_run(workers, account, events, monkeypatch)
    try:
        # when: the last batch's counts follow its commit closely
        def all_attempts_counted() -> Samples | None:
            samples = scrape(client)
            count = samples.get(("hookline_delivery_attempt_duration_seconds_count", frozenset()))
            return samples if count == 3 * events else None

        samples = wait_until(all_attempts_counted, timeout=10)
    finally:
        healthy.close()
        flaky.close()

    # then: what was sent
    assert value(samples, "hookline_events_published_total", event=KEY) == events
    assert value(samples, "hookline_deliveries_created_total") == 2 * events
    assert (
        value(samples, "hookline_delivery_attempts_total", outcome="success", error_kind="none")
        == 2 * events
    )
    assert (
        value(
            samples, "hookline_delivery_attempts_total", outcome="retry", error_kind="http_status"
        )
        == events
    )
    assert value(samples, "hookline_delivery_retries_scheduled_total") == events
    assert value(samples, "hookline_delivery_attempt_duration_seconds_bucket", le="+Inf") == (
        3 * events
    )
    assert value(samples, "hookline_delivery_first_attempt_latency_seconds_count") == 2 * events
    # the histograms' sums are the recorded attempts' own figures
    attempts = list(Attempt.objects.all())
    assert len(attempts) == 3 * events
    assert value(samples, "hookline_delivery_attempt_duration_seconds_sum") == pytest.approx(
        sum(attempt.duration_ms for attempt in attempts) / 1000, rel=1e-6
    )
    first_latencies = [
        (attempt.started_at - attempt.delivery.event_created_at).total_seconds()
        for attempt in Attempt.objects.filter(number=1).select_related("delivery")
    ]
    assert value(samples, "hookline_delivery_first_attempt_latency_seconds_sum") == (
        pytest.approx(sum(first_latencies), rel=1e-3)
    )
    # the database gauges, and the workers' limiter gauge
    assert value(samples, "hookline_subscriptions", health="healthy", active="true") == 2
    assert value(samples, "hookline_deliveries_due") == 0
    assert value(samples, "hookline_deliveries_oldest_due_age_seconds") == 0
    assert value(samples, "hookline_dispatch_limiter_degraded") == 0


@pytest.mark.worker
def test_every_series_the_dashboard_queries_is_in_metrics_after_a_run(
    workers, account, client, monkeypatch
):
    # given
    healthy, flaky = known_run(workers, account, 2, monkeypatch)
    healthy.close()
    flaky.close()
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bhookline_[a-z_]+\b", target["expr"])
    }

    # when
    exposed = {name for name, _labels in scrape(client)}

    # then
    assert len(queried) >= 10
    assert queried - exposed == set()


def test_database_gauges_read_due_deliveries_and_circuit_states(db, account, client, monkeypatch):
    # given: three deliveries due for a minute, one paused, one subscription's circuit open
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    active = webhook_create(account=account, url="https://example.com/a", events=[KEY])
    inactive = webhook_create(
        account=account, url="https://example.com/b", events=[KEY], active=False
    )
    for _ in range(3):
        event_publish(account=account, key=KEY, payload={})
    Delivery.objects.filter(webhook=active).update(
        next_attempt_at=timezone.now() - timedelta(seconds=60)
    )
    EndpointCircuit.objects.create(webhook=inactive, state="open", since=timezone.now())

    # when
    samples = scrape(client)

    # then
    assert value(samples, "hookline_deliveries_due") == 3
    assert 60 <= value(samples, "hookline_deliveries_oldest_due_age_seconds") < 120
    assert value(samples, "hookline_subscriptions", health="healthy", active="true") == 1
    assert value(samples, "hookline_subscriptions", health="open", active="false") == 1
    assert value(samples, "hookline_subscriptions", health="half_open", active="true") == 0


def test_event_key_labels_are_bounded():
    assert event_key_label(KEY) == KEY
    assert event_key_label("stocks.update.v0") == "stocks.update.v0"
    assert event_key_label("acme.anything.v7") == "other"


@pytest.mark.worker
def test_per_webhook_label_only_behind_its_setting(transactional_db, account, client, monkeypatch):
    # given: workers with WEBHOOK_METRICS_PER_WEBHOOK
    processes = CeleryProcesses(_test_database_url(), WEBHOOK_METRICS_PER_WEBHOOK="true")
    receiver = ScriptedReceiver()
    webhook = webhook_create(account=account, url=receiver.url(), events=[KEY])
    try:
        processes.start_worker("per-webhook", concurrency=1)
        processes.start_scheduler()

        # when
        for _ in range(3):
            event_publish(account=account, key=KEY, payload={})
        wait_until(
            lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 3,
            timeout=30,
        )
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", processes.metrics_folder)
        per_webhook = frozenset({("webhook", str(webhook.id))})

        def all_counted() -> Samples | None:
            samples = scrape(client)
            count = ("hookline_delivery_attempt_duration_seconds_count", per_webhook)
            return samples if samples.get(count) == 3 else None

        samples = wait_until(
            all_counted,
            timeout=10,
        )
    finally:
        processes.close()
        receiver.close()

    # then
    assert (
        value(
            samples,
            "hookline_delivery_attempts_total",
            outcome="success",
            error_kind="none",
            webhook=str(webhook.id),
        )
        == 3
    )


@pytest.mark.worker
def test_limiter_degraded_gauge_while_the_shared_limiter_is_down(
    transactional_db, account, client, monkeypatch
):
    # given: the broker on the tests' Redis, the shared limiter on a Redis of the test's own
    limiter_redis = ThrowawayRedis()
    limiter_redis.start()
    processes = CeleryProcesses(
        _test_database_url(),
        CELERY_BROKER_URL=os.environ["REDIS_URL"],
        REDIS_URL=limiter_redis.url,
    )
    receiver = ScriptedReceiver()
    webhook_create(account=account, url=receiver.url(), events=[KEY])
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", processes.metrics_folder)
    try:
        processes.start_worker("limiter", concurrency=1)
        processes.start_scheduler()
        event_publish(account=account, key=KEY, payload={})
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 1)
        assert value(scrape(client), "hookline_dispatch_limiter_degraded") == 0

        # when: the limiter's Redis goes away and delivery goes on
        limiter_redis.kill()
        for _ in range(2):
            event_publish(account=account, key=KEY, payload={})
        wait_until(
            lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 3,
            timeout=30,
        )

        # then
        wait_until(lambda: value(scrape(client), "hookline_dispatch_limiter_degraded") == 1)
    finally:
        processes.close()
        receiver.close()
        limiter_redis.kill()
