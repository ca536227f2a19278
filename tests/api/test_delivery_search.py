"""`GET /api/v1/deliveries/` (SPEC 5): every delivery of the account, newest first, with the
history's filters, the subscription, the status-code class and a search by id."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from api.deliveries import BoundedCountPagination
from deliveries.models import Delivery
from tests.api.conftest import add_attempt, create_webhook, publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/deliveries/"


def ids(api, **query):
    response = api.get(URL, query)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def two_webhooks(tenant):
    first = create_webhook(tenant.account, url="https://one.example.com/")
    second = create_webhook(tenant.account, url="https://two.example.com/",
                            events=["products.update.v0", "customers.create.v0"])  # fmt: skip
    return first, second


def test_lists_every_delivery_of_the_account_newest_first(api, tenant, other_tenant, two_webhooks):
    # given: one event to both webhooks, a later one to the second only; another account's
    first, second = two_webhooks
    shared = publish(tenant.account)
    later = publish(tenant.account, key="customers.create.v0")
    create_webhook(other_tenant.account)
    publish(other_tenant.account)

    # when
    response = api.get(URL)

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["count_exact"] is True
    rows = body["results"]
    assert [row["event_id"] for row in rows] == [str(later.id), str(shared.id), str(shared.id)]
    assert {row["webhook_id"] for row in rows} == {str(first.id), str(second.id)}
    assert all(row["sent_successfully"] is None for row in rows)


def test_filters_by_webhook_status_event_time_and_status_code(api, tenant, two_webhooks):
    # given
    first, second = two_webhooks
    publish(tenant.account)
    ok = Delivery.objects.get(webhook=first)
    refused = Delivery.objects.get(webhook=second)
    add_attempt(ok, status=204)
    add_attempt(refused, outcome="retry", status=404, error_kind="http_status")
    Delivery.objects.filter(id=ok.id).update(state="succeeded")
    Delivery.objects.filter(id=refused.id).update(state="failed")
    unavailable = Delivery.objects.get(event=publish(tenant.account, key="customers.create.v0"))
    add_attempt(unavailable, outcome="retry", status=503, error_kind="http_status")
    Delivery.objects.filter(id=unavailable.id).update(
        state="failed", created_at=timezone.now() - timedelta(days=2)
    )
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()

    # when / then
    assert ids(api, webhook=str(first.id)) == [ok.id]
    assert ids(api, status="failure") == [refused.id, unavailable.id]
    assert ids(api, status="succeeded") == [ok.id]
    assert ids(api, event="customers.create.v0") == [unavailable.id]
    assert set(ids(api, since=yesterday)) == {ok.id, refused.id}
    assert ids(api, until=yesterday) == [unavailable.id]
    assert ids(api, status_code="2xx") == [ok.id]
    assert sorted(ids(api, status_code="4xx") + ids(api, status_code="5xx")) == sorted(
        [refused.id, unavailable.id]
    )
    assert ids(api, status_code="503") == [unavailable.id]
    assert ids(api, status_code="5XX") == [unavailable.id]


def test_q_finds_by_delivery_id_event_id_or_entity_instance_id(
    api, tenant, other_tenant, two_webhooks
):
    # given
    entity = uuid.uuid4()
    event = publish(tenant.account, entity_instance_id=entity, payload={"id": str(entity)})
    other = publish(tenant.account)
    deliveries = sorted(Delivery.objects.filter(event=event).values_list("id", flat=True))
    create_webhook(other_tenant.account)
    foreign = publish(other_tenant.account)
    foreign_delivery = Delivery.objects.get(event=foreign)

    # when / then
    assert ids(api, q=str(deliveries[0])) == [deliveries[0]]
    assert sorted(ids(api, q=str(event.id))) == deliveries
    assert sorted(ids(api, q=f"  {entity}  ")) == deliveries
    assert ids(api, q=str(other.id)) != []
    # another account's delivery, event or entity is not found
    assert ids(api, q=str(foreign_delivery.id)) == []
    assert ids(api, q=str(foreign.id)) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status_code": "6xx"}, "status_code"),
        ({"status_code": "2x"}, "status_code"),
        ({"q": "not an id"}, "q"),
        ({"q": "٣"}, "q"),
        ({"webhook": "nope"}, "webhook"),
        ({"status": "green"}, "status"),
        ({"event": "orders.create.v0"}, "event"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(api, query, field):
    response = api.get(URL, query)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_count_stops_at_its_limit(api, tenant, two_webhooks, monkeypatch):
    # given: more deliveries than the (lowered) count limit
    monkeypatch.setattr(BoundedCountPagination, "COUNT_LIMIT", 3)
    for _ in range(3):
        publish(tenant.account)  # two deliveries each

    # when
    body = api.get(URL, {"limit": 2}).json()

    # then: the count says "at least 3", and the pages still go on
    assert (body["count"], body["count_exact"]) == (3, False)
    assert len(body["results"]) == 2
    assert body["next"] is not None
