"""Subscriptions through HTTP: CRUD, validation, activation, defaults, secrets, test events."""

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from events.models import Event
from tests.api.conftest import EVENT, create_webhook, publish
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def test_create_returns_the_subscription_with_defaults_and_never_the_password(api, settings):
    # given
    body = {
        "url": "https://example.com/hook",
        "events": ["products:create:v0", "transaction.create.v0"],
        "description": "ERP",
        "username": "erp",
        "password": "s3cret",
    }

    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["events"] == ["products.create.v0", "transactions.create.v0"]
    assert data["active"] is True
    assert data["username"] == "erp"
    assert data["has_password"] is True
    assert "password" not in data
    assert len(data["secret"]) >= 40
    assert data["max_in_flight"] == settings.WEBHOOK_DEFAULT_MAX_IN_FLIGHT
    assert data["connect_timeout_ms"] == settings.WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS
    assert data["request_timeout_ms"] == settings.WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS
    assert data["disabled_reason"] == ""
    webhook = Webhook.objects.get(id=data["id"])
    assert webhook.password == "s3cret"
    assert webhook.secret == data["secret"]


def test_list_is_paginated_and_filters_by_active(api, tenant):
    # given
    for number in range(3):
        create_webhook(tenant.account, url=f"https://example.com/{number}")
    create_webhook(tenant.account, url="https://example.com/off", active=False)

    # when
    page = api.get(URL, {"limit": 2})
    inactive = api.get(URL, {"active": "false"})

    # then
    assert page.status_code == 200
    assert page.json()["count"] == 4
    assert len(page.json()["results"]) == 2
    assert page.json()["next"] is not None
    assert [row["url"] for row in inactive.json()["results"]] == ["https://example.com/off"]


