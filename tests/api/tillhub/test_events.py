"""/api/v0/events: a webhook's events, their attempt logs, meta, replay and test events, in
the SDK's shapes and query forms (SPEC 8). Attempts are recorded directly here; the
delivered-for-real path is test_delivered.py."""

import json
import uuid
from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone

from deliveries.models import Delivery
from events.envelope import render_event
from tests.api.conftest import add_attempt, create_webhook, publish
from tests.api.test_event_types import define_invoices_paid
from tests.api.tillhub.conftest import BASE, assert_envelope, assert_error

EVENT_FIELDS = {
    "id",
    "entityInstanceId",
    "entity",
    "eventType",
    "version",
    "nextTryAt",
    "requestPayload",
    "triesCount",
    "sentSuccessfully",
    "lastResponseType",
    "url",
    "webhook",
}
LOG_FIELDS = {"id", "responsePayload", "sentSuccessfully", "createdAt", "updatedAt", "webhookEvent"}


def _webhook(th, **fields):
    events = ["products.update.v0", "customers.create.v0", "customers.delete.v0"]
    return create_webhook(th.tenant.account, events=events, **fields)


def _delivery(event, webhook) -> Delivery:
    return Delivery.objects.get(event=event, webhook=webhook)


def _succeed(delivery: Delivery) -> None:
    add_attempt(delivery, outcome="success", status=200, response_body='{"ok":true}')
    delivery.state = Delivery.State.SUCCEEDED
    delivery.succeeded_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.save()


def _fail(delivery: Delivery) -> None:
    add_attempt(delivery, outcome="retry", status=503, error_kind="5xx", response_body="down")
    delivery.state = Delivery.State.FAILED
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=30)
    delivery.save()


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in assert_envelope(response.json())]


def test_a_webhook_event_field_by_field(th):
    # given: one delivery that failed once, then succeeded
    webhook = _webhook(th)
    entity_id = uuid.uuid4()
    event = publish(
        th.tenant.account, "products.update.v0", payload={"id": str(entity_id), "name": "Kaffee"}
    )
    delivery = _delivery(event, webhook)
    _fail(delivery)
    _succeed(delivery)

    # when
    response = th.get(f"/events/{th.acc}/{webhook.id}")

    # then
    assert response.status_code == 200
    (item,) = assert_envelope(response.json(), count=1)
    assert set(item) == EVENT_FIELDS
    assert item["id"] == str(event.id)
    assert item["entityInstanceId"] == str(entity_id)
    assert item["entity"] == "products"
    assert item["eventType"] == "update"
    assert item["version"] == "v0"
    assert item["nextTryAt"] is None
    assert item["requestPayload"] == json.loads(render_event(event, webhook_id=str(webhook.id)))
    assert item["requestPayload"]["event_id"] == str(event.id)
    assert item["triesCount"] == 2
    assert item["sentSuccessfully"] is True
    assert item["lastResponseType"] == "success"
    assert item["url"] == webhook.url
    assert item["webhook"]["id"] == str(webhook.id)
    assert item["webhook"]["eventList"] == webhook.events


def test_sent_successfully_and_last_response_type_before_and_after_attempts(th):
    webhook = _webhook(th)
    waiting = _delivery(publish(th.tenant.account, "products.update.v0"), webhook)
    failing = _delivery(publish(th.tenant.account, "products.update.v0"), webhook)
    _fail(failing)

    items = {
        item["id"]: item for item in th.get(f"/events/{th.acc}/{webhook.id}").json()["results"]
    }

    never = items[str(waiting.event_id)]
    assert never["sentSuccessfully"] is None and never["lastResponseType"] is None
    assert never["triesCount"] == 0
    failed = items[str(failing.event_id)]
    assert failed["sentSuccessfully"] is False and failed["lastResponseType"] == "error"
    assert failed["nextTryAt"] is not None


