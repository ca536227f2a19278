"""Claiming, recording, resending, expiring and purging, against the real database."""

import math
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from deliveries.engine.http import SendResult
from deliveries.engine.outcome import AttemptOutcome, ErrorKind, Verdict
from deliveries.models import Attempt, Delivery
from deliveries.services.claiming import deliveries_claim_due
from deliveries.services.lifecycle import deliveries_expire, deliveries_resend, events_purge
from deliveries.services.publishing import event_publish
from deliveries.services.recording import AttemptReport, attempts_record
from events.models import Event
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
    counts = deliveries_resend(delivery_ids=[Delivery.objects.get().id])
    (job,) = deliveries_claim_due(limit=10)

    # then
    assert counts.queued == 1
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


def test_an_attempt_the_database_refuses_does_not_hold_back_its_batch(account, webhook):
    # given: two claimed deliveries, one of whose reports breaks a constraint
    publish(account)
    publish(account)
    refused, accepted = deliveries_claim_due(limit=10)

    # when
    attempts_record([report(refused, status=-1), report(accepted, status=200)])

    # then: the other is recorded; the refused one stays claimed, to be sent again after its
    # lease (at least once)
    assert list(Attempt.objects.values_list("delivery_id", flat=True)) == [accepted.delivery_id]
    assert Delivery.objects.get(id=accepted.delivery_id).state == "succeeded"
    assert Delivery.objects.get(id=refused.delivery_id).state == "sending"


def test_an_attempt_is_not_recorded_against_another_subscriptions_delivery(account, webhook):
    # given: a report whose delivery id now belongs to another subscription's delivery
    publish(account)
    (job,) = deliveries_claim_due(limit=10)
    other = webhook_create(account=account, url="https://example.org/hook", events=[EVENT])
    Delivery.objects.filter(id=job.delivery_id).update(webhook=other)

    # when
    attempts_record([report(job, status=200)])

    # then
    assert Attempt.objects.count() == 0


def fail_attempts(account, webhook, count, *, now=None):
    for _ in range(count):
        publish(account)
    jobs = deliveries_claim_due(limit=count)
    attempts_record(
        [report(job, status=500, outcome=AttemptOutcome.RETRY) for job in jobs], now=now
    )


def test_a_high_error_rate_deactivates_the_subscription_and_emails_the_account(
    account, webhook, mailoutbox, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given: 19 failures are not enough attempts yet; the e-mail task runs in this process
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    settings.WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS = 20
    account.users.update(email="ops@acme.example")
    fail_attempts(account, webhook, 19)
    webhook.refresh_from_db()
    assert webhook.active

    # when: the 20th fails too
    with django_capture_on_commit_callbacks(execute=False) as queued:
        fail_attempts(account, webhook, 1)
    assert mailoutbox == []  # nothing is mailed before the deactivation commits
    for callback in queued:
        callback()

    # then
    webhook.refresh_from_db()
    assert webhook.active is False
    assert webhook.disabled_reason == (
        "Deactivated automatically: 20 of 20 attempts failed in the last 1 day."
    )
    assert set(Delivery.objects.values_list("state", flat=True)) == {"paused"}
    (mail,) = mailoutbox
    assert mail.to == ["ops@acme.example"]
    assert webhook.url in mail.subject


def test_an_error_rate_below_the_threshold_keeps_the_subscription(account, webhook, settings):
    # given: 18 failures and 2 successes: 90 % < 95 %
    fail_attempts(account, webhook, 18)
    publish(account)
    publish(account)
    attempts_record([report(job, status=200) for job in deliveries_claim_due(limit=2)])

    # when
    fail_attempts(account, webhook, 1)

    # then
    webhook.refresh_from_db()
    assert webhook.active


def test_no_success_for_days_while_failing_deactivates(account, webhook, settings):
    # given: a failing streak that began six days ago
    settings.WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS = 1000
    fail_attempts(account, webhook, 1)
    webhook.refresh_from_db()
    assert webhook.failing_since is not None
    webhook.__class__.objects.filter(id=webhook.id).update(
        failing_since=timezone.now() - timedelta(days=6)
    )

    # when
    fail_attempts(account, webhook, 1)

    # then
    webhook.refresh_from_db()
    assert webhook.active is False
    assert "no successful delivery for 5 days" in webhook.disabled_reason


def test_a_success_ends_the_failing_streak(account, webhook):
    # given
    fail_attempts(account, webhook, 1)

    # when
    publish(account)
    attempts_record([report(job, status=200) for job in deliveries_claim_due(limit=1)])

    # then
    webhook.refresh_from_db()
    assert webhook.failing_since is None
    assert webhook.last_success_at is not None


def test_retry_after_from_the_receiver_sets_the_next_attempt(account, webhook):
    # given: a 429 whose Retry-After (already bounded by the engine) says 120 s
    publish(account)
    (job,) = deliveries_claim_due(limit=1)
    now = timezone.now()
    throttled = report(
        job, status=429, error_kind=ErrorKind.HTTP_STATUS, outcome=AttemptOutcome.RETRY
    )
    throttled = AttemptReport(
        job=throttled.job,
        started_at=throttled.started_at,
        request_headers={},
        result=throttled.result,
        verdict=Verdict(AttemptOutcome.RETRY, 120.0),
    )

    # when
    attempts_record([throttled], now=now)

    # then
    delivery = Delivery.objects.get(id=job.delivery_id)
    assert delivery.state == "failed"
    assert delivery.next_attempt_at == now + timedelta(seconds=120)


def test_reactivation_makes_paused_deliveries_due_oldest_first(account):
    # given: three deliveries waiting for an inactive subscription
    webhook = webhook_create(
        account=account, url="https://example.com/hook", events=[EVENT], active=False
    )
    published = [publish(account) for _ in range(3)]

    # when
    from deliveries.services.subscriptions import webhook_update

    webhook_update(webhook=webhook, active=True)

    # then
    claimed = [deliveries_claim_due(limit=1)[0] for _ in range(3)]
    assert [job.delivery_id for job in claimed] == [
        Delivery.objects.get(event_id=p.event.id).id for p in published
    ]


def test_claim_leaves_subscriptions_at_their_in_flight_cap(account, webhook):
    # given: due deliveries to two subscriptions
    other = webhook_create(account=account, url="https://example.org/hook", events=[EVENT])
    publish(account)

    # when: this worker knows `webhook` is at its cap
    jobs = deliveries_claim_due(limit=10, exclude_webhook_ids=[webhook.id])

    # then
    assert [job.webhook_id for job in jobs] == [other.id]
    assert Delivery.objects.get(webhook=webhook).state == "pending"


def test_deferring_puts_held_back_deliveries_back_without_an_attempt(account, webhook):
    # given: two claimed deliveries, one of which another worker took over meanwhile
    from deliveries.services.claiming import deliveries_defer

    publish(account)
    publish(account)
    first, second = deliveries_claim_due(limit=10)
    Delivery.objects.filter(id=second.delivery_id).update(claim_token=uuid.uuid4())
    due_at = timezone.now() + timedelta(seconds=3)

    # when
    deliveries_defer(deferrals=[(first, due_at), (second, due_at)])

    # then
    held_back = Delivery.objects.get(id=first.delivery_id)
    assert (held_back.state, held_back.next_attempt_at, held_back.claim_token) == (
        "pending",
        due_at,
        None,
    )
    assert held_back.attempt_count == 0
    assert Delivery.objects.get(id=second.delivery_id).state == "sending"