def test_retrieve_put_patch_and_delete(api, tenant):
    # given
    webhook = create_webhook(tenant.account, description="old", rate_per_second=5)
    detail = f"{URL}{webhook.id}/"

    # when / then: retrieve
    assert api.get(detail).json()["description"] == "old"

    # when / then: PUT needs url and events; fields left out keep their value
    response = api.put(
        detail, {"url": "https://example.org/new", "events": ["customers.create.v0"]}, "json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["url"] == "https://example.org/new"
    assert response.json()["events"] == ["customers.create.v0"]
    assert response.json()["rate_per_second"] == 5
    assert api.put(detail, {"description": "x"}, "json").status_code == 400

    # when / then: PATCH changes only what it names; null means unlimited
    response = api.patch(detail, {"rate_per_second": None, "burst": 10}, "json")
    assert response.status_code == 200, response.json()
    assert response.json()["rate_per_second"] is None
    assert response.json()["burst"] == 10
    assert response.json()["url"] == "https://example.org/new"

    # when / then: delete
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    assert not Webhook.objects.filter(id=webhook.id).exists()


def test_patch_active_false_pauses_and_true_resumes_deliveries(api, tenant):
    # given
    webhook = create_webhook(tenant.account)
    publish(tenant.account)
    detail = f"{URL}{webhook.id}/"

    # when
    paused = api.patch(detail, {"active": False}, "json")

    # then
    assert paused.status_code == 200
    assert paused.json()["active"] is False
    assert Delivery.objects.get(webhook=webhook).state == Delivery.State.PAUSED

    # when
    resumed = api.patch(detail, {"active": True}, "json")

    # then
    assert resumed.json()["active"] is True
    assert resumed.json()["disabled_reason"] == ""
    assert Delivery.objects.get(webhook=webhook).state == Delivery.State.PENDING


def test_password_can_be_cleared_and_username_removal_clears_it(api, tenant):
    # given
    webhook = create_webhook(tenant.account, username="u", password="p")
    detail = f"{URL}{webhook.id}/"

    # when
    cleared = api.patch(detail, {"password": None}, "json")

    # then
    assert cleared.json()["has_password"] is False

    # given
    api.patch(detail, {"password": "again"}, "json")

    # when
    response = api.patch(detail, {"username": ""}, "json")

    # then
    assert response.json()["has_password"] is False
    assert Webhook.objects.get(id=webhook.id).password == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://example.com/hook"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://example.com/" + "a" * 2100}, "url"),
        ({"events": ["orders.create.v0"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "products.create.v0"}, "events"),
        ({"events": [{"key": 1}]}, "events.0"),
        ({"rate_per_second": 0}, "rate_per_second"),
        ({"rate_per_second": "fast"}, "rate_per_second"),
        ({"burst": 0}, "burst"),
        ({"max_in_flight": 10**9}, "max_in_flight"),
        ({"connect_timeout_ms": 10}, "connect_timeout_ms"),
        ({"request_timeout_ms": 600_000}, "request_timeout_ms"),
        ({"request_timeout_ms": None}, "request_timeout_ms"),
        ({"active": "maybe"}, "active"),
        ({"description": "x" * 501}, "description"),
        ({"password": "p"}, "username"),
        ({"username": "shop:berlin", "password": "p"}, "username"),
        ({"username": ":"}, "username"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(api, settings, body, field):
    # given: http to a non-local host is refused even where local http is allowed
    settings.WEBHOOK_ALLOW_HTTP_LOCAL = True
    payload = {"url": "https://example.com/hook", "events": [EVENT], **body}

    # when
    response = api.post(URL, payload, format="json")

    # then
    assert response.status_code == 400, response.json()
    error = response.json()
    assert field in error["errors"], error
    assert error["code"] == "invalid"
    assert error["detail"]
    assert not Webhook.objects.exists()


def test_a_username_with_a_colon_is_refused_on_update_too(api, tenant):
    # given: RFC 7617 ends the user-id at the first colon, so "shop:berlin" with password "p"
    # would reach the receiver as user "shop" with password "berlin:p"
    webhook = create_webhook(tenant.account, username="shop", password="p")

    # when
    response = api.patch(f"{URL}{webhook.id}/", {"username": "shop:berlin"}, "json")

    # then
    assert response.status_code == 400
    (message,) = response.json()["errors"]["username"]
    assert '":"' in message
    assert Webhook.objects.get(id=webhook.id).username == "shop"


def test_unknown_event_keys_are_listed_with_the_known_ones(api):
    # when
    response = api.post(
        URL, {"url": "https://example.com/h", "events": ["orders.create.v0"]}, format="json"
    )

    # then
    (message,) = response.json()["errors"]["events"]
    assert "orders.create.v0" in message
    assert "products.create.v0" in message and "balances.create.v0" in message


def test_local_http_only_when_the_setting_allows_it(api, settings):
    body = {"url": "http://127.0.0.1:8000/hook", "events": [EVENT]}

    # given / when / then
    settings.WEBHOOK_ALLOW_HTTP_LOCAL = False
    assert api.post(URL, body, format="json").status_code == 400
    settings.WEBHOOK_ALLOW_HTTP_LOCAL = True
    assert api.post(URL, body, format="json").status_code == 201


def test_defaults_show_the_settings(api, settings):
    # given
    settings.WEBHOOK_DEFAULT_RATE_PER_SECOND = 12.5
    settings.WEBHOOK_DEFAULT_BURST = 20

    # when
    response = api.get(f"{URL}defaults/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "rate_per_second": 12.5,
        "burst": 20,
        "max_in_flight": settings.WEBHOOK_DEFAULT_MAX_IN_FLIGHT,
        "connect_timeout_ms": settings.WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS,
        "request_timeout_ms": settings.WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS,
    }


def test_regenerate_secret_without_and_with_grace(api, tenant):
    # given
    webhook = create_webhook(tenant.account)
    old_secret = webhook.secret
    url = f"{URL}{webhook.id}/regenerate-secret/"

    # when
    plain = api.post(url, {}, format="json")

    # then
    assert plain.status_code == 200
    assert plain.json()["secret"] != old_secret
    assert plain.json()["previous_secret_expires_at"] is None

    # when
    graced = api.post(url, {"grace_seconds": 3600}, format="json")

    # then
    webhook.refresh_from_db()
    assert graced.json()["secret"] == webhook.secret
    assert webhook.signing_secrets(timezone.now()) == [webhook.secret, plain.json()["secret"]]
    assert graced.json()["previous_secret_expires_at"] is not None
    assert api.get(f"{URL}{webhook.id}/").json()["secret"] == webhook.secret


@pytest.mark.parametrize("grace", [-1, "soon", 10**12, 1e308])
def test_regenerate_secret_refuses_bad_grace(api, tenant, grace):
    # given
    webhook = create_webhook(tenant.account)

    # when
    response = api.post(
        f"{URL}{webhook.id}/regenerate-secret/", {"grace_seconds": grace}, format="json"
    )

    # then
    assert response.status_code == 400
    assert "grace_seconds" in response.json()["errors"]


def test_test_events_are_published_to_this_subscription_only(api, tenant):
    # given: two subscriptions listing the key
    webhook = create_webhook(tenant.account)
    bystander = create_webhook(tenant.account)

    # when
    response = api.post(
        f"{URL}{webhook.id}/test/",
        {"events": ["customers.create.v0", "products:update:v0"]},
        format="json",
    )

    # then: realistic generated payloads, one delivery each, to this subscription only
    assert response.status_code == 202, response.json()
    event_ids = response.json()["event_ids"]
    assert len(event_ids) == 2
    events = Event.objects.filter(id__in=event_ids)
    assert {event.key for event in events} == {"customers.create.v0", "products.update.v0"}
    assert all(event.source == Event.Source.TEST for event in events)
    assert Delivery.objects.filter(event_id__in=event_ids, webhook=webhook).count() == 2
    assert not Delivery.objects.filter(webhook=bystander).exists()


def test_test_events_refuse_unknown_keys(api, tenant):
    # given
    webhook = create_webhook(tenant.account)

    # when
    response = api.post(f"{URL}{webhook.id}/test/", {"events": ["nope.v1"]}, format="json")

    # then
    assert response.status_code == 400
    assert "events" in response.json()["errors"]
    assert not Event.objects.exists()
