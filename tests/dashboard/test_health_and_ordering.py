"""The dashboard shows endpoint health (circuit breaker) on the overview and the webhook's page,
takes `ordering` in the webhook form, and says which delivery an ordered one waits for."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Delivery, EndpointCircuit
from deliveries.services.publishing import event_publish
from tests.dashboard.test_views import form_data
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


def open_circuit(webhook, *, failures=11):
    now = timezone.now()
    return EndpointCircuit.objects.create(
        webhook=webhook,
        state="open",
        since=now - timedelta(minutes=2),
        opened_at=now - timedelta(minutes=2),
        consecutive_failures=failures,
        cooldown_seconds=120,
        next_probe_at=now + timedelta(seconds=90),
        times_opened=1,
    )


def test_overview_and_detail_show_an_open_circuit_with_its_next_probe(signed_in, webhook):
    # given
    circuit = open_circuit(webhook)

    # when
    overview = signed_in.get(reverse("dashboard:overview")).content.decode()
    detail = signed_in.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content.decode()

    # then
    for page in (overview, detail):
        assert 'data-health="open"' in page
        assert "Circuit open" in page
        assert "11 failed attempts in a row" in page
        assert "next probe" in page
        assert circuit.next_probe_at.strftime("%H:%M:%S") in page


def test_a_healthy_webhook_says_so(signed_in, webhook):
    detail = signed_in.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content.decode()

    assert 'data-health="healthy"' in detail
    assert "next probe" not in detail


def test_the_form_sets_and_keeps_ordering(signed_in, account):
    # when
    signed_in.post(reverse("dashboard:webhook-new"), form_data(ordering="entity"))

    # then
    webhook = Webhook.objects.get(account=account)
    assert webhook.ordering == "entity"
    edit = signed_in.get(reverse("dashboard:webhook-edit", args=[webhook.id])).content.decode()
    assert '<option value="entity" selected>' in edit
    detail = signed_in.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content.decode()
    assert "per entity" in detail


def test_the_form_refuses_an_unknown_ordering(signed_in, account):
    response = signed_in.post(reverse("dashboard:webhook-new"), form_data(ordering="fifo"))

    assert response.status_code == 200
    assert not Webhook.objects.filter(account=account).exists()
    assert "fifo" in response.content.decode()


def test_an_ordered_delivery_page_names_the_delivery_it_waits_for(signed_in, account):
    # given
    webhook = webhook_create(
        account=account,
        url="https://hooks.example.com/ordered",
        events=["customers.create.v0", "customers.update.v0"],
        ordering="entity",
    )
    entity = uuid.uuid4()
    first = event_publish(account=account, key="customers.create.v0", entity_instance_id=entity)
    second = event_publish(account=account, key="customers.update.v0", entity_instance_id=entity)
    earlier = Delivery.objects.get(event=first.event, webhook=webhook)
    later = Delivery.objects.get(event=second.event, webhook=webhook)

    # when
    page = signed_in.get(reverse("dashboard:delivery-detail", args=[later.id])).content.decode()

    # then
    assert 'id="waiting-for"' in page
    assert reverse("dashboard:delivery-detail", args=[earlier.id]) in page
    first_page = signed_in.get(reverse("dashboard:delivery-detail", args=[earlier.id]))
    assert 'id="waiting-for"' not in first_page.content.decode()
