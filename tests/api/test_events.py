"""Publishing (idempotent, size-capped), listing and reading events; the catalog."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from events.catalog import BUILTIN_EVENT_TYPES
from events.models import Event
from tests.api.conftest import EVENT, create_webhook, publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def test_publish_with_a_payload_fans_out_to_subscriptions_listing_the_key(api, tenant):
    # given: two subscriptions with the key (one inactive) and one without
    create_webhook(tenant.account)
    create_webhook(tenant.account, active=False)
    create_webhook(tenant.account, events=["customers.create.v0"])
    entity_id = uuid.uuid4()

    # when
    response = api.post(
        URL,
        {
            "event": "product:update:v0",
            "entity_instance_id": str(entity_id),
            "payload": {"name": "Kaffee"},
        },
        format="json",
    )

    # then
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["deliveries"] == 2
    assert data["event"] == EVENT
    event = Event.objects.get(id=data["event_id"])
    assert event.entity_instance_id == entity_id
    assert json.loads(event.payload_json) == {"id": str(entity_id), "name": "Kaffee"}
    states = sorted(Delivery.objects.filter(event=event).values_list("state", flat=True))
    assert states == ["paused", "pending"]


def test_publish_without_a_payload_generates_a_realistic_one(api, tenant):
    # given
    create_webhook(tenant.account, events=["customers.create.v0"])

    # when
    response = api.post(URL, {"event": "customers.create.v0"}, format="json")

    # then
    assert response.status_code == 202, response.json()
    event = Event.objects.get(id=response.json()["event_id"])
    payload = json.loads(event.payload_json)
    assert payload["id"] == str(event.entity_instance_id)
    assert len(payload) > 3  # a whole customer, not a stub


def test_an_operational_event_cannot_be_published_through_the_api(api, tenant):
    # given: a subscription that listens for Hookline's own operational events
    webhook = create_webhook(tenant.account, events=["hookline.webhook_disabled.v1"])

    # when: the account tries to publish one itself
    response = api.post(URL, {"event": "hookline.webhook_disabled.v1"}, format="json")

    # then: refused, nothing stored; a test event still shows the type's shape
    assert response.status_code == 400
    assert "published by Hookline itself" in response.json()["errors"]["event"][0]
    assert not Event.objects.exists()
    test = api.post(
        f"/api/v1/webhooks/{webhook.id}/test/",
        {"events": ["hookline.webhook_disabled.v1"]},
        format="json",
    )
    assert test.status_code in (200, 202), test.json()


def test_same_idempotency_key_returns_the_first_answer_and_creates_nothing(api, tenant):
    # given
    create_webhook(tenant.account)
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-4711"}
    first = api.post(URL, {"event": EVENT, "payload": {"name": "Kaffee"}}, format="json", **headers)

    # when
    again = api.post(URL, {"event": EVENT, "payload": {"name": "Kaffee"}}, format="json", **headers)

    # then
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Event.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_idempotency_key_is_per_account_and_expires_after_24_hours(api, tenant, other_tenant):
    # given
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = api.post(URL, {"event": EVENT, "payload": {}}, format="json", **headers)

    # when: another account uses the same key
    theirs = other_tenant.client.post(
        URL, {"event": EVENT, "payload": {}}, format="json", **headers
    )

    # then
    assert theirs.json()["event_id"] != first.json()["event_id"]

    # given: the first answer is older than 24 h
    Event.objects.filter(id=first.json()["event_id"]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    # when
    later = api.post(URL, {"event": EVENT, "payload": {}}, format="json", **headers)

    # then
    assert later.json()["event_id"] != first.json()["event_id"]
    assert "Idempotent-Replayed" not in later.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\there"])
def test_bad_idempotency_keys_are_400(api, key):
    # when
    response = api.post(
        URL, {"event": EVENT, "payload": {}}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    # then
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Event.objects.exists()


def test_an_oversized_payload_is_413(api, settings):
    # given: a payload just over the limit as compact JSON, in a body under the raw bound
    settings.WEBHOOK_MAX_PAYLOAD_BYTES = 1000
    payload = {"blob": "x" * 1000}

    # when
    response = api.post(URL, {"event": EVENT, "payload": payload}, format="json")

    # then
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert "1000 bytes" in body["errors"]["payload"][0]
    assert not Event.objects.exists()


def test_an_oversized_request_body_is_413_before_parsing(api, settings):
    # given: a body far over the bound, and not even valid JSON
    settings.WEBHOOK_MAX_PAYLOAD_BYTES = 1000
    body = b'{"event": "products.update.v0", "payload": {"blob": "' + b"x" * 5000

    # when
    response = api.post(URL, body, content_type="application/json")

    # then
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "orders.create.v0"}, "event"),
        ({}, "event"),
        ({"event": EVENT, "payload": [1, 2]}, "payload"),
        ({"event": EVENT, "payload": "text"}, "payload"),
        ({"event": EVENT, "payload": {"id": "not-a-uuid"}}, "payload"),
        ({"event": EVENT, "entity_instance_id": "nope"}, "entity_instance_id"),
        (
            {
                "event": EVENT,
                "entity_instance_id": str(uuid.uuid4()),
                "payload": {"id": str(uuid.uuid4())},
            },
            "entity_instance_id",
        ),
    ],
)
def test_invalid_publish_is_400_naming_the_field(api, body, field):
    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Event.objects.exists()


def test_payload_nesting_is_bounded(api):
    # given: 40 levels of nesting (the service allows 32), and 100,000 (the parser's limit)
    deep = {"id": str(uuid.uuid4())}
    for _ in range(40):
        deep = {"child": deep}
    very_deep = '{"event": "products.update.v0", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}"

    # when
    response = api.post(URL, {"event": EVENT, "payload": deep}, format="json")
    parser = api.post(URL, very_deep, content_type="application/json")

    # then
    assert response.status_code == 400
    assert "payload" in response.json()["errors"]
    assert parser.status_code == 400
    assert parser.json()["code"] == "parse_error"


def test_list_filters_by_key_and_time_and_counts_deliveries(api, tenant):
    # given
    create_webhook(tenant.account)
    product = publish(tenant.account)
    customer = publish(tenant.account, key="customers.create.v0")
    old = publish(tenant.account)
    Event.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()

    def ids(**query):
        response = api.get(URL, query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    # when / then
    assert ids() == [str(customer.id), str(product.id), str(old.id)]
    assert ids(event="products.update.v0") == [str(product.id), str(old.id)]
    assert ids(since=yesterday) == [str(customer.id), str(product.id)]
    assert ids(until=yesterday) == [str(old.id)]
    rows = {row["id"]: row for row in api.get(URL).json()["results"]}
    assert rows[str(product.id)]["delivery_count"] == 1
    assert rows[str(customer.id)]["delivery_count"] == 0
    assert rows[str(product.id)]["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    "query", [{"event": "x"}, {"since": "tomorrow"}, {"until": "2026-02-30T00:00:00"}]
)
def test_list_refuses_bad_filters(api, query):
    # when
    response = api.get(URL, query)

    # then
    assert response.status_code == 400
    assert set(query) <= set(response.json()["errors"])


@pytest.mark.parametrize(
    "spelling",
    [
        str.upper,
        lambda text: "{" + text + "}",
        lambda text: "urn:uuid:" + text,
        lambda text: text.replace("-", ""),
    ],
    ids=["uppercase", "braces", "urn", "no-hyphens"],
)
def test_a_non_canonical_payload_id_is_stored_canonical(api, tenant, spelling):
    # given
    create_webhook(tenant.account)
    entity_id = uuid.uuid4()

    # when
    response = api.post(
        URL,
        {"event": EVENT, "payload": {"name": "Kaffee", "id": spelling(str(entity_id))}},
        format="json",
    )

    # then: payload.id is the envelope's entity_instance_id, byte for byte
    assert response.status_code == 202, response.json()
    event = Event.objects.get(id=response.json()["event_id"])
    assert event.entity_instance_id == entity_id
    assert f'"id":"{entity_id}"' in event.payload_json
    assert json.loads(event.payload_json) == {"name": "Kaffee", "id": str(entity_id)}
    assert list(json.loads(event.payload_json)) == ["name", "id"]  # the key keeps its place
    assert api.get(f"{URL}{event.id}/").json()["payload"]["id"] == str(entity_id)


def test_detail_has_the_payload_and_the_deliveries(api, tenant):
    # given
    webhook = create_webhook(tenant.account)
    event = publish(tenant.account, payload={"name": "Kaffee"})

    # when
    response = api.get(f"{URL}{event.id}/")

    # then
    assert response.status_code == 200
    data = response.json()
    assert data["payload"] == {"id": str(event.entity_instance_id), "name": "Kaffee"}
    assert data["event"] == EVENT
    assert data["source"] == "api"
    (delivery,) = data["deliveries"]
    assert delivery["webhook_id"] == str(webhook.id)
    assert delivery["state"] == "pending"


def test_event_types_list_the_catalog_with_payload_examples(api):
    # when
    response = api.get("/api/v1/event-types/")

    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["key"] for row in rows] == list(BUILTIN_EVENT_TYPES)
    stocks = next(row for row in rows if row["key"] == "stocks.update.v0")
    assert (stocks["entity"], stocks["action"], stocks["version"]) == ("stocks-book", "update", 0)
    assert all(row["description"] for row in rows)
    assert all(isinstance(row["payload_example"].get("id"), str) for row in rows)
    # the example is stable from call to call
    assert api.get("/api/v1/event-types/").json()["results"] == rows
