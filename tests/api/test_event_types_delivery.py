"""An account's own event type end to end: defined through the API, subscribed, published,
delivered by a real Celery worker to a real receiver on 127.0.0.1, signed, with its entity."""

import json

import pytest
from rest_framework.test import APIClient

from deliveries.engine.signing import verify_signature
from deliveries.models import Delivery
from tests.conftest import wait_until
from tests.support.receivers import ScriptedReceiver
from webhooks.models import Webhook

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

INVOICE_SCHEMA = {
    "type": "object",
    "required": ["number", "amount"],
    "properties": {"number": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}},
}


def test_an_own_type_is_defined_subscribed_published_and_delivered_signed(
    stack, account_with_token, receiver: ScriptedReceiver
):
    # given: invoices.paid.v1 defined and a webhook subscribed to it, through the API
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {account_with_token.token}")
    defined = api.post(
        "/api/v1/event-types/",
        {
            "key": "invoices.paid.v1",
            "entity": "invoice",
            "description": "An invoice was paid.",
            "schema": INVOICE_SCHEMA,
            "payload_example": {"number": "RE-1", "amount": 100},
        },
        format="json",
    )
    assert defined.status_code == 201, defined.json()
    created = api.post(
        "/api/v1/webhooks/",
        {"url": receiver.url(), "events": ["invoices.paid.v1"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    webhook = Webhook.objects.get(id=created.json()["id"])

    # when: a valid payload and an invalid one are published
    published = api.post(
        "/api/v1/events/",
        {"event": "invoices.paid.v1", "payload": {"number": "RE-2026-7", "amount": 4990}},
        format="json",
    )
    refused = api.post(
        "/api/v1/events/",
        {"event": "invoices.paid.v1", "payload": {"number": "RE-2026-8", "amount": -1}},
        format="json",
    )

    # then: the valid one is delivered, signed, with the own type's envelope
    assert published.status_code == 202, published.json()
    event_id = published.json()["event_id"]
    wait_until(lambda: Delivery.objects.filter(event_id=event_id, state="succeeded").first())
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["event_id"] == event_id
    assert body["webhook_id"] == str(webhook.id)
    assert (body["event_entity"], body["event_type"], body["event_version"]) == (
        "invoice",
        "paid",
        1,
    )
    assert body["payload"]["number"] == "RE-2026-7"
    assert body["entity_instance_id"] == body["payload"]["id"]
    assert verify_signature(
        request.headers["Tillhub-Signature"],
        request.body,
        [webhook.secret],
        now_ms=int(request.received_at * 1000),
        tolerance_seconds=60,
    )
    # and the invalid one is refused with the pointer and the rule, and never sent
    assert refused.status_code == 400
    assert (
        'at /amount: -1 is less than the minimum of 0 (rule "minimum")'
        in (refused.json()["errors"]["payload"][0])
    )
    assert Delivery.objects.count() == 1
