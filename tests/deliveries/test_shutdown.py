"""A worker told to stop (warm shutdown) finishes and records what it has in flight. Its own
module: no other worker may pick the delivery up meanwhile."""

import pytest

from deliveries.models import Attempt
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_a_worker_told_to_stop_records_the_requests_it_has_in_flight(account):
    # given: a worker of its own with a request out to a receiver that answers after 2 s
    processes = CeleryProcesses(_test_database_url())
    slow = ScriptedReceiver(default=Reply(delay_seconds=2))
    try:
        worker = processes.start_worker("stopping", concurrency=1)
        webhook_create(account=account, url=slow.url(), events=["customers.update.v0"])
        published = event_publish(account=account, key="customers.update.v0", payload={}).event
        wait_until(lambda: len(slow.requests) == 1, timeout=15)

        # when: it is told to stop (warm shutdown) while the request is out
        worker.terminate()
        worker.wait(timeout=30)

        # then: it finished the request and recorded it before it exited
        attempt = Attempt.objects.get(delivery__event=published)
        assert attempt.outcome == "success"
        assert attempt.delivery.state == "succeeded"
    finally:
        processes.close()
        slow.close()
