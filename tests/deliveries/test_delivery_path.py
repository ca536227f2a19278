"""The delivery path end to end: real PostgreSQL, Redis, Celery worker and scheduler processes,
and real local HTTP servers. Time is compressed through settings (tests/settings.py)."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.engine.signing import verify_signature
from deliveries.models import Attempt, Delivery
from deliveries.services.publishing import event_publish
from deliveries.services.subscriptions import webhook_update
from tests.conftest import wait_until
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create, webhook_regenerate_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EVENT = "customers.create.v0"


def delivery_of(event_id: uuid.UUID) -> Delivery:
    return Delivery.objects.get(event_id=event_id)


def settled(event_id: uuid.UUID, *states: str) -> Delivery | None:
    delivery = delivery_of(event_id)
    return delivery if delivery.state in states else None


def test_first_try_success_sends_the_exact_signed_envelope(stack, account, receiver):
    # given
    webhook = webhook_create(
        account=account,
        url=receiver.url(),
        events=[EVENT],
        username="shop",
        password="s3cret-pass",
    )
    entity_id = uuid.uuid4()
    payload = {"id": str(entity_id), "firstname": "Jürgen", "lastname": "Weiß"}

    # when
    published = event_publish(account=account, key="customer:create:v0", payload=payload)

    # then
    delivery = wait_until(lambda: settled(published.event.id, "succeeded"))
    (request,) = receiver.requests
    event = published.event
    expected_body = (
        '{{"webhook_id":"{}","event_id":"{}","event_entity":"customer","event_type":"create",'
        '"event_version":0,"entity_instance_id":"{}","timestamp":"{}","payload":{}}}'.format(
            webhook.id,
            event.id,
            entity_id,
            event.created_at.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{event.created_at.microsecond // 1000:03d}Z",
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        )
    ).encode()
    assert request.body == expected_body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Tillhub HTTP Connector/2.1.0"
    assert request.headers["Authorization"] == "Basic c2hvcDpzM2NyZXQtcGFzcw=="
    assert set(request.headers) == {
        "Host",
        "Content-Length",
        "Content-Type",
        "User-Agent",
        "Authorization",
        "Tillhub-Signature",
    }
    assert verify_signature(
        request.headers["Tillhub-Signature"],
        request.body,
        [webhook.secret],
        now_ms=int(request.received_at * 1000),
        tolerance_seconds=60,
    )
    assert delivery.attempt_count == 1
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.response_status == 200
    assert attempt.outcome == "success"
    assert attempt.request_headers["Authorization"] == "Basic [redacted]"


def test_server_error_then_success_retries_after_the_backoff(stack, account, receiver):
    # given
    receiver.then(Reply(status=500, body=b"database down"))
    webhook_create(account=account, url=receiver.url(), events=[EVENT])

    # when
    published = event_publish(account=account, key=EVENT, payload={})

    # then
    delivery = wait_until(lambda: settled(published.event.id, "succeeded"))
    first, second = receiver.requests
    assert second.received_at - first.received_at >= 0.3  # WEBHOOK_BACKOFF_BASE_SECONDS
    assert first.body == second.body
    assert first.headers["Tillhub-Signature"] != second.headers["Tillhub-Signature"]
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.number for a in attempts] == [1, 2]
    assert attempts[0].response_status == 500
    assert attempts[0].response_body == "database down"
    assert attempts[0].error_kind == "http_status"
    assert attempts[1].response_status == 200


def test_timeout_then_success(stack, account, receiver):
    # given: the first answer comes after the subscription's 1 s request timeout
    receiver.then(Reply(delay_seconds=2))
    webhook_create(account=account, url=receiver.url(), events=[EVENT], request_timeout_ms=1000)

    # when
    published = event_publish(account=account, key=EVENT, payload={})

    # then
    delivery = wait_until(lambda: settled(published.event.id, "succeeded"))
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.error_kind for a in attempts] == ["timeout", ""]
    assert attempts[0].duration_ms < 1900


def test_self_signed_https_endpoint_gives_up_without_retrying(stack, account):
    # given
    server = ScriptedReceiver(tls=True)
    try:
        webhook_create(account=account, url=server.url(), events=[EVENT])

        # when
        published = event_publish(account=account, key=EVENT, payload={})

        # then: no automatic retry, even well past the first backoff
        delivery = wait_until(lambda: settled(published.event.id, "gave_up"))
        wait_until(lambda: timezone.now() > delivery.last_attempt_at + timedelta(seconds=1.5))
        delivery.refresh_from_db()
        assert delivery.state == "gave_up"
        assert delivery.attempts.count() == 1
        assert delivery.attempts.get().error_kind == "tls"
    finally:
        server.close()


def test_event_past_retention_expires_without_an_attempt(stack, account, receiver, settings):
    # given: a delivery waiting for its subscription, whose event is 8 days old
    webhook = webhook_create(account=account, url=receiver.url(), events=[EVENT], active=False)
    published = event_publish(account=account, key=EVENT, payload={})
    old = timezone.now() - timedelta(days=8)
    published.event.__class__.objects.filter(id=published.event.id).update(created_at=old)
    Delivery.objects.filter(event_id=published.event.id).update(event_created_at=old)

    # when: the scheduler's expiry pass runs (every WEBHOOK_EXPIRY_INTERVAL_SECONDS)
    delivery = wait_until(lambda: settled(published.event.id, "expired"))
    webhook_update(webhook=webhook, active=True)

    # then
    assert delivery.attempt_count == 0
    assert receiver.requests == []
    assert delivery_of(published.event.id).state == "expired"


def test_inactive_subscription_pauses_and_reactivation_resumes(stack, account, receiver):
    # given
    webhook = webhook_create(account=account, url=receiver.url(), events=[EVENT], active=False)
    first = event_publish(account=account, key=EVENT, payload={})
    second = event_publish(account=account, key=EVENT, payload={})
    assert delivery_of(first.event.id).state == "paused"

    # when
    webhook_update(webhook=webhook, active=True)

    # then: both are delivered (which arrives first is up to two concurrent workers; the
    # claim order, oldest first, is pinned in tests/deliveries/test_services.py)
    wait_until(lambda: settled(second.event.id, "succeeded"))
    wait_until(lambda: settled(first.event.id, "succeeded"))
    event_ids = {json.loads(r.body)["event_id"] for r in receiver.requests}
    assert event_ids == {str(first.event.id), str(second.event.id)}


def test_deactivation_pauses_waiting_retries(stack, account, receiver):
    # given: a delivery failing and waiting for its retry
    receiver.default = Reply(status=503)
    webhook = webhook_create(account=account, url=receiver.url(), events=[EVENT])
    published = event_publish(account=account, key=EVENT, payload={})
    wait_until(lambda: settled(published.event.id, "failed"))

    # when
    webhook_update(webhook=webhook, active=False)

    # then
    assert delivery_of(published.event.id).state == "paused"


def test_gone_deactivates_the_subscription_with_a_reason(stack, account, receiver):
    # given
    receiver.default = Reply(status=410)
    webhook = webhook_create(account=account, url=receiver.url(), events=[EVENT])

    # when
    published = event_publish(account=account, key=EVENT, payload={})

    # then
    wait_until(lambda: settled(published.event.id, "paused"))
    webhook.refresh_from_db()
    assert webhook.active is False
    assert "410" in webhook.disabled_reason


def test_no_secret_or_password_reaches_any_log(stack, account, receiver, caplog):
    # given: a full cycle with a failure, a retry, a success and a secret rotation
    caplog.set_level("DEBUG")
    receiver.then(Reply(status=500))
    webhook = webhook_create(
        account=account,
        url=receiver.url(),
        events=[EVENT],
        username="loguser",
        password="never-log-this-password",
    )
    old_secret = webhook.secret
    webhook_regenerate_secret(webhook=webhook, grace_seconds=30)

    # when
    published = event_publish(account=account, key=EVENT, payload={})
    wait_until(lambda: settled(published.event.id, "succeeded"))

    # then
    logs = stack.logs() + caplog.text
    token = base64.b64encode(b"loguser:never-log-this-password").decode()
    for secret in (webhook.secret, old_secret, "never-log-this-password", token):
        assert secret not in logs
