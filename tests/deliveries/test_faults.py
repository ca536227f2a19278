"""At least once when parts fail: a worker killed mid-send, the broker's queue lost."""

import json
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from deliveries.models import Delivery
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EVENT = "products.create.v0"


@pytest.fixture
def processes(django_db_blocker: object) -> Iterator[CeleryProcesses]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        started = CeleryProcesses(_test_database_url())
    yield started
    started.close()


def test_worker_killed_mid_delivery_is_delivered_by_another_worker(processes, account, receiver):
    # given: the endpoint holds the first request open
    receiver.then(Reply(hang=True))
    webhook_create(account=account, url=receiver.url(), events=[EVENT])
    doomed = processes.start_worker("doomed")
    processes.start_scheduler()
    published = event_publish(account=account, key=EVENT, payload={})
    receiver.wait_for_requests(1)

    # when: the worker dies with SIGKILL while the request is in flight
    processes.kill(doomed)
    processes.start_worker("survivor")

    # then: once the lease (WEBHOOK_CLAIM_LEASE_SECONDS) ends, the survivor delivers it
    wait_until(
        lambda: Delivery.objects.get(event_id=published.event.id).state == "succeeded",
        timeout=30,
    )
    first, second = receiver.requests
    assert json.loads(first.body)["event_id"] == json.loads(second.body)["event_id"]


def test_broker_flushed_with_work_queued_loses_nothing(processes, account, receiver):
    # given: events published while no worker runs, their wake-ups queued in Redis
    webhook_create(account=account, url=receiver.url(), events=[EVENT])
    published = [event_publish(account=account, key=EVENT, payload={}) for _ in range(5)]

    # when: Redis loses everything, then workers and the scheduler start
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    processes.start_worker("fresh")
    processes.start_scheduler()

    # then: the scheduler's next pass finds the work in the database
    wait_until(
        lambda: (
            Delivery.objects.filter(
                event_id__in=[p.event.id for p in published], state="succeeded"
            ).count()
            == 5
        ),
        timeout=30,
    )
    received = {json.loads(r.body)["event_id"] for r in receiver.requests}
    assert received == {str(p.event.id) for p in published}
