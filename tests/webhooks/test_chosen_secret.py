"""A signing secret chosen by the user (SPEC 4): given on create, replaced on PUT/PATCH, kept when
left out; and a newcomer's first webhook at the demo receiver that succeeds."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from dashboard.forms import WebhookForm
from deliveries.models import Delivery
from deliveries.services.lifecycle import deliveries_resend
from deliveries.services.publishing import event_publish
from tests.conftest import wait_until
from webhooks.models import Webhook
from webhooks.services import webhook_change, webhook_create

URL = "/api/v1/webhooks/"
CHOSEN = "shop-receiver-secret-0123456789"
EVENT = "products.create.v0"


@pytest.fixture
def api(account_with_token: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_with_token.token}")
    return client


@pytest.mark.django_db
def test_create_with_a_secret_signs_with_it_and_update_keeps_or_replaces_it(api):
    # given
    body = {"url": "https://example.com/hook", "events": [EVENT], "secret": CHOSEN}

    # when
    created = api.post(URL, body, format="json")

    # then
    assert created.status_code == 201, created.json()
    assert created.json()["secret"] == CHOSEN
    webhook_url = f"{URL}{created.json()['id']}/"
    kept = api.patch(webhook_url, {"description": "no secret given"}, format="json")
    assert kept.json()["secret"] == CHOSEN
    replaced = api.put(
        webhook_url,
        {"url": "https://example.com/hook", "events": [EVENT], "secret": "x" * 128},
        format="json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert Webhook.objects.get(id=created.json()["id"]).secret == "x" * 128


@pytest.mark.django_db
def test_without_a_secret_one_is_generated(api):
    response = api.post(URL, {"url": "https://example.com/hook", "events": [EVENT]}, format="json")

    assert response.status_code == 201
    assert len(response.json()["secret"]) >= 40


@pytest.mark.django_db
@pytest.mark.parametrize(
    "secret",
    [
        "too-short-secret",
        "x" * 129,
        "has a space in it 0123456789",
        "tab\tinside-the-secret-0123456789",
        "non-ascii-secret-äöü-0123456789",
        "",
    ],
)
def test_a_bad_secret_is_a_field_level_400(api, secret):
    body = {"url": "https://example.com/hook", "events": [EVENT], "secret": secret}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == ["secret"]
    assert secret == "" or secret not in response.content.decode()  # never echoed back
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_the_services_refuse_a_bad_secret_on_change(account):
    # given
    webhook = webhook_create(account=account, url="https://example.com/hook", events=[EVENT])

    # when / then
    with pytest.raises(ValidationError) as refused:
        webhook_change(webhook=webhook, secret="short")
    assert list(refused.value.message_dict) == ["secret"]
    webhook.refresh_from_db()
    assert len(webhook.secret) >= 40


@pytest.mark.django_db
def test_dashboard_form_passes_a_secret_only_when_one_is_typed(account):
    # given
    webhook = webhook_create(account=account, url="https://example.com/hook", events=[EVENT])
    data = {"url": webhook.url, "events": [EVENT], "active": "on"}

    # when
    left_empty = WebhookForm(data={**data, "secret": ""}, webhook=webhook)
    typed = WebhookForm(data={**data, "secret": CHOSEN}, webhook=webhook)

    # then
    assert left_empty.is_valid() and typed.is_valid()
    assert "secret" not in left_empty.service_fields()
    assert typed.service_fields()["secret"] == CHOSEN


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_first_webhook_at_the_demo_receiver_succeeds_and_a_wrong_secret_is_explained(
    stack, serve, api, account_with_token, client: Client
):
    # given: the demo receiver, which knows the demo webhook's secret and the walk-through's
    receiver = serve(secrets=["the-demo-webhooks-own-secret-01234", CHOSEN])
    created = api.post(
        URL, {"url": receiver.url("/hooks"), "events": [EVENT], "secret": CHOSEN}, format="json"
    )
    assert created.status_code == 201, created.json()
    webhook = Webhook.objects.get(id=created.json()["id"])

    # when: an event is published
    event_publish(account=webhook.account, key=EVENT, source="api")

    # then: it is delivered on the first attempt
    delivery = Delivery.objects.get(webhook=webhook)
    wait_until(lambda: Delivery.objects.get(id=delivery.id).state == Delivery.State.SUCCEEDED)
    assert receiver.stats["rejected"] == {}

    # when: the webhook's secret is one the receiver does not know
    api.patch(f"{URL}{webhook.id}/", {"secret": "a-secret-the-receiver-lacks-000"}, format="json")
    deliveries_resend(delivery_ids=[delivery.id])
    wait_until(lambda: Delivery.objects.get(id=delivery.id).state == Delivery.State.FAILED)
    assert receiver.stats["rejected"] == {"signature": 1}

    # then: the delivery page says why, in plain words
    client.force_login(account_with_token.user)
    page = client.get(f"/deliveries/{delivery.id}/").content.decode()
    assert "The receiver could not verify the signature" in page
    assert "signing secret" in page