def test_return_retries_gives_the_attempt_log_as_children(th):
    # given
    webhook = _webhook(th)
    event = publish(th.tenant.account, "products.update.v0")
    delivery = _delivery(event, webhook)
    _fail(delivery)
    _succeed(delivery)

    # when
    without = th.get(f"/events/{th.acc}/{webhook.id}").json()["results"][0]
    response = th.get(f"/events/{th.acc}/{webhook.id}", returnRetries="true")

    # then: the attempts, oldest first
    assert "children" not in without
    (item,) = assert_envelope(response.json(), count=1)
    first, second = item["children"]
    for child in (first, second):
        assert set(child) == LOG_FIELDS
        assert child["webhookEvent"] == {"id": str(event.id)}
        assert child["createdAt"] <= child["updatedAt"]
    assert first["sentSuccessfully"] is False
    assert first["responsePayload"]["statusCode"] == 503
    assert first["responsePayload"]["body"] == "down"
    assert first["responsePayload"]["errorKind"] == "5xx"
    assert second["sentSuccessfully"] is True
    assert second["responsePayload"]["statusCode"] == 200
    assert second["responsePayload"]["errorKind"] is None
    assert first["createdAt"] <= second["createdAt"]


def test_one_event_with_its_attempts(th):
    webhook = _webhook(th)
    event = publish(th.tenant.account, "products.update.v0")
    _succeed(_delivery(event, webhook))

    response = th.get(f"/events/{th.acc}/{webhook.id}/{event.id}")

    (item,) = assert_envelope(response.json(), count=1)
    assert item["id"] == str(event.id)
    assert len(item["children"]) == 1
    assert_error(th.get(f"/events/{th.acc}/{webhook.id}/{uuid.uuid4()}"), 404)


def test_cursor_pagination_keeps_the_filters_across_three_pages(th):
    # given: 5 customer events and 2 product events
    webhook = _webhook(th)
    customers = [publish(th.tenant.account, "customers.create.v0").id for _ in range(5)]
    for _ in range(2):
        publish(th.tenant.account, "products.update.v0")

    # when: filtered by entity, 2 per page, following cursors.after verbatim
    response = th.http.get(f"{BASE}/events/{th.acc}/{webhook.id}?entity%5B0%5D=customers&limit=2")
    pages = [response.json()]
    while pages[-1]["cursors"]["after"]:
        response = th.http.get(pages[-1]["cursors"]["after"])
        assert response.status_code == 200
        pages.append(response.json())
        assert len(pages) <= 5

    # then
    assert [page["count"] for page in pages] == [2, 2, 1]
    listed = [item["id"] for page in pages for item in page["results"]]
    assert listed == [str(event_id) for event_id in reversed(customers)]


def test_arrays_in_all_three_query_forms(th):
    # given
    webhook = _webhook(th)
    events = [publish(th.tenant.account, "customers.create.v0").id for _ in range(3)]
    wanted = sorted(str(event_id) for event_id in events[:2])
    path = f"{BASE}/events/{th.acc}/{webhook.id}"

    # then: qs's indices (encoded or not), brackets, repeated keys
    for query in (
        f"eventId%5B0%5D={wanted[0]}&eventId%5B1%5D={wanted[1]}",
        f"eventId[1]={wanted[1]}&eventId[0]={wanted[0]}",
        f"eventId%5B%5D={wanted[0]}&eventId%5B%5D={wanted[1]}",
        f"eventId[]={wanted[0]}&eventId[]={wanted[1]}",
        f"eventId={wanted[0]}&eventId={wanted[1]}",
    ):
        assert sorted(_ids(th.http.get(f"{path}?{query}"))) == wanted, query


