"""Per-subscription limits on the real stack: a Redis-shared token bucket and in-flight cap."""

import json
import time
from collections.abc import Iterator

import pytest

from deliveries.models import Delivery
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EVENT = "stocks.update.v0"


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: object) -> Iterator[CeleryProcesses]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        processes = CeleryProcesses(_test_database_url())
    processes.start_worker("limits-a")
    processes.start_worker("limits-b")
    processes.start_scheduler()
    yield processes
    processes.close()


def test_rate_limit_spreads_deliveries_without_failures(stack, account, receiver):
    # given: 5 per second with a bucket of 1, and 8 events at once
    webhook_create(account=account, url=receiver.url(), events=[EVENT], rate_per_second=5, burst=1)

    # when
    published = [event_publish(account=account, key=EVENT) for _ in range(8)]

    # then: all delivered, none counted as a failed attempt, ~1.4 s from first to last
    ids = [p.event.id for p in published]
    wait_until(
        lambda: Delivery.objects.filter(event_id__in=ids, state="succeeded").count() == 8,
        timeout=30,
    )
    arrivals = sorted(r.received_at for r in receiver.requests)
    assert len(arrivals) == 8
    assert arrivals[-1] - arrivals[0] >= 7 / 5 * 0.9
    assert set(
        Delivery.objects.filter(event_id__in=ids).values_list("attempt_count", flat=True)
    ) == {1}


def test_a_hanging_endpoint_holds_only_its_in_flight_cap_and_never_slows_others(
    stack, account, receiver
):
    # given: an endpoint that never answers within the timeout, capped at 2 in flight,
    # and a healthy one
    hanging = ScriptedReceiver(default=Reply(hang=True))
    try:
        webhook_create(
            account=account,
            url=hanging.url(),
            events=[EVENT],
            max_in_flight=2,
            request_timeout_ms=3000,
        )
        webhook_create(account=account, url=receiver.url(), events=["customers.update.v0"])

        # when
        for _ in range(6):
            event_publish(account=account, key=EVENT)
        time.sleep(0.5)
        started = time.monotonic()
        healthy = [
            event_publish(account=account, key="customers.update.v0", payload={}) for _ in range(5)
        ]

        # then: the healthy subscription gets everything at once
        ids = [p.event.id for p in healthy]
        wait_until(
            lambda: Delivery.objects.filter(event_id__in=ids, state="succeeded").count() == 5,
            timeout=10,
        )
        assert time.monotonic() - started < 2.5
        # and the hanging one never had more than 2 requests open (two workers share the cap)
        time.sleep(1)
        assert len(hanging.requests) == 2
        assert {json.loads(r.body)["event_entity"] for r in hanging.requests} == {"stocks-book"}
    finally:
        hanging.close()
