"""Fixtures for the dashboard's view tests: a signed-in client, a webhook made through the
services, and deliveries with recorded attempts."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import account_create
from deliveries.models import Attempt, Delivery
from deliveries.services.publishing import event_publish
from webhooks.models import Webhook
from webhooks.services import webhook_create

EVENT = "customers.create.v0"


@pytest.fixture
def signed_in(client: Client, account_with_token: Any) -> Client:
    client.force_login(account_with_token.user)
    return client


@pytest.fixture
def webhook(account: Any) -> Webhook:
    return webhook_create(
        account=account,
        url="https://hooks.example.com/tillhub",
        events=[EVENT, "products.create.v0"],
        description="Shop sync",
    )


@pytest.fixture
def other_webhook(db: None) -> Webhook:
    other = account_create(account_name="Other Shop", username="other", password="pw-987654321")
    return webhook_create(
        account=other.account, url="https://other.example.com/hook", events=[EVENT]
    )


def record_attempt(
    delivery: Delivery,
    *,
    status: int | None = 200,
    body: str = '{"ok":true}',
    error_kind: str = "",
    error_message: str = "",
    hops: list[dict[str, Any]] | None = None,
    trigger: str = "automatic",
) -> Attempt:
    """Store an attempt as the recorder would, and move the delivery to its resulting state."""
    succeeded = status is not None and 200 <= status < 300
    now = timezone.now()
    number = delivery.attempt_count + 1
    attempt = Attempt.objects.create(
        delivery=delivery,
        webhook_id=delivery.webhook_id,
        number=number,
        trigger=trigger,
        started_at=now,
        duration_ms=42.5,
        outcome="success" if succeeded else "retry",
        request_url="https://hooks.example.com/tillhub",
        request_headers={
            "Content-Type": "application/json",
            "User-Agent": "Tillhub HTTP Connector/2.1.0",
            "Tillhub-Signature": "t=1,v1=abc=",
        },
        response_status=status,
        response_headers={"Content-Type": "application/json"} if status else {},
        response_body=body if status else "",
        error_kind=error_kind if not succeeded else "",
        error_message=error_message,
        redirect_hops=hops or [],
    )
    Delivery.objects.filter(id=delivery.id).update(
        state=Delivery.State.SUCCEEDED if succeeded else Delivery.State.FAILED,
        attempt_count=number,
        last_attempt_at=now,
        last_status_code=status,
        last_error_kind=attempt.error_kind,
        last_duration_ms=42.5,
        next_attempt_at=None if succeeded else now + timedelta(hours=1),
    )
    delivery.refresh_from_db()
    return attempt


@pytest.fixture
def make_delivery(account: Any) -> Callable[..., Delivery]:
    """Publish an event to the account (explicit payload) and return the webhook's delivery."""

    def make(webhook: Webhook, key: str = EVENT, **payload: Any) -> Delivery:
        # Payloads must meet their type's schema: a customer or a product by name; other
        # entities get a generated one.
        names = {"customers.": {"firstname": "Jürgen", "lastname": "Weiß"}}
        names["products."] = {"name": "Kaffee"}
        base = next((fields for prefix, fields in names.items() if key.startswith(prefix)), None)
        published = event_publish(
            account=webhook.account,
            key=key,
            payload=None if base is None else {**base, **payload},
            only_webhook=webhook,
        )
        return Delivery.objects.get(event=published.event, webhook=webhook)

    return make