def test_filters_of_the_webhook_event_query(th):
    # given
    webhook = _webhook(th)
    created = publish(th.tenant.account, "customers.create.v0")
    removed = publish(th.tenant.account, "customers.delete.v0")
    product = publish(th.tenant.account, "products.update.v0")
    _succeed(_delivery(product, webhook))
    _fail(_delivery(removed, webhook))
    path = f"/events/{th.acc}/{webhook.id}"

    def ids(**params):
        return set(_ids(th.get(path, **params)))

    # then
    assert ids(sentSuccess="true") == {str(product.id)}
    assert ids(sentSuccess="false") == {str(removed.id)}
    assert ids(**{"event[0]": "customers:create:v0"}) == {str(created.id)}
    assert ids(**{"eventType[]": "delete"}) == {str(removed.id)}
    assert ids(entity="product") == {str(product.id)}
    assert ids(version="v0") == {str(created.id), str(removed.id), str(product.id)}
    assert ids(version="1") == set()
    assert ids(deleted="true") == set()
    assert ids(active="false") == set()
    assert len(ids(active="true", deleted="false")) == 3
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert ids(start=future) == set()
    assert len(ids(end=future)) == 3


def test_meta_is_always_one_element(th):
    webhook = _webhook(th)
    for _ in range(3):
        publish(th.tenant.account, "customers.create.v0")
    path = f"/events/{th.acc}/{webhook.id}/meta"

    for params, count in (({}, 3), ({"entity[0]": "products"}, 0), ({"limit": "1"}, 3)):
        response = th.get(path, **params)
        assert response.status_code == 200
        assert assert_envelope(response.json(), count=1) == [{"count": count}]


def test_bad_queries_are_a_400_with_msg_and_errors(th):
    webhook = _webhook(th)
    path = f"{BASE}/events/{th.acc}/{webhook.id}"

    for query, field in (
        ("event[0]=products.explode.v0", "event"),
        ("eventId[0]=not-a-uuid", "eventId"),
        ("entity=planets", "entity"),
        ("eventType[]=burn", "eventType"),
        ("sentSuccess=perhaps", "sentSuccess"),
        ("returnRetries=2", "returnRetries"),
        ("start=yesterday", "start"),
        ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end"),
        ("limit=0", "limit"),
        ("limit=" + quote("٣"), "limit"),
        ("offset=-1", "offset"),
        ("version=seven", "version"),
    ):
        for suffix in ("", "/meta"):
            errors = assert_error(th.http.get(f"{path}{suffix}?{query}"), 400)["errors"]
            fields = {error["field"].split(".")[0] for error in errors}
            assert field in fields, (query, errors)


def test_replay_without_a_body_resends_every_delivery_of_the_webhook(th):
    # given: two deliveries of this webhook (one succeeded) and one of another webhook
    webhook = _webhook(th)
    other = _webhook(th)
    first = publish(th.tenant.account, "customers.create.v0")
    second = publish(th.tenant.account, "products.update.v0")
    _succeed(_delivery(second, webhook))

    # when: an empty urlencoded POST, as the SDK sends replay() without a query
    response = th.post_empty(f"/events/{th.acc}/{webhook.id}/replay")

    # then
    assert response.status_code == 200
    assert assert_envelope(response.json(), count=1) == [{"count": 2, "paused": 0}]
    for event in (first, second):
        delivery = _delivery(event, webhook)
        assert delivery.state == Delivery.State.PENDING
        assert delivery.next_trigger == Delivery.Trigger.MANUAL
        assert delivery.event_id == event.id  # the same event id is resent
    assert _delivery(first, other).next_trigger == Delivery.Trigger.AUTOMATIC


