"""The API's `health` (circuit breaker) and `ordering` fields of a subscription, and
`waiting_for` on a delivery (SPEC 3 and 4)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery, EndpointCircuit
from tests.api.conftest import create_webhook, publish
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def test_ordering_defaults_to_none_and_takes_entity(api):
    created = api.post(
        URL, {"url": "https://example.com/hook", "events": ["products.create.v0"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["ordering"] == "none"

    changed = api.patch(f"{URL}{created.json()['id']}/", {"ordering": "entity"}, format="json")

    assert changed.status_code == 200, changed.json()
    assert changed.json()["ordering"] == "entity"


@pytest.mark.parametrize("ordering", ["fifo", "", 1, "ENTITY", None, ["entity"]])
def test_any_other_ordering_is_a_field_level_400(api, tenant, ordering):
    webhook = create_webhook(tenant.account)

    response = api.patch(f"{URL}{webhook.id}/", {"ordering": ordering}, format="json")

    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]
    webhook.refresh_from_db()
    assert webhook.ordering == "none"


def test_a_new_subscription_is_healthy(api, tenant):
    webhook = create_webhook(tenant.account)

    health = api.get(f"{URL}{webhook.id}/").json()["health"]

    assert health["state"] == "healthy"
    assert health["next_probe_at"] is None
    assert health["consecutive_failures"] == 0
    assert health["since"]


def test_an_open_circuit_shows_since_when_and_the_next_probe(api, tenant):
    # given
    webhook = create_webhook(tenant.account)
    opened = timezone.now() - timedelta(minutes=3)
    EndpointCircuit.objects.create(
        webhook=webhook,
        state="open",
        since=opened,
        opened_at=opened,
        consecutive_failures=12,
        cooldown_seconds=60,
        next_probe_at=opened + timedelta(minutes=4),
        times_opened=1,
    )

    # when
    detail = api.get(f"{URL}{webhook.id}/").json()["health"]
    listed = api.get(URL).json()["results"][0]["health"]

    # then
    assert detail == listed
    assert detail["state"] == "open"
    assert detail["consecutive_failures"] == 12
    assert detail["since"].startswith(opened.strftime("%Y-%m-%dT%H:%M"))
    assert detail["next_probe_at"] is not None


def test_a_waiting_ordered_delivery_names_the_earlier_one(api, tenant):
    # given: two events of one entity to a subscription with ordering "entity"
    webhook = webhook_create(
        account=tenant.account,
        url="https://example.com/hook",
        events=["customers.create.v0", "customers.update.v0"],
        ordering="entity",
    )
    entity = uuid.uuid4()
    first = publish(tenant.account, "customers.create.v0", entity_instance_id=entity)
    second = publish(tenant.account, "customers.update.v0", entity_instance_id=entity)
    first_delivery = Delivery.objects.get(event=first, webhook=webhook)
    second_delivery = Delivery.objects.get(event=second, webhook=webhook)

    # when
    waiting = api.get(f"/api/v1/deliveries/{second_delivery.id}/").json()
    earliest = api.get(f"/api/v1/deliveries/{first_delivery.id}/").json()

    # then
    assert waiting["waiting_for"] == first_delivery.id
    assert earliest["waiting_for"] is None
    Delivery.objects.filter(id=first_delivery.id).update(state="succeeded")
    assert api.get(f"/api/v1/deliveries/{second_delivery.id}/").json()["waiting_for"] is None
