"""Tenant isolation: another account's objects are 404 on every endpoint, never 403 or 200."""

import pytest

from accounts.models import User
from deliveries.models import Delivery
from events.models import Event
from tests.api.conftest import add_attempt, create_webhook, publish
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(other_tenant):
    """A webhook, an event and a delivery (with an attempt) of the other account."""
    webhook = create_webhook(other_tenant.account)
    event = publish(other_tenant.account)
    delivery = Delivery.objects.get(event=event)
    add_attempt(delivery)
    Delivery.objects.filter(id=delivery.id).update(state="gave_up")
    return {"webhook": webhook, "event": event, "delivery": delivery}


def foreign_requests(foreign):
    webhook = f"/api/v1/webhooks/{foreign['webhook'].id}"
    delivery = f"/api/v1/deliveries/{foreign['delivery'].id}"
    return [
        ("get", f"{webhook}/", None),
        ("put", f"{webhook}/", {"url": "https://evil.example/h", "events": ["products.update.v0"]}),
        ("patch", f"{webhook}/", {"active": False}),
        ("delete", f"{webhook}/", None),
        ("post", f"{webhook}/regenerate-secret/", {}),
        ("post", f"{webhook}/test/", {"events": ["products.update.v0"]}),
        ("post", f"{webhook}/preflight/", {}),
        ("get", f"{webhook}/deliveries/", None),
        ("post", f"{webhook}/resend/", {"all": True}),
        ("post", f"{webhook}/resend/", {"delivery_ids": [foreign["delivery"].id]}),
        ("get", f"{webhook}/metrics/", None),
        ("get", f"{delivery}/", None),
        ("post", f"{delivery}/resend/", None),
        ("get", f"/api/v1/events/{foreign['event'].id}/", None),
    ]


def test_every_endpoint_answers_404_for_another_accounts_objects(api, foreign):
    # given
    secret_before = Webhook.objects.get(id=foreign["webhook"].id).secret

    for method, url, body in foreign_requests(foreign):
        # when
        response = getattr(api, method)(url, body, format="json")

        # then
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}

    # then: nothing of theirs changed
    webhook = Webhook.objects.get(id=foreign["webhook"].id)
    assert webhook.secret == secret_before
    assert webhook.active is True
    assert webhook.url == "https://example.com/hook"
    assert Delivery.objects.get(id=foreign["delivery"].id).state == "gave_up"
    assert Event.objects.filter(account=foreign["webhook"].account).count() == 1


def test_resend_by_ids_of_another_account_through_my_webhook_queues_nothing(api, tenant, foreign):
    # given
    mine = create_webhook(tenant.account)

    # when
    response = api.post(
        f"/api/v1/webhooks/{mine.id}/resend/",
        {"delivery_ids": [foreign["delivery"].id]},
        format="json",
    )

    # then
    assert response.json() == {"queued": 0, "paused": 0}
    assert Delivery.objects.get(id=foreign["delivery"].id).state == "gave_up"


def test_lists_show_only_my_account(api, tenant, foreign):
    # given
    mine = create_webhook(tenant.account)
    my_event = publish(tenant.account)

    # when
    webhooks = api.get("/api/v1/webhooks/").json()
    events = api.get("/api/v1/events/").json()

    # then
    assert [row["id"] for row in webhooks["results"]] == [str(mine.id)]
    assert [row["id"] for row in events["results"]] == [str(my_event.id)]


def test_publishing_fans_out_only_within_the_account(api, foreign):
    # when: the same key the other account subscribes to
    response = api.post(
        "/api/v1/events/", {"event": "products.update.v0", "payload": {}}, format="json"
    )

    # then
    assert response.json()["deliveries"] == 0
    assert not Delivery.objects.filter(event_id=response.json()["event_id"]).exists()


def test_a_user_without_an_account_sees_nothing_and_creates_nothing(db, foreign):
    # given
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = User.objects.create_user(username="loner", password="pw-123456789")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    # when / then: empty lists
    for url in ("/api/v1/webhooks/", "/api/v1/events/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.json()["count"] == 0

    # when / then: 404 for objects
    for method, url, body in foreign_requests(foreign):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)

    # when / then: creating needs an account
    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://example.com/h", "events": ["products.update.v0"]},
        format="json",
    )
    published = client.post(
        "/api/v1/events/", {"event": "products.update.v0", "payload": {}}, format="json"
    )
    assert created.status_code == published.status_code == 403
    assert created.json()["code"] == "no_account"
    assert client.get("/api/v1/webhooks/defaults/").status_code == 200


def test_session_authentication_works_too(tenant):
    # given
    from rest_framework.test import APIClient

    create_webhook(tenant.account)
    client = APIClient()
    client.force_login(tenant.user)

    # when
    response = client.get("/api/v1/webhooks/")

    # then
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_anonymous_requests_are_401(db):
    # given
    from rest_framework.test import APIClient

    client = APIClient()

    # when
    response = client.get("/api/v1/webhooks/")
    bad_token = client.get("/api/v1/webhooks/", HTTP_AUTHORIZATION="Token nope")

    # then
    assert response.status_code == bad_token.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert bad_token.json()["code"] == "authentication_failed"