def test_replay_with_a_query_resends_only_the_matching_ones(th):
    webhook = _webhook(th)
    failing = publish(th.tenant.account, "customers.create.v0")
    fine = publish(th.tenant.account, "customers.create.v0")
    _fail(_delivery(failing, webhook))
    _succeed(_delivery(fine, webhook))

    response = th.post(
        f"/events/{th.acc}/{webhook.id}/replay",
        {"sentSuccess": False, "event": ["customers.create.v0"], "returnRetries": False},
    )

    assert assert_envelope(response.json(), count=1) == [{"count": 1, "paused": 0}]
    assert _delivery(failing, webhook).next_trigger == Delivery.Trigger.MANUAL
    assert _delivery(fine, webhook).next_trigger == Delivery.Trigger.AUTOMATIC
    by_id = th.post(f"/events/{th.acc}/{webhook.id}/replay", {"eventId": [str(fine.id)]})
    assert by_id.json()["results"] == [{"count": 1, "paused": 0}]
    bad = th.post(f"/events/{th.acc}/{webhook.id}/replay", {"sentSuccess": "sometimes"})
    assert_error(bad, 400)
    unknown = th.post(f"/events/{th.acc}/{webhook.id}/replay", {"event": ["nope.create.v0"]})
    assert_error(unknown, 400)


def test_test_events_answer_one_webhook_event_each(th):
    webhook = _webhook(th)

    response = th.post(
        f"/events/{th.acc}/{webhook.id}/test",
        {"events": ["transactions:create:v0", "balances.create.v0"]},
    )

    assert response.status_code == 200
    items = assert_envelope(response.json(), count=2)
    assert [(item["entity"], item["eventType"]) for item in items] == [
        ("transactions", "create"),
        ("balances", "create"),
    ]
    for item in items:
        assert set(item) == EVENT_FIELDS
        assert item["triesCount"] == 0 and item["sentSuccessfully"] is None
        assert item["requestPayload"]["webhook_id"] == str(webhook.id)
    for body, field in (
        ({"events": ["nope.create.v0"]}, "events"),
        ({"events": []}, "events"),
        ({}, "events"),
        ({"events": "products.create.v0"}, "events"),
    ):
        errors = assert_error(th.post(f"/events/{th.acc}/{webhook.id}/test", body), 400)["errors"]
        assert field in {error["field"] for error in errors}
    assert_error(th.post_empty(f"/events/{th.acc}/{webhook.id}/test"), 400)


def test_replay_to_an_inactive_webhook_waits_as_paused(th):
    # given
    webhook = _webhook(th, active=False)
    event = publish(th.tenant.account, "customers.create.v0")

    # when
    response = th.post_empty(f"/events/{th.acc}/{webhook.id}/replay")

    # then: resent, but held until the webhook is activated (SPEC 4)
    assert assert_envelope(response.json(), count=1) == [{"count": 1, "paused": 1}]
    delivery = _delivery(event, webhook)
    assert delivery.state == Delivery.State.PAUSED
    assert delivery.next_trigger == Delivery.Trigger.MANUAL


def test_replay_of_one_page_resends_only_that_page(th):
    webhook = _webhook(th)
    events = [publish(th.tenant.account, "customers.create.v0") for _ in range(3)]

    response = th.post(f"/events/{th.acc}/{webhook.id}/replay", {"limit": 1, "offset": 1})

    assert assert_envelope(response.json(), count=1) == [{"count": 1, "paused": 0}]
    manual = [
        event.id
        for event in events
        if _delivery(event, webhook).next_trigger == Delivery.Trigger.MANUAL
    ]
    assert manual == [events[1].id]  # newest first: offset 1 is the middle one


def test_an_event_of_the_accounts_own_type_is_served_too(th):
    # given: an own event type, a webhook listing it and one published event
    assert define_invoices_paid(th.tenant.client).status_code == 201
    webhook = create_webhook(th.tenant.account, events=["invoices.paid.v1"])
    event = publish(
        th.tenant.account, "invoices.paid.v1", payload={"number": "RE-1", "amount": 100}
    )

    # when
    response = th.get(f"/events/{th.acc}/{webhook.id}/{event.id}")

    # then: the key's parts, not the built-in catalog (which does not know it)
    (item,) = assert_envelope(response.json(), count=1)
    assert (item["entity"], item["eventType"], item["version"]) == ("invoices", "paid", "v1")
