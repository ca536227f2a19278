"""An Idempotency-Key reused with a different body is a 422 (SPEC 5); a manual resend to an
inactive subscription waits as `paused` and says so (SPEC 4), in the API and the dashboard, and
a real worker sends it only once the subscription is activated."""

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from deliveries.models import Delivery
from deliveries.services.subscriptions import webhook_update
from events.models import Event
from tests.api.conftest import EVENT, Tenant, create_webhook, publish
from tests.conftest import wait_until
from tests.support.receivers import ScriptedReceiver

PAYLOAD = {"name": "Kaffee", "metadata": {"amount": 4.5, "currency": "EUR"}}


# --- Idempotency-Key --------------------------------------------------------------------------


@pytest.mark.django_db
def test_idempotency_key_with_a_different_body_is_422_and_creates_nothing(api, tenant):
    # given
    first = api.post(
        "/api/v1/events/",
        {"event": EVENT, "payload": PAYLOAD},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-4711",
    )

    # when
    other = api.post(
        "/api/v1/events/",
        {"event": EVENT, "payload": {**PAYLOAD, "name": "Tee"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-4711",
    )

    # then
    assert first.status_code == 202
    assert other.status_code == 422
    body = other.json()
    assert body["code"] == "idempotency_key_reused"
    assert "different" in body["detail"]
    assert "Idempotency-Key" in body["errors"]
    assert Event.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changed",
    [
        {"event": "customers.create.v0"},
        {"entity_instance_id": "10b06f38-031d-4e0c-8706-0474c8c5b61c"},
        {"payload": None},
    ],
)
def test_idempotency_key_with_any_field_changed_is_422(api, tenant, changed):
    body = {"event": EVENT, "payload": PAYLOAD}
    api.post("/api/v1/events/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    repeat = {key: value for key, value in {**body, **changed}.items() if value is not None}
    response = api.post("/api/v1/events/", repeat, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422


@pytest.mark.django_db
def test_idempotency_key_with_the_same_parsed_body_replays_the_first_answer(api, tenant):
    # given: the same JSON, with keys in another order, other spacing and the colon alias
    first_text = json.dumps({"event": EVENT, "payload": PAYLOAD})
    second_text = json.dumps(
        {
            "payload": {"metadata": {"currency": "EUR", "amount": 4.5}, "name": "Kaffee"},
            "event": EVENT,
        },
        indent=4,
    )
    first = api.post(
        "/api/v1/events/",
        first_text,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-4712",
    )

    # when
    second = api.post(
        "/api/v1/events/",
        second_text,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-4712",
    )

    # then
    assert second.status_code == 202
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_without_payload_replays_with_the_generated_one(api, tenant):
    first = api.post("/api/v1/events/", {"event": EVENT}, format="json", HTTP_IDEMPOTENCY_KEY="g")
    second = api.post("/api/v1/events/", {"event": EVENT}, format="json", HTTP_IDEMPOTENCY_KEY="g")

    assert second.status_code == 202
    assert second.json()["event_id"] == first.json()["event_id"]


# --- resend on an inactive subscription: the answer and the page ------------------------------


def inactive_delivery(tenant: Tenant) -> Delivery:
    webhook = create_webhook(tenant.account)
    publish(tenant.account)
    delivery = Delivery.objects.get()
    # as if it was attempted, failed for good, and the subscription was switched off since
    Delivery.objects.filter(id=delivery.id).update(state="gave_up", next_attempt_at=None)
    webhook_update(webhook=webhook, active=False)
    delivery.refresh_from_db()
    return delivery


@pytest.mark.django_db
def test_resend_one_on_an_inactive_subscription_waits_paused_and_says_so(api, tenant):
    # given
    delivery = inactive_delivery(tenant)

    # when
    response = api.post(f"/api/v1/deliveries/{delivery.id}/resend/")

    # then
    assert response.status_code == 202
    assert response.json() == {"queued": 0, "paused": 1}
    delivery.refresh_from_db()
    assert delivery.state == "paused"
    assert delivery.next_attempt_at is None
    assert delivery.next_trigger == "manual"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"all": True}, "ids"])
def test_bulk_resend_on_an_inactive_subscription_waits_paused_and_says_so(api, tenant, body):
    # given
    delivery = inactive_delivery(tenant)
    if body == "ids":
        body = {"delivery_ids": [delivery.id]}

    # when
    response = api.post(f"/api/v1/webhooks/{delivery.webhook_id}/resend/", body, format="json")

    # then
    assert response.status_code == 202
    assert response.json() == {"queued": 0, "paused": 1}
    delivery.refresh_from_db()
    assert delivery.state == "paused"


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_dashboard_resends_on_an_inactive_webhook_say_they_wait_paused(tenant):
    # given
    delivery = inactive_delivery(tenant)
    client = Client()
    client.force_login(tenant.user)
    webhook_id = delivery.webhook_id

    # when
    one = client.post(f"/deliveries/{delivery.id}/resend/", follow=True)
    selected = client.post(
        f"/webhooks/{webhook_id}/resend/",
        {"delivery_ids": [delivery.id], "confirmed": "yes"},
        follow=True,
    )
    confirm = client.get(f"/webhooks/{webhook_id}/resend-all/")
    everything = client.post(f"/webhooks/{webhook_id}/resend-all/", follow=True)

    # then
    assert _messages(one) == [
        f"Delivery {delivery.id} waits paused: its webhook is inactive. "
        "It is sent when the webhook is activated."
    ]
    paused_note = (
        "1 delivery waits paused: the webhook is inactive. They are sent when it is activated."
    )
    assert _messages(selected) == [paused_note]
    assert b"This webhook is inactive: the deliveries are not sent now." in confirm.content
    assert _messages(everything) == [paused_note]
    delivery.refresh_from_db()
    assert delivery.state == "paused"


# --- resend on an inactive subscription: a real worker ----------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_a_paused_resend_only_after_activation(stack, tenant):
    # given: a delivery that succeeded, then its subscription was switched off
    receiver = ScriptedReceiver()
    try:
        webhook = create_webhook(tenant.account, url=receiver.url())
        publish(tenant.account)
        delivery = wait_until(lambda: Delivery.objects.filter(state="succeeded").first())
        webhook_update(webhook=webhook, active=False)

        # when: resent while inactive, with the worker and scheduler running
        response = tenant.client.post(f"/api/v1/deliveries/{delivery.id}/resend/")

        # then: it stays paused and nothing is sent (the scheduler ticks every 0.2 s and the
        # worker polls the database; a few ticks' worth is enough to see a wrong send)
        assert response.json() == {"queued": 0, "paused": 1}
        with pytest.raises(AssertionError):
            receiver.wait_for_requests(2, timeout=2)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempt_count) == ("paused", 1)

        # when: activated
        webhook_update(webhook=webhook, active=True)

        # then: the resend goes out as a manual attempt
        receiver.wait_for_requests(2, timeout=20)
        delivery = wait_until(
            lambda: Delivery.objects.filter(
                id=delivery.id, state="succeeded", attempt_count=2
            ).first()
        )
        assert delivery.attempts.order_by("number").last().trigger == "manual"
    finally:
        receiver.close()
