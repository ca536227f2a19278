"""The dashboard's side of issue 14 items 4-6: extra headers ("Name: value" lines) and the
signature scheme in the webhook form, and the Replay button on the Events page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.engine.signing import standard_webhooks_key
from deliveries.models import Delivery
from deliveries.services.publishing import event_publish
from events.models import Event
from tests.dashboard.conftest import EVENT
from tests.dashboard.test_views import form_data
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


def test_the_form_takes_headers_as_lines_and_the_standard_webhooks_scheme(signed_in, account):
    # when
    response = signed_in.post(
        reverse("dashboard:webhook-new"),
        form_data(
            headers="X-Api-Key: gw-key-1\r\n\r\nX-Tenant:berlin\r\n",
            signature_scheme="standard-webhooks",
        ),
    )

    # then
    assert response.status_code == 302
    webhook = Webhook.objects.get(account=account)
    assert webhook.headers == {"X-Api-Key": "gw-key-1", "X-Tenant": "berlin"}
    assert webhook.signature_scheme == "standard-webhooks"
    assert len(standard_webhooks_key(webhook.secret)) == 32

    # and the edit form shows them, the detail page names them (not their values)
    edit = signed_in.get(reverse("dashboard:webhook-edit", args=[webhook.id])).content.decode()
    assert "X-Api-Key: gw-key-1\nX-Tenant: berlin" in edit
    assert 'value="standard-webhooks" selected' in edit
    detail = signed_in.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content
    assert b"<code>X-Api-Key</code>" in detail and b"Standard Webhooks" in detail


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ("Authorization: Bearer x", "Authorization"),
        ("webhook-id: 1", "webhook-id"),
        ("no colon here", "Line 1"),
        ("X-A: 1\nx-a: 2", "Line 2"),
    ],
)
def test_a_refused_header_is_shown_on_the_field(signed_in, account, lines, named):
    response = signed_in.post(reverse("dashboard:webhook-new"), form_data(headers=lines))

    assert response.status_code == 200
    errors = response.context["form"].errors["headers"]
    assert any(named in error for error in errors), errors
    assert not Webhook.objects.exists()


def test_a_malformed_whsec_secret_is_shown_on_the_secret_field(signed_in):
    response = signed_in.post(
        reverse("dashboard:webhook-new"),
        form_data(signature_scheme="standard-webhooks", secret="x" * 40),
    )

    assert response.status_code == 200
    assert "whsec_" in " ".join(response.context["form"].errors["secret"])


def test_the_events_page_replays_an_event_to_its_subscribers_now(signed_in, account):
    # given an event delivered to one webhook, and a webhook that subscribed later
    first = webhook_create(account=account, url="https://a.example.com/hook", events=[EVENT])
    event = event_publish(account=account, key=EVENT).event
    Delivery.objects.update(state=Delivery.State.SUCCEEDED, next_attempt_at=None)
    later = webhook_create(account=account, url="https://b.example.com/hook", events=[EVENT])
    page = signed_in.get(reverse("dashboard:events")).content.decode()
    replay = reverse("dashboard:event-replay", args=[event.id])
    assert f'action="{replay}"' in page

    # when the Replay button is pressed
    response = signed_in.post(replay, {"next": reverse("dashboard:events")}, follow=True)

    # then both get it, and the page says so
    assert response.redirect_chain[-1][0] == reverse("dashboard:events")
    assert Delivery.objects.get(webhook=first).state == Delivery.State.PENDING
    assert Delivery.objects.get(webhook=later).event_id == event.id
    assert "2 deliveries queued (1 resent, 1 new)" in response.content.decode()


def test_replaying_an_event_past_retention_says_why(signed_in, account, settings):
    settings.WEBHOOK_EVENT_RETENTION_SECONDS = 60
    webhook_create(account=account, url="https://a.example.com/hook", events=[EVENT])
    event = event_publish(account=account, key=EVENT).event
    Event.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(seconds=61))

    response = signed_in.post(reverse("dashboard:event-replay", args=[event.id]), follow=True)

    assert "retention of 60 seconds" in response.content.decode()
    assert Delivery.objects.count() == 1


def test_another_accounts_event_cannot_be_replayed(signed_in, other_webhook):
    theirs = event_publish(account=other_webhook.account, key=EVENT).event

    response = signed_in.post(reverse("dashboard:event-replay", args=[theirs.id]))

    assert response.status_code == 404
