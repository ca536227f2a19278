"""Per-entity ordering (SPEC 3) end to end: a real worker, PostgreSQL and a receiver that fails
30 % of requests at random."""

import json
import random
import uuid
from collections import defaultdict

import pytest

from deliveries.models import Delivery
from deliveries.ordering import delivery_waiting_for
from deliveries.services.publishing import event_publish
from tests.conftest import wait_until
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

KEYS = ("customers.create.v0", "customers.update.v0", "customers.update.v0", "customers.delete.v0")
ENTITIES = 50
FAILURE_RATE = 0.3


def test_each_entitys_events_arrive_in_publish_order_through_random_failures(stack, account):
    # given: a receiver failing 30 % of requests (seeded: the same script every run); the
    # replies are taken in arrival order, so request i got replies[i]
    chance = random.Random(15)
    replies = [
        Reply(status=503) if chance.random() < FAILURE_RATE else Reply(status=200)
        for _ in range(5000)
    ]
    receiver = ScriptedReceiver(Reply(status=200)).then(*replies)
    try:
        webhook = webhook_create(
            account=account, url=receiver.url(), events=sorted(set(KEYS)), ordering="entity"
        )
        entities = [uuid.uuid4() for _ in range(ENTITIES)]
        publish_order: dict[str, int] = {}

        # when: create, update, update, delete of 50 entities, interleaved
        for step, key in enumerate(KEYS):
            for entity in entities:
                published = event_publish(account=account, key=key, entity_instance_id=entity)
                publish_order[str(published.event.id)] = step

        # then
        wait_until(
            lambda: (
                Delivery.objects.filter(webhook=webhook, state="succeeded").count()
                == ENTITIES * len(KEYS)
            ),
            timeout=90,
            interval=0.2,
        )
    finally:
        receiver.close()
    first_success: dict[str, int] = {}
    for index, request in enumerate(receiver.requests):
        reply = replies[index] if index < len(replies) else Reply(status=200)
        envelope = json.loads(request.body)
        if reply.status == 200:
            first_success.setdefault(envelope["event_id"], index)
    assert set(first_success) == set(publish_order)
    arrivals: dict[str, list[int]] = defaultdict(list)
    for event_id, _index in sorted(first_success.items(), key=lambda item: item[1]):
        envelope_entity = Delivery.objects.get(event_id=event_id).ordering_entity_id
        arrivals[str(envelope_entity)].append(publish_order[event_id])
    assert len(arrivals) == ENTITIES
    assert all(steps == [0, 1, 2, 3] for steps in arrivals.values()), arrivals
    # Some requests failed, so the order was kept through retries, not by luck.
    assert sum(1 for r in replies[: len(receiver.requests)] if r.status != 200) > 20


def test_a_later_delivery_waits_for_the_earlier_one_and_says_which(stack, account):
    # given: an endpoint that fails, so the first delivery of an entity keeps retrying
    receiver = ScriptedReceiver(Reply(status=500))
    try:
        webhook = webhook_create(
            account=account,
            url=receiver.url(),
            events=["customers.create.v0", "customers.update.v0"],
            ordering="entity",
        )
        entity = uuid.uuid4()
        other = uuid.uuid4()

        # when
        first = event_publish(
            account=account, key="customers.create.v0", entity_instance_id=entity
        ).event
        second = event_publish(
            account=account, key="customers.update.v0", entity_instance_id=entity
        ).event
        unrelated = event_publish(
            account=account, key="customers.create.v0", entity_instance_id=other
        ).event

        # then: the other entity is not held back; the second waits for the first
        wait_until(lambda: Delivery.objects.get(event=unrelated).attempt_count >= 1)
        wait_until(lambda: Delivery.objects.get(event=first).attempt_count >= 2)
        waiting = Delivery.objects.get(event=second, webhook=webhook)
        assert waiting.attempt_count == 0
        assert waiting.state == "pending"
        assert delivery_waiting_for(waiting) == Delivery.objects.get(event=first).id
        assert delivery_waiting_for(Delivery.objects.get(event=unrelated)) is None
    finally:
        receiver.close()
