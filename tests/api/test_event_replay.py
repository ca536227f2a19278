"""POST /api/v1/events/{id}/replay/ (SPEC 5): the event again to the subscriptions that list
its key now; existing deliveries resent, new subscribers get one; 404 unknown, 410 past
retention, field-level 400s."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from events.models import Event
from tests.api.conftest import EVENT, create_webhook, publish

pytestmark = pytest.mark.django_db


def replay_url(event_id: object) -> str:
    return f"/api/v1/events/{event_id}/replay/"


def test_replay_resends_existing_deliveries_and_gives_new_subscribers_one(api, tenant):
    # given an event delivered (and finished) to one subscription, and a second subscriber
    # and an inactive one that came later, and one that lists another key
    first = create_webhook(tenant.account, url="https://example.com/first")
    event = publish(tenant.account)
    delivered = Delivery.objects.get(webhook=first)
    Delivery.objects.filter(id=delivered.id).update(
        state=Delivery.State.SUCCEEDED, next_attempt_at=None, attempt_count=1
    )
    later = create_webhook(tenant.account, url="https://example.com/later")
    inactive = create_webhook(tenant.account, url="https://example.com/off", active=False)
    create_webhook(tenant.account, url="https://example.com/other", events=["customers.create.v0"])

    # when the event is replayed with no body
    response = api.post(replay_url(event.id))

    # then three deliveries are queued: the existing one resent, two new ones
    assert response.status_code == 202, response.json()
    assert response.json() == {"deliveries": 3}
    resent = Delivery.objects.get(id=delivered.id)
    assert resent.state == Delivery.State.PENDING
    assert resent.next_trigger == Delivery.Trigger.MANUAL
    assert resent.attempt_count == 1
    new = Delivery.objects.get(webhook=later)
    assert new.event_id == event.id and new.state == Delivery.State.PENDING
    assert new.next_attempt_at is not None
    # and the inactive subscription's waits paused
    assert Delivery.objects.get(webhook=inactive).state == Delivery.State.PAUSED
    # and no second event was made: the same event_id and body go out again
    assert Event.objects.count() == 1
    assert Delivery.objects.filter(event=event).count() == 3

    # when it is replayed again, then nothing is duplicated
    again = api.post(replay_url(event.id), {}, format="json")
    assert again.json() == {"deliveries": 3}
    assert Delivery.objects.filter(event=event).count() == 3


def test_replay_to_chosen_subscriptions_only(api, tenant):
    # given
    chosen = create_webhook(tenant.account, url="https://example.com/chosen")
    left = create_webhook(tenant.account, url="https://example.com/left")
    event = publish(tenant.account)
    Delivery.objects.update(state=Delivery.State.SUCCEEDED, next_attempt_at=None)

    # when
    response = api.post(replay_url(event.id), {"webhooks": [str(chosen.id)]}, format="json")

    # then
    assert response.status_code == 202 and response.json() == {"deliveries": 1}
    assert Delivery.objects.get(webhook=chosen).state == Delivery.State.PENDING
    assert Delivery.objects.get(webhook=left).state == Delivery.State.SUCCEEDED


def test_a_subscription_that_no_longer_lists_the_key_gets_nothing(api, tenant):
    webhook = create_webhook(tenant.account)
    event = publish(tenant.account)
    Delivery.objects.update(state=Delivery.State.SUCCEEDED, next_attempt_at=None)
    webhook.events = ["customers.create.v0"]
    webhook.save()

    response = api.post(replay_url(event.id))

    assert response.json() == {"deliveries": 0}
    assert Delivery.objects.get(webhook=webhook).state == Delivery.State.SUCCEEDED


def test_bad_webhook_ids_are_a_400_naming_them(api, tenant, other_tenant):
    # given
    not_listing = create_webhook(tenant.account, events=["customers.create.v0"])
    others = create_webhook(other_tenant.account)
    event = publish(tenant.account)
    body = {"webhooks": [str(not_listing.id), str(others.id)]}

    # when
    response = api.post(replay_url(event.id), body, format="json")
    not_a_uuid = api.post(replay_url(event.id), {"webhooks": ["nope"]}, format="json")
    empty = api.post(replay_url(event.id), {"webhooks": []}, format="json")

    # then
    assert response.status_code == 400, response.json()
    first, second = response.json()["errors"]["webhooks"]
    assert str(not_listing.id) in first and EVENT in first
    assert str(others.id) in second and "not one of your webhooks" in second
    assert not_a_uuid.status_code == 400 and list(not_a_uuid.json()["errors"]) == ["webhooks.0"]
    assert empty.status_code == 400 and "webhooks" in empty.json()["errors"]
    assert not Delivery.objects.filter(webhook=not_listing).exists()


def test_unknown_or_another_accounts_event_is_a_404(api, other_tenant):
    create_webhook(other_tenant.account)
    theirs = publish(other_tenant.account)

    assert api.post(replay_url(uuid.uuid4())).status_code == 404
    assert api.post(replay_url(theirs.id)).status_code == 404
    assert not Delivery.objects.filter(state=Delivery.State.PENDING).exclude(event=theirs).exists()


def test_an_event_past_retention_is_a_410_with_the_reason(api, tenant, settings):
    # given an event published longer ago than the retention
    settings.WEBHOOK_EVENT_RETENTION_SECONDS = 3600
    create_webhook(tenant.account)
    event = publish(tenant.account)
    old = timezone.now() - timedelta(seconds=3601)
    Event.objects.filter(id=event.id).update(created_at=old)
    Delivery.objects.update(
        event_created_at=old, state=Delivery.State.EXPIRED, next_attempt_at=None
    )

    # when
    response = api.post(replay_url(event.id))

    # then
    assert response.status_code == 410, response.json()
    detail = response.json()["detail"]
    assert "retention" in detail and "3600 seconds" in detail and str(event.id) in detail
    assert response.json()["code"] == "gone"
    assert Delivery.objects.get().state == Delivery.State.EXPIRED
