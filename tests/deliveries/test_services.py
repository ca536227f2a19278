"""Claiming, recording, resending, expiring and purging, against the real database."""

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.engine.http import SendResult
from deliveries.engine.outcome import AttemptOutcome, ErrorKind, Verdict
from deliveries.models import Attempt, Delivery
from deliveries.services.claiming import deliveries_claim_due
from deliveries.services.lifecycle import deliveries_expire, deliveries_resend, events_purge
from deliveries.services.recording import AttemptReport, attempts_record
from events.models import Event
from events.services import event_publish
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

EVENT = "products.update.v0"


@pytest.fixture
def webhook(account):
    return webhook_create(account=account, url="https://example.com/hook", events=[EVENT])


def publish(account, **kwargs):
    return event_publish(account=account, key=EVENT, payload={"name": "Kaffee"}, **kwargs)


def report(job, *, status=None, error_kind=None, outcome=AttemptOutcome.SUCCESS, now=None):
    result = SendResult(
        status=status,
        response_headers={},
        response_body="",
        duration_ms=12.5,
        error_kind=error_kind,
        error_message=None if error_kind is None else "boom",
        hops=(),
        final_url=job.url,
    )
    return AttemptReport(
        job=job,
        started_at=now or timezone.now(),
        request_headers={"Authorization": "Basic dTpw"},
        result=result,
        verdict=Verdict(outcome, None),
    )


def test_claim_takes_due_deliveries_once_under_a_lease(account, webhook, settings):
    # given
    publish(account)
    now = timezone.now()

    # when
    (job,) = deliveries_claim_due(limit=10, now=now)
    again = deliveries_claim_due(limit=10, now=now)

    # then
    delivery = Delivery.objects.get(id=job.delivery_id)
    assert again == []
    assert delivery.state == "sending"
    assert delivery.claim_token == job.claim_token
    lease = timedelta(seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS)
    assert delivery.next_attempt_at == now + lease
    assert job.body.startswith(b'{"webhook_id":"%s"' % str(webhook.id).encode())


def test_a_claim_whose_lease_ran_out_is_claimed_again(account, webhook, settings):
    # given: a worker claimed the delivery and died
    publish(account)
    now = timezone.now()
    (abandoned,) = deliveries_claim_due(limit=10, now=now)

    # when
    later = now + timedelta(seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS + 0.001)
    (reclaimed,) = deliveries_claim_due(limit=10, now=later)

    # then: a new claim, and the dead worker's late result cannot overwrite it
    assert reclaimed.delivery_id == abandoned.delivery_id
    assert reclaimed.claim_token != abandoned.claim_token
    attempts_record([report(abandoned, status=500, outcome=AttemptOutcome.RETRY)])
    delivery = Delivery.objects.get(id=reclaimed.delivery_id)
    assert delivery.state == "sending"
    assert delivery.claim_token == reclaimed.claim_token
    assert Attempt.objects.filter(delivery=delivery).count() == 1


def test_a_failure_schedules_the_retry_on_the_backoff(account, webhook, settings):
    # given
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    settings.WEBHOOK_BACKOFF_JITTER = 0
    publish(account)
    (job,) = deliveries_claim_due(limit=10)
    now = timezone.now()

    # when
    attempts_record(
        [report(job, status=502, error_kind=ErrorKind.HTTP_STATUS, outcome=AttemptOutcome.RETRY)],
        now=now,
    )

    # then
    delivery = Delivery.objects.get(id=job.delivery_id)
    assert delivery.state == "failed"
    assert delivery.attempt_count == 1
    assert delivery.last_status_code == 502
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.request_headers == {"Authorization": "Basic [redacted]"}


def test_the_tenth_retry_waits_the_capped_delay(account, webhook, settings):
    # given
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    settings.WEBHOOK_BACKOFF_JITTER = 0
    publish(account)
    Delivery.objects.update(attempt_count=11)
    (job,) = deliveries_claim_due(limit=10)
    now = timezone.now()

    # when
    attempts_record([report(job, status=500, outcome=AttemptOutcome.RETRY)], now=now)

    # then: 30 s x e^9, growth stopped
    delivery = Delivery.objects.get(id=job.delivery_id)
    assert delivery.next_attempt_at == now + timedelta(seconds=30 * math.exp(9))


def test_a_retry_beyond_retention_expires_instead(account, webhook, settings):
    # given
    settings.WEBHOOK_EVENT_RETENTION_SECONDS = 60
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 120
    publish(account)
    (job,) = deliveries_claim_due(limit=10)

    # when
    attempts_record([report(job, status=500, outcome=AttemptOutcome.RETRY)])

    # then
    assert Delivery.objects.get(id=job.delivery_id).state == "expired"


def test_claim_expires_automatic_deliveries_past_retention(account, webhook):
    # given
    published = publish(account)
    old = timezone.now() - timedelta(days=8)
    Delivery.objects.update(event_created_at=old)
    Event.objects.filter(id=published.event.id).update(created_at=old)

    # when
    jobs = deliveries_claim_due(limit=10)

    # then
    assert jobs == []
    assert Delivery.objects.get().state == "expired"


def test_manual_resend_works_past_retention(account, webhook):
    # given: an expired delivery
    publish(account)
    old = timezone.now() - timedelta(days=8)
    Delivery.objects.update(event_created_at=old, state="expired", next_attempt_at=None)

    # when
    queued = deliveries_resend(delivery_ids=[Delivery.objects.get().id])
    (job,) = deliveries_claim_due(limit=10)

    # then
    assert queued == 1
    assert job.trigger == "manual"


def test_expiry_sweep_marks_waiting_and_paused_deliveries(account, webhook):
    # given
    publish(account)
    publish(account)
    old = timezone.now() - timedelta(days=8)
    first, second = Delivery.objects.order_by("id")
    Delivery.objects.filter(id=first.id).update(event_created_at=old, state="paused")

    # when
    expired = deliveries_expire()

    # then
    assert expired == 1
    assert Delivery.objects.get(id=first.id).state == "expired"
    assert Delivery.objects.get(id=second.id).state == "pending"


def test_purge_removes_events_past_retention_with_their_history(account, webhook):
    # given
    for _ in range(5):
        publish(account)
    keep = publish(account)
    (job, *_) = deliveries_claim_due(limit=1)
    attempts_record([report(job, status=200)])
    old = timezone.now() - timedelta(days=8)
    Event.objects.exclude(id=keep.event.id).update(created_at=old)

    # when
    removed = events_purge(batch_size=2)

    # then
    assert removed == 5
    assert list(Event.objects.values_list("id", flat=True)) == [keep.event.id]
    assert Delivery.objects.count() == 1
    assert Attempt.objects.count() == 0


def test_deliveries_of_a_deleted_subscription_are_skipped_when_recording(account, webhook):
    # given
    publish(account)
    (job,) = deliveries_claim_due(limit=10)
    webhook.delete()

    # when
    attempts_record([report(job, status=200)])

    # then
    assert Attempt.objects.count() == 0
