"""Issue 14 items 4-6 on the real stack (PostgreSQL, Redis, a Celery worker and scheduler,
local HTTP receivers): Standard Webhooks signatures verified with the official
`standardwebhooks` package (rotation included), a subscription's own headers on every attempt
and redirect hop, redacted where attempts are stored, and event replay."""

import json

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from deliveries.models import Attempt, Delivery
from deliveries.services.lifecycle import deliveries_resend
from deliveries.services.publishing import event_publish
from deliveries.services.replay import event_replay
from tests.conftest import wait_until
from tests.support.receivers import ReceivedRequest, Reply, ScriptedReceiver
from webhooks.services import webhook_create, webhook_regenerate_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EVENT = "customers.create.v0"


def settled(delivery_id: int, *states: str) -> Delivery | None:
    delivery = Delivery.objects.get(id=delivery_id)
    return delivery if delivery.state in states else None


def verifies(secret: str, request: ReceivedRequest) -> bool:
    """Whether the official Standard Webhooks library accepts the request under `secret`."""
    try:
        StandardWebhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def test_standard_webhooks_deliveries_verify_with_the_official_library_through_a_rotation(
    stack, account, receiver
):
    # given a subscription signing the Standard Webhooks way
    webhook = webhook_create(
        account=account, url=receiver.url(), events=[EVENT], signature_scheme="standard-webhooks"
    )
    first_secret = webhook.secret
    assert first_secret.startswith("whsec_")

    # when an event is published
    published = event_publish(account=account, key=EVENT)
    delivery = Delivery.objects.get(event=published.event)
    wait_until(lambda: settled(delivery.id, "succeeded"))

    # then the library verifies it unchanged, webhook-id is the event_id, the body is the
    # usual envelope, and there is no Tillhub-Signature
    (request,) = receiver.requests
    assert StandardWebhook(first_secret).verify(request.body, request.headers)["event_id"] == (
        str(published.event.id)
    )
    assert request.headers["webhook-id"] == str(published.event.id)
    assert abs(int(request.headers["webhook-timestamp"]) - request.received_at) < 5
    assert "Tillhub-Signature" not in request.headers
    assert json.loads(request.body)["webhook_id"] == str(webhook.id)

    # when the secret is regenerated with a grace period and the delivery resent
    webhook_regenerate_secret(webhook=webhook, grace_seconds=3600)
    webhook.refresh_from_db()
    second_secret = webhook.secret
    assert second_secret.startswith("whsec_") and second_secret != first_secret
    deliveries_resend(delivery_ids=[delivery.id])
    wait_until(lambda: len(receiver.requests) == 2 and settled(delivery.id, "succeeded"))

    # then the request carries one entry per live secret and verifies under either
    rotated = receiver.requests[1]
    assert len(rotated.headers["webhook-signature"].split(" ")) == 2
    assert verifies(second_secret, rotated)
    assert verifies(first_secret, rotated)
    assert rotated.body == request.body
    assert not verifies("whsec_" + "A" * 43 + "=", rotated)

    # when the grace ends (a regeneration without one) and it is resent again
    webhook_regenerate_secret(webhook=webhook, grace_seconds=0)
    webhook.refresh_from_db()
    deliveries_resend(delivery_ids=[delivery.id])
    wait_until(lambda: len(receiver.requests) == 3 and settled(delivery.id, "succeeded"))

    # then only the newest secret verifies it
    final = receiver.requests[2]
    assert verifies(webhook.secret, final)
    assert not verifies(second_secret, final) and not verifies(first_secret, final)


def test_own_headers_go_with_every_attempt_and_hop_and_are_stored_redacted(
    stack, account, receiver
):
    # given a receiver that redirects within its origin, then fails once, then accepts
    receiver.then(Reply(status=307, headers={"Location": receiver.url("/moved")}))
    receiver.then(Reply(status=503))
    webhook_create(
        account=account,
        url=receiver.url("/hook"),
        events=[EVENT],
        headers={"X-Api-Key": "gw-secret-key-123", "X-Tenant": "berlin"},
    )

    # when an event is published
    published = event_publish(account=account, key=EVENT)
    delivery = Delivery.objects.get(event=published.event)
    wait_until(lambda: settled(delivery.id, "succeeded"), timeout=30)

    # then every request (the first hop, the redirected one, the retry) carried them
    assert len(receiver.requests) >= 3
    for request in receiver.requests:
        assert request.headers["X-Api-Key"] == "gw-secret-key-123"
        assert request.headers["X-Tenant"] == "berlin"
        assert "Tillhub-Signature" in request.headers

    # and the stored attempts show the names, not the values
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.request_headers["X-Api-Key"] == "[redacted]"
        assert attempt.request_headers["X-Tenant"] == "[redacted]"
        assert "gw-secret-key-123" not in json.dumps(attempt.request_headers)
    assert "gw-secret-key-123" not in stack.logs()


def test_replay_sends_the_same_event_again_and_to_a_new_subscriber(stack, account, receiver):
    # given an event delivered to one subscription
    first = webhook_create(account=account, url=receiver.url("/first"), events=[EVENT])
    published = event_publish(account=account, key=EVENT)
    original = Delivery.objects.get(event=published.event)
    wait_until(lambda: settled(original.id, "succeeded"))
    later_receiver = ScriptedReceiver()
    try:
        later = webhook_create(account=account, url=later_receiver.url("/later"), events=[EVENT])

        # when the event is replayed
        counts = event_replay(event=published.event)

        # then the first subscription gets the very same body again, the new one its own
        assert counts.deliveries == 2 and counts.resent == 1 and counts.created == 1
        wait_until(lambda: len(receiver.requests) == 2 and len(later_receiver.requests) == 1)
        before, again = receiver.requests
        assert again.body == before.body
        (new,) = later_receiver.requests
        envelope = json.loads(new.body)
        assert envelope["event_id"] == str(published.event.id)
        assert envelope["webhook_id"] == str(later.id)
        assert envelope["payload"] == json.loads(before.body)["payload"]
        new_delivery = Delivery.objects.get(webhook=later)
        wait_until(lambda: settled(new_delivery.id, "succeeded"))
        assert Attempt.objects.filter(delivery=original).count() == 2
        assert str(first.id) in before.body.decode()
    finally:
        later_receiver.close()
