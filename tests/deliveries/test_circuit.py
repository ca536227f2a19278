"""The circuit breaker (SPEC 3, endpoint health) end to end: a real endpoint that fails and
then recovers, a real Celery worker, PostgreSQL. Time is compressed through settings: the
circuit opens after 3 consecutive failures and first probes after 0.5 s."""

import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest

from deliveries.models import Attempt, Delivery, EndpointCircuit
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EVENT = "customers.create.v0"
OPERATIONAL = ["hookline.webhook_circuit_opened.v1", "hookline.webhook_recovered.v1"]
CIRCUIT_FAILURES = 3
COOLDOWN_SECONDS = 0.5


@pytest.fixture(scope="module")
def circuit_stack(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryProcesses]:
    with django_db_blocker.unblock():
        processes = CeleryProcesses(
            _test_database_url(),
            WEBHOOK_CIRCUIT_FAILURES=str(CIRCUIT_FAILURES),
            WEBHOOK_CIRCUIT_COOLDOWN_SECONDS=str(COOLDOWN_SECONDS),
        )
    processes.start_worker("circuit", concurrency=2)
    processes.start_scheduler()
    yield processes
    processes.close()


def circuit_state(webhook_id: object) -> str | None:
    circuit = EndpointCircuit.objects.filter(webhook_id=webhook_id).first()
    return circuit.state if circuit else None


def test_an_open_circuit_sends_only_probes_and_recovery_delivers_each_waiting_one_once(
    circuit_stack, account
):
    # given: an endpoint that fails every request; another subscription of the account
    # listens to the operational events
    receiver = ScriptedReceiver(Reply(status=503))
    monitor = ScriptedReceiver()
    try:
        webhook = webhook_create(account=account, url=receiver.url(), events=[EVENT, *OPERATIONAL])
        webhook_create(account=account, url=monitor.url(), events=OPERATIONAL)
        published = [event_publish(account=account, key=EVENT).event for _ in range(6)]

        # when: it has failed CIRCUIT_FAILURES times in a row
        wait_until(lambda: circuit_state(webhook.id) == EndpointCircuit.State.OPEN)
        opened_at = EndpointCircuit.objects.get(webhook_id=webhook.id).opened_at
        # ... and stays down through two cool-downs (0.5 s, then 1 s): without the circuit,
        # six deliveries retrying on a 0.3 s backoff would make a dozen attempts meanwhile
        wait_until(
            lambda: Attempt.objects.filter(webhook=webhook, started_at__gt=opened_at).count() >= 2,
            timeout=10,
        )
        receiver.default = Reply(status=200)
        requests_before_recovery = len(receiver.requests)

        # then: every delivery arrives once the endpoint is back
        wait_until(
            lambda: Delivery.objects.filter(webhook=webhook, state="succeeded").count() == 6,
            timeout=30,
        )
        wait_until(lambda: circuit_state(webhook.id) == EndpointCircuit.State.HEALTHY)
        told = [json.loads(request.body) for request in monitor.wait_for_requests(2)]
    finally:
        receiver.close()
        monitor.close()

    # The attempts while the circuit was open were probes: one at a time, each after a
    # cool-down, never the backlog's retries.
    attempts = list(
        Attempt.objects.filter(webhook=webhook, started_at__gt=opened_at).order_by("started_at")
    )
    failed_probes = [attempt for attempt in attempts if attempt.outcome != "success"]
    assert 1 <= len(failed_probes) <= 3
    gaps = [
        (later.started_at - earlier.started_at).total_seconds()
        for earlier, later in pairwise(failed_probes)
    ]
    assert all(gap >= COOLDOWN_SECONDS * 0.9 for gap in gaps), gaps
    first_probe_delay = (failed_probes[0].started_at - opened_at).total_seconds()
    assert first_probe_delay >= COOLDOWN_SECONDS * 0.9
    # After recovery every waiting delivery arrived exactly once.
    after = receiver.requests[requests_before_recovery:]
    event_ids = Counter(request.body.split(b'"event_id":"')[1][:36].decode() for request in after)
    assert event_ids == Counter({str(event.id): 1 for event in published})
    assert all(
        Attempt.objects.filter(delivery__event=event, outcome="success").count() == 1
        for event in published
    )
    circuit = EndpointCircuit.objects.get(webhook_id=webhook.id)
    assert circuit.consecutive_failures == 0
    assert circuit.times_opened == 1
    # The other subscription was told, signed and delivered like any event; the subscription
    # itself never (it lists the types too).
    assert [(e["event_entity"], e["event_type"], e["entity_instance_id"]) for e in told] == [
        ("webhook", "webhook_circuit_opened", str(webhook.id)),
        ("webhook", "webhook_recovered", str(webhook.id)),
    ]
    assert not any(b'"event_entity":"webhook"' in request.body for request in receiver.requests)


def test_a_healthy_subscription_is_not_held_back_by_an_open_one(circuit_stack, account):
    # given: one dead endpoint whose circuit is open, one healthy endpoint
    dead = ScriptedReceiver(Reply(status=500))
    healthy = ScriptedReceiver()
    try:
        dead_webhook = webhook_create(account=account, url=dead.url(), events=[EVENT])
        for _ in range(CIRCUIT_FAILURES):
            event_publish(account=account, key=EVENT)
        wait_until(lambda: circuit_state(dead_webhook.id) == EndpointCircuit.State.OPEN)
        healthy_webhook = webhook_create(account=account, url=healthy.url(), events=[EVENT])

        # when
        published = event_publish(account=account, key=EVENT).event

        # then: the healthy one gets it at once; the dead one's delivery waits
        wait_until(
            lambda: Delivery.objects.filter(
                webhook=healthy_webhook, event=published, state="succeeded"
            ).exists(),
            timeout=5,
        )
        assert circuit_state(healthy_webhook.id) is None
        waiting = Delivery.objects.get(webhook=dead_webhook, event=published)
        assert waiting.state in ("pending", "sending", "failed")
    finally:
        dead.close()
        healthy.close()
