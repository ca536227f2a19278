"""A slow endpoint holds only its own deliveries, for as long as it stays slow: on the real stack,
with one worker process, so no other process can make up for one that stalls."""

import time
from collections.abc import Iterator

import pytest

from deliveries.models import Attempt
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: object) -> Iterator[CeleryProcesses]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        # A lease longer than the hanging requests' timeout, as in production (120 s > 30 s):
        # the suite's short lease would have them claimed and sent again meanwhile.
        processes = CeleryProcesses(_test_database_url(), WEBHOOK_CLAIM_LEASE_SECONDS="60")
    processes.start_worker("isolation", concurrency=1)
    processes.start_scheduler()
    yield processes
    processes.close()


def test_requests_hanging_for_long_never_hold_back_deliveries_published_meanwhile(
    stack, account, receiver
):
    # given: three requests hanging on an endpoint with a 20 s timeout
    hanging = ScriptedReceiver(default=Reply(hang=True))
    try:
        webhook_create(
            account=account,
            url=hanging.url(),
            events=["stocks.update.v0"],
            request_timeout_ms=20_000,
        )
        webhook_create(account=account, url=receiver.url(), events=["customers.update.v0"])
        for _ in range(3):
            event_publish(account=account, key="stocks.update.v0")
        wait_until(lambda: len(hanging.requests) == 3, timeout=10)

        # when: a healthy subscription gets an event every second for 6 s while they hang
        healthy = []
        for _ in range(6):
            healthy.append(
                event_publish(account=account, key="customers.update.v0", payload={}).event
            )
            time.sleep(1)

        # then: each was sent at once, not after the hanging requests ended
        wait_until(
            lambda: Attempt.objects.filter(delivery__event__in=healthy).count() == 6, timeout=10
        )
        for attempt in Attempt.objects.filter(delivery__event__in=healthy).select_related(
            "delivery__event"
        ):
            waited = (attempt.started_at - attempt.delivery.event.created_at).total_seconds()
            assert waited < 1.5, waited
        assert len(hanging.requests) == 3  # still hanging: nothing was cut short
    finally:
        hanging.close()
