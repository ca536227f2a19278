"""The claim's side of per-entity ordering, against the real database: a blocked delivery is
passed over (moved back, not claimed), the earlier one's success makes it due at once, and
unordered subscriptions and other entities are never held back."""

import uuid

import pytest
from django.utils import timezone

from deliveries.engine.outcome import AttemptOutcome
from deliveries.models import Delivery
from deliveries.services.claiming import deliveries_claim_due
from deliveries.services.publishing import event_publish
from deliveries.services.recording import attempts_record
from tests.deliveries.test_services import report
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

CREATE, UPDATE = "customers.create.v0", "customers.update.v0"


def test_a_blocked_delivery_is_passed_over_and_released_by_the_earlier_ones_success(account):
    # given: two events of one entity and one of another, to an ordered subscription
    webhook = webhook_create(
        account=account, url="https://example.com/hook", events=[CREATE, UPDATE], ordering="entity"
    )
    entity = uuid.uuid4()
    first = event_publish(account=account, key=CREATE, entity_instance_id=entity).event
    second = event_publish(account=account, key=UPDATE, entity_instance_id=entity).event
    other = event_publish(account=account, key=CREATE, entity_instance_id=uuid.uuid4()).event

    # when
    claimed = deliveries_claim_due(limit=10)

    # then: the first of each entity goes; the second is moved back, not claimed
    assert {job.delivery_id for job in claimed} == set(
        Delivery.objects.filter(event__in=[first, other]).values_list("id", flat=True)
    )
    waiting = Delivery.objects.get(event=second, webhook=webhook)
    assert waiting.state == "pending"
    assert waiting.next_attempt_at > timezone.now()
    assert deliveries_claim_due(limit=10) == []

    # when: the first succeeds
    attempts_record([report(job, status=200) for job in claimed])

    # then: the second is due at once and is claimed
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= timezone.now()
    assert [job.delivery_id for job in deliveries_claim_due(limit=10)] == [waiting.id]


def test_a_failed_earlier_delivery_keeps_holding_the_later_one(account):
    # given
    webhook_create(
        account=account, url="https://example.com/hook", events=[CREATE, UPDATE], ordering="entity"
    )
    entity = uuid.uuid4()
    event_publish(account=account, key=CREATE, entity_instance_id=entity)
    second = event_publish(account=account, key=UPDATE, entity_instance_id=entity).event
    (first_job,) = deliveries_claim_due(limit=10)

    # when: the first fails with a retry scheduled
    attempts_record([report(first_job, status=503, outcome=AttemptOutcome.RETRY)])
    Delivery.objects.update(next_attempt_at=timezone.now())  # everything due, as time passed

    # then: only the retry of the first goes
    assert [job.delivery_id for job in deliveries_claim_due(limit=10)] == [first_job.delivery_id]
    assert Delivery.objects.get(event=second).attempt_count == 0


def test_unordered_subscriptions_send_one_entitys_events_concurrently(account):
    webhook_create(account=account, url="https://example.com/hook", events=[CREATE, UPDATE])
    entity = uuid.uuid4()
    event_publish(account=account, key=CREATE, entity_instance_id=entity)
    event_publish(account=account, key=UPDATE, entity_instance_id=entity)

    assert len(deliveries_claim_due(limit=10)) == 2
    assert not Delivery.objects.filter(ordering_entity_id__isnull=False).exists()
