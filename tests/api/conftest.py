"""Two tenants with API clients, and helpers to build deliveries and attempts directly."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, User
from accounts.services import account_create
from deliveries.models import Attempt, Delivery
from deliveries.services.publishing import event_publish
from events.models import Event
from webhooks.models import Webhook
from webhooks.services import webhook_create

EVENT = "products.update.v0"


@dataclass
class Tenant:
    account: Account
    user: User
    token: str
    client: APIClient


def make_tenant(name: str, username: str) -> Tenant:
    created = account_create(account_name=name, username=username, password="pw-123456789")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {created.token}")
    return Tenant(created.account, created.user, created.token, client)


@pytest.fixture
def tenant(db: None) -> Tenant:
    return make_tenant("Acme Retail", "acme")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return make_tenant("Globex Stores", "globex")


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    return tenant.client


def create_webhook(account: Account, **fields: Any) -> Webhook:
    values: dict[str, Any] = {"url": "https://example.com/hook", "events": [EVENT], **fields}
    return webhook_create(account=account, **values)


def publish(account: Account, key: str = EVENT, **kwargs: Any) -> Event:
    # A product named Kaffee; other entities get a generated payload (payloads must meet
    # their type's schema, and `name` is no customer field).
    kwargs.setdefault("payload", {"name": "Kaffee"} if key.startswith("products.") else None)
    return event_publish(account=account, key=key, **kwargs).event


def add_attempt(
    delivery: Delivery,
    *,
    started_at: datetime | None = None,
    duration_ms: float = 100.0,
    outcome: str = "success",
    status: int | None = 200,
    error_kind: str = "",
    **fields: Any,
) -> Attempt:
    """Record an attempt row as the worker would (and move the delivery's counters)."""
    delivery.attempt_count += 1
    delivery.last_status_code = status
    delivery.last_error_kind = error_kind
    delivery.last_duration_ms = duration_ms
    delivery.last_attempt_at = started_at or timezone.now()
    delivery.save()
    return Attempt.objects.create(
        delivery=delivery,
        webhook_id=delivery.webhook_id,
        number=delivery.attempt_count,
        trigger=Delivery.Trigger.AUTOMATIC,
        started_at=started_at or timezone.now(),
        duration_ms=duration_ms,
        outcome=outcome,
        request_url="https://example.com/hook",
        response_status=status,
        error_kind=error_kind,
        **{"request_headers": {"Content-Type": "application/json"}, **fields},
    )
