"""Daily operation in the dashboard (issue 13): live metrics, indicators, the account-wide
Deliveries and Events pages, numbered pages, the masked secret, and confirmations."""

import re
import uuid

import pytest
from django.urls import reverse

from dashboard import paging
from deliveries.models import Delivery
from deliveries.services.subscriptions import webhook_deactivate
from tests.dashboard.conftest import EVENT, record_attempt

pytestmark = pytest.mark.django_db


def detail_url(webhook):
    return reverse("dashboard:webhook-detail", args=[webhook.id])


def test_the_poll_answer_carries_history_metrics_and_chart_together(
    signed_in, webhook, make_delivery
):
    # given: the page was loaded with nothing sent; then two deliveries are recorded
    signed_in.get(detail_url(webhook))
    record_attempt(make_delivery(webhook), status=200)
    record_attempt(make_delivery(webhook), status=500, error_kind="http_status")

    # when: the poller asks
    response = signed_in.get(reverse("dashboard:webhook-history", args=[webhook.id]))

    # then: one answer with the three parts, each for the element it replaces
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert re.findall(r'data-live-target="([\w-]+)"', html) == [
        "history-live",
        "health-live",
        "volume-live",
    ]
    assert 'id="metric-success-rate">50.0 %' in html
    assert 'id="metric-deliveries">2 (1 succeeded, 1 failed)' in html
    assert "1 successful" in html and "1 failed attempts" in html
    assert html.count('class="delivery-row') == 2


def test_failure_patterns_on_the_detail_page(signed_in, webhook, make_delivery):
    # given
    for _ in range(2):
        record_attempt(make_delivery(webhook), status=503, error_kind="http_status")
    record_attempt(make_delivery(webhook), status=None, error_kind="timeout")

    # when
    html = signed_in.get(detail_url(webhook)).content.decode()

    # then
    kinds = html[html.index('id="failures-by-kind"') :]
    assert re.search(r"<code>http_status</code> <span class=\"numeric\">2</span>", kinds)
    assert re.search(r"<code>timeout</code> <span class=\"numeric\">1</span>", kinds)
    assert re.search(r"HTTP <code>503</code> <span class=\"numeric\">2</span>", html)


def test_each_state_shows_its_indicator(signed_in, webhook, make_delivery):
    # given: one delivery in each state
    deliveries = {}
    for state in Delivery.State.values:
        delivery = make_delivery(webhook)
        Delivery.objects.filter(id=delivery.id).update(state=state)
        deliveries[state] = delivery

    # when
    html = signed_in.get(detail_url(webhook)).content.decode()

    # then
    expected = {
        "succeeded": ("success", "Success"),
        "failed": ("failure", "Pending retry"),
        "gave_up": ("failure", "Failed"),
        "expired": ("failure", "Failed"),
        "sending": ("sent", "Sent"),
        "pending": ("idle", "Queued"),
        "paused": ("idle", "Paused"),
    }
    for state, (colour, label) in expected.items():
        delivery_id = deliveries[state].id
        assert re.search(
            rf'class="bar bar-{colour}"[^>]*aria-label="Delivery {delivery_id}: {label}"', html
        ), state


def test_an_automatic_deactivation_says_so_once(signed_in, webhook):
    webhook_deactivate(
        webhook=webhook,
        reason="Deactivated automatically: 20 of 20 attempts failed in the last 1 day.",
    )

    html = signed_in.get(detail_url(webhook)).content.decode()

    assert html.count("Deactivated automatically") == 1
    assert "20 of 20 attempts failed in the last 1 day." in html


def test_the_secret_is_masked_with_reveal_and_copy(signed_in, webhook):
    html = signed_in.get(detail_url(webhook)).content.decode()

    field = re.search(r'<input[^>]*id="secret-value"[^>]*>', html).group(0)
    assert 'type="password"' in field
    assert 'data-reveal-target="secret-value"' in html
    assert 'data-copy-target="secret-value"' in html


def test_history_pages_are_numbered_with_a_jump(signed_in, webhook, make_delivery, monkeypatch):
    # given: 4 pages of 1
    monkeypatch.setattr("dashboard.views.history.HISTORY_PAGE_SIZE", 1)
    for _ in range(4):
        make_delivery(webhook)

    # when
    html = signed_in.get(detail_url(webhook), {"page": "3"}).content.decode()

    # then
    assert '<span class="page-current" aria-current="page">3</span>' in html
    for number in (1, 2, 4):
        assert f'aria-label="Page {number}"' in html
    assert 'name="page" form="page-jump"' in html
    assert 'id="page-jump"' in html


def test_counts_stop_at_the_limit(signed_in, webhook, make_delivery, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_LIMIT", 2)
    for _ in range(3):
        make_delivery(webhook)

    html = signed_in.get(reverse("dashboard:deliveries")).content.decode()

    assert "more than 2 deliveries" in html


def test_the_deliveries_page_lists_every_webhooks_deliveries_and_searches(
    signed_in, account, webhook, other_webhook, make_delivery
):
    # given: deliveries of two webhooks of the account, and another account's
    from webhooks.services import webhook_create

    second = webhook_create(account=account, url="https://second.example.com/", events=[EVENT])
    entity = uuid.uuid4()
    first = make_delivery(webhook, id=str(entity))
    other = make_delivery(second)
    record_attempt(other, status=503, error_kind="http_status")
    url = reverse("dashboard:deliveries")

    def listed(**query):
        html = signed_in.get(url, query).content.decode()
        return [int(i) for i in re.findall(r'data-delivery-id="(\d+)"', html)]

    # when / then: newest first, both webhooks, nothing of the other account
    assert listed() == [other.id, first.id]
    assert listed(webhook=str(second.id)) == [other.id]
    assert listed(status_code="5xx") == [other.id]
    assert listed(status="failed") == [other.id]
    assert listed(q=str(first.id)) == [first.id]
    assert listed(q=str(first.event_id)) == [first.id]
    assert listed(q=str(entity)) == [first.id]
    # a wrong field is said next to it, in words
    response = signed_in.get(url, {"status_code": "6xx"})
    assert response.status_code == 200
    assert "Use a class such as 4xx or a code such as 503." in response.content.decode()


def test_the_events_page_lists_events_with_their_deliveries(
    signed_in, account, webhook, make_delivery
):
    # given
    delivered = make_delivery(webhook)
    record_attempt(delivered, status=200)
    later = make_delivery(webhook, key="products.create.v0")

    # when
    html = signed_in.get(reverse("dashboard:events")).content.decode()

    # then: newest first, each with its deliveries as indicators linking to them
    assert re.findall(r'data-event-id="([\w-]+)"', html) == [
        str(later.event_id),
        str(delivered.event_id),
    ]
    assert reverse("dashboard:delivery-detail", args=[delivered.id]) in html
    assert f"Delivery {delivered.id} to {webhook.url}: Success" in html
    assert f"Delivery {later.id} to {webhook.url}: Queued" in html

    # when: filtered by event type
    filtered = signed_in.get(reverse("dashboard:events"), {"event": "products.create.v0"})

    # then
    assert re.findall(r'data-event-id="([\w-]+)"', filtered.content.decode()) == [
        str(later.event_id)
    ]
