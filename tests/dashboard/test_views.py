"""The dashboard's pages and actions through Django's test client."""

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from deliveries.models import Delivery
from deliveries.services.subscriptions import webhook_deactivate
from events.models import Event
from tests.dashboard.conftest import EVENT, record_attempt
from webhooks.models import Webhook
from webhooks.services import webhook_create, webhook_regenerate_secret

pytestmark = pytest.mark.django_db


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def detail_url(webhook: Webhook) -> str:
    return reverse("dashboard:webhook-detail", args=[webhook.id])


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "url": "https://shop.example.com/hooks",
        "events": [EVENT, "transactions.create.v0"],
        "description": "Till sync",
        "active": "on",
        "username": "",
        "password": "",
        "rate_per_second": "",
        "burst": "",
        "max_in_flight": "50",
        "connect_timeout_ms": "2000",
        "request_timeout_ms": "10000",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def service_error(**fields: Any) -> dict[str, list[str]]:
    """What webhook_create itself says about these fields: the API's messages."""
    with pytest.raises(ValidationError) as raised:
        webhook_create(account=None, **fields)  # type: ignore[arg-type]
    return raised.value.message_dict


# --- access ---------------------------------------------------------------------------------


# Each page with the methods it answers (POST-only actions refuse GET with 405).
WEBHOOK_PAGES = {
    "webhook-detail": ("get",),
    "webhook-edit": ("get", "post"),
    "webhook-delete": ("get", "post"),
    "webhook-activate": ("post",),
    "webhook-deactivate": ("post",),
    "webhook-regenerate-secret": ("post",),
    "webhook-test": ("get", "post"),
    "webhook-preflight": ("get", "post"),
    "webhook-history": ("get",),
    "webhook-resend-selected": ("post",),
    "webhook-resend-all": ("get", "post"),
}
DELIVERY_PAGES = {
    "delivery-detail": ("get",),
    "delivery-live": ("get",),
    "delivery-resend": ("post",),
}


def object_urls(webhook: Webhook, delivery: Delivery) -> list[tuple[str, str]]:
    return [
        (method, reverse(f"dashboard:{name}", args=[webhook.id]))
        for name, methods in WEBHOOK_PAGES.items()
        for method in methods
    ] + [
        (method, reverse(f"dashboard:{name}", args=[delivery.id]))
        for name, methods in DELIVERY_PAGES.items()
        for method in methods
    ]


def test_anonymous_users_are_sent_to_the_login_page_from_every_page(client, webhook, make_delivery):
    # given
    delivery = make_delivery(webhook)

    pages = [("get", "/"), ("get", reverse("dashboard:webhook-new"))]
    for method, url in pages + object_urls(webhook, delivery):
        # when
        response = getattr(client, method)(url)

        # then
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
    assert Delivery.objects.get(id=delivery.id).next_trigger == "automatic"


def test_another_accounts_webhook_and_deliveries_are_404_everywhere(
    signed_in, other_webhook, make_delivery
):
    # given
    delivery = make_delivery(other_webhook)
    secret = other_webhook.secret

    for method, url in object_urls(other_webhook, delivery):
        # when
        response = getattr(signed_in, method)(url, {"delivery_ids": [delivery.id]})

        # then
        assert response.status_code == 404, (method, url)
    other_webhook.refresh_from_db()
    assert other_webhook.active and other_webhook.secret == secret
    assert Delivery.objects.get(id=delivery.id).next_trigger == "automatic"


def test_another_accounts_delivery_is_not_resent_through_my_webhook(
    signed_in, webhook, other_webhook, make_delivery
):
    # given
    theirs = make_delivery(other_webhook)
    record_attempt(theirs, status=500)

    # when
    response = signed_in.post(
        reverse("dashboard:webhook-resend-selected", args=[webhook.id]),
        {"delivery_ids": [theirs.id]},
    )

    # then
    assert response.status_code == 302
    assert messages_of(response) == ["Select at least one delivery to resend."]
    assert Delivery.objects.get(id=theirs.id).state == "failed"


def test_login_page_signs_in_and_logout_signs_out(client, account_with_token):
    # given
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    assert b'<label for="id_username"' in page.content

    # when
    response = client.post(reverse("login"), {"username": "acme", "password": "pw-123456789"})

    # then
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_an_error(client, account_with_token):
    response = client.post(reverse("login"), {"username": "acme", "password": "nope"})

    assert response.status_code == 200
    assert b"errornote" in response.content


def test_a_user_without_an_account_is_refused(client, db):
    # given
    user = User.objects.create_user(username="root", password="pw-123456789")
    client.force_login(user)

    # when
    response = client.get("/")

    # then
    assert response.status_code == 403


def test_forms_are_protected_against_cross_site_requests(account_with_token, webhook):
    # given: a client that does not skip the CSRF check
    client = Client(enforce_csrf_checks=True)
    client.force_login(account_with_token.user)

    # when
    response = client.post(reverse("dashboard:webhook-deactivate", args=[webhook.id]))

    # then
    assert response.status_code == 403
    webhook.refresh_from_db()
    assert webhook.active


# --- overview -------------------------------------------------------------------------------


def test_overview_lists_every_webhook_with_state_rate_and_last_delivery(
    signed_in, account, webhook, other_webhook, make_delivery
):
    # given: one delivery succeeded, one failed; a second webhook deactivated automatically
    record_attempt(make_delivery(webhook), status=200)
    record_attempt(make_delivery(webhook), status=500)
    disabled = webhook_create(account=account, url="https://gone.example.com/", events=[EVENT])
    webhook_deactivate(webhook=disabled, reason="The endpoint answered 410 Gone.")

    # when
    response = signed_in.get("/")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "https://hooks.example.com/tillhub" in html
    assert "https://gone.example.com/" in html
    assert "other.example.com" not in html
    assert "customers.create.v0" in html and "products.create.v0" in html
    assert "50.0 %" in html
    assert "just now" in html  # last delivery
    assert "Inactive" in html and "The endpoint answered 410 Gone." in html
    assert f'href="{reverse("dashboard:webhook-new")}"' in html
    assert "New webhook" in html


# --- new / edit / delete --------------------------------------------------------------------


def test_new_webhook_form_offers_every_field_and_the_catalog(signed_in):
    response = signed_in.get(reverse("dashboard:webhook-new"))

    html = response.content.decode()
    for name in (
        "url",
        "events",
        "description",
        "active",
        "username",
        "password",
        "rate_per_second",
        "burst",
        "max_in_flight",
        "connect_timeout_ms",
        "request_timeout_ms",
    ):
        assert f'name="{name}"' in html, name
        assert re.search(rf'<(label|legend)[^>]*(for="id_{name}")?[^>]*>', html), name
    # Tillhub's nine and Hookline's three operational types (SPEC 3).
    assert html.count('type="checkbox" name="events"') == 12
    assert 'value="5000"' in html  # the default connect timeout
    assert 'name="csrfmiddlewaretoken"' in html


def test_creating_a_webhook_through_the_form(signed_in, account):
    # when
    response = signed_in.post(
        reverse("dashboard:webhook-new"),
        form_data(username="shop", password="s3cret", rate_per_second="2.5", burst="5"),
    )

    # then
    webhook = Webhook.objects.get(account=account)
    assert response.status_code == 302
    assert response["Location"] == detail_url(webhook)
    assert webhook.url == "https://shop.example.com/hooks"
    assert webhook.events == [EVENT, "transactions.create.v0"]
    assert webhook.description == "Till sync"
    assert webhook.active
    assert (webhook.username, webhook.password) == ("shop", "s3cret")
    assert (webhook.rate_per_second, webhook.burst, webhook.max_in_flight) == (2.5, 5, 50)
    assert (webhook.connect_timeout_ms, webhook.request_timeout_ms) == (2000, 10000)
    assert webhook.secret


def test_blank_limits_mean_unlimited_and_blank_timeouts_the_defaults(signed_in, account):
    signed_in.post(
        reverse("dashboard:webhook-new"),
        form_data(max_in_flight="", connect_timeout_ms="", request_timeout_ms="", active=None),
    )

    webhook = Webhook.objects.get(account=account)
    assert webhook.max_in_flight is None and webhook.rate_per_second is None
    assert (webhook.connect_timeout_ms, webhook.request_timeout_ms) == (5000, 30000)
    assert not webhook.active


@pytest.mark.parametrize(
    ("overrides", "field", "service_fields"),
    [
        ({"events": ["orders.create.v0"]}, "events", {"events": ["orders.create.v0"]}),
        ({"connect_timeout_ms": "5"}, "connect_timeout_ms", {"connect_timeout_ms": 5}),
        ({"request_timeout_ms": "999999"}, "request_timeout_ms", {"request_timeout_ms": 999999}),
        ({"rate_per_second": "0"}, "rate_per_second", {"rate_per_second": 0.0}),
        ({"burst": "0"}, "burst", {"burst": 0}),
        ({"max_in_flight": "0"}, "max_in_flight", {"max_in_flight": 0}),
        ({"password": "pw", "username": ""}, "username", {"password": "pw", "username": ""}),
        (
            {"username": "shop:berlin", "password": "pw"},
            "username",
            {"username": "shop:berlin", "password": "pw"},
        ),
    ],
)
def test_the_form_shows_the_services_own_messages(
    signed_in, account, overrides, field, service_fields
):
    # given: what the services (and so the API) say about the same values
    expected = service_error(
        **{"url": "https://ok.example.com/", "events": [EVENT]} | service_fields
    )

    # when
    response = signed_in.post(reverse("dashboard:webhook-new"), form_data(**overrides))

    # then
    assert response.status_code == 200
    assert response.context["form"].errors[field] == expected[field]
    assert not Webhook.objects.filter(account=account).exists()
    assert b"errornote" in response.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"url": "http://example.com/x"},
            "url",
            "Enter a valid URL: it must use https:// (http:// is only allowed for local hosts).",
        ),
        (
            {"url": "ftp://example.com/x"},
            "url",
            "Enter a valid URL: it must start with https:// (got ftp scheme).",
        ),
        ({"events": []}, "events", "Choose at least one event."),
    ],
)
def test_form_errors_are_plain_words(signed_in, account, overrides, field, message):
    # when: the API's wording ("URL must ...", "a non-empty list of event keys") is refused
    response = signed_in.post(reverse("dashboard:webhook-new"), form_data(**overrides))

    # then: the form says what to do
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not Webhook.objects.filter(account=account).exists()


def test_a_url_is_required(signed_in, account):
    response = signed_in.post(reverse("dashboard:webhook-new"), form_data(url=""))

    assert response.context["form"].errors["url"] == ["This field is required."]


def test_editing_keeps_the_password_when_left_blank(signed_in, account):
    # given
    webhook = webhook_create(
        account=account,
        url="https://a.example.com/",
        events=[EVENT],
        username="shop",
        password="old-pass",
    )
    page = signed_in.get(reverse("dashboard:webhook-edit", args=[webhook.id]))
    assert b"old-pass" not in page.content
    assert b'value="https://a.example.com/"' in page.content
    assert b'name="clear_password"' in page.content

    # when
    response = signed_in.post(
        reverse("dashboard:webhook-edit", args=[webhook.id]),
        form_data(url="https://b.example.com/", username="shop", events=["balances.create.v0"]),
    )

    # then
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.url == "https://b.example.com/"
    assert webhook.events == ["balances.create.v0"]
    assert webhook.password == "old-pass"


def test_editing_sets_a_new_password_or_clears_it(signed_in, account):
    webhook = webhook_create(
        account=account, url="https://a.example.com/", events=[EVENT], username="u", password="p1"
    )
    edit = reverse("dashboard:webhook-edit", args=[webhook.id])

    signed_in.post(edit, form_data(username="u", password="p2"))
    webhook.refresh_from_db()
    assert webhook.password == "p2"

    signed_in.post(edit, form_data(username="u", clear_password="on"))
    webhook.refresh_from_db()
    assert webhook.password == ""


def test_editing_with_a_bad_value_changes_nothing(signed_in, webhook):
    response = signed_in.post(
        reverse("dashboard:webhook-edit", args=[webhook.id]),
        form_data(url="https://fine.example.com/", burst="-3"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors["burst"] == ["Must be between 1 and 100000."]
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.example.com/tillhub"


def test_unticking_active_in_the_form_pauses_waiting_deliveries(signed_in, webhook, make_delivery):
    delivery = make_delivery(webhook)

    signed_in.post(reverse("dashboard:webhook-edit", args=[webhook.id]), form_data(active=None))

    assert Delivery.objects.get(id=delivery.id).state == "paused"


def test_deleting_asks_first_then_deletes(signed_in, webhook, make_delivery):
    # given
    make_delivery(webhook)
    url = reverse("dashboard:webhook-delete", args=[webhook.id])

    # when
    confirmation = signed_in.get(url)
    response = signed_in.post(url)

    # then
    assert b"Are you sure?" in confirmation.content
    assert b"1 delivery" in confirmation.content
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Webhook.objects.filter(id=webhook.id).exists()
    assert not Delivery.objects.filter(webhook_id=webhook.id).exists()


# --- secret, activation, test events --------------------------------------------------------


def test_detail_shows_the_secret_with_a_copy_button(signed_in, webhook):
    response = signed_in.get(detail_url(webhook))

    html = response.content.decode()
    assert f'value="{webhook.secret}"' in html
    assert 'data-copy-target="secret-value"' in html
    assert 'aria-label="Copy the signing secret"' in html


def test_regenerating_the_secret(signed_in, webhook):
    old = webhook.secret

    response = signed_in.post(
        reverse("dashboard:webhook-regenerate-secret", args=[webhook.id]), {"grace_seconds": ""}
    )

    webhook.refresh_from_db()
    assert response.status_code == 302
    assert webhook.secret != old
    assert webhook.previous_secret == ""
    assert messages_of(response) == ["A new signing secret was generated."]


def test_regenerating_with_a_grace_period_keeps_the_old_secret_signing(signed_in, webhook):
    old = webhook.secret

    response = signed_in.post(
        reverse("dashboard:webhook-regenerate-secret", args=[webhook.id]), {"grace_seconds": "600"}
    )

    webhook.refresh_from_db()
    assert webhook.previous_secret == old
    assert webhook.signing_secrets(timezone.now()) == [webhook.secret, old]
    assert "600 seconds" in messages_of(response)[0]
    assert b"previous secret still signs" in signed_in.get(detail_url(webhook)).content


def test_a_negative_grace_period_is_refused_with_the_services_message(signed_in, webhook):
    old = webhook.secret
    with pytest.raises(ValidationError) as raised:
        webhook_regenerate_secret(webhook=webhook, grace_seconds=-1)
    (expected,) = raised.value.message_dict["grace_seconds"]

    response = signed_in.post(
        reverse("dashboard:webhook-regenerate-secret", args=[webhook.id]), {"grace_seconds": "-1"}
    )

    webhook.refresh_from_db()
    assert webhook.secret == old
    assert messages_of(response) == [f"The secret was not changed: {expected}"]


def test_deactivating_and_activating(signed_in, webhook, make_delivery):
    # given
    delivery = make_delivery(webhook)

    # when
    response = signed_in.post(reverse("dashboard:webhook-deactivate", args=[webhook.id]))

    # then
    webhook.refresh_from_db()
    assert response.status_code == 302
    assert not webhook.active and webhook.disabled_reason == ""
    assert Delivery.objects.get(id=delivery.id).state == "paused"
    assert b"Activate" in signed_in.get(detail_url(webhook)).content

    # when
    signed_in.post(reverse("dashboard:webhook-activate", args=[webhook.id]))

    # then
    webhook.refresh_from_db()
    assert webhook.active
    assert Delivery.objects.get(id=delivery.id).state == "pending"


def test_activation_needs_a_post(signed_in, webhook):
    response = signed_in.get(reverse("dashboard:webhook-deactivate", args=[webhook.id]))

    assert response.status_code == 405


def test_an_automatic_deactivation_shows_its_reason_on_the_detail_page(signed_in, webhook):
    webhook_deactivate(webhook=webhook, reason="95 % of the last 20 attempts failed.")

    response = signed_in.get(detail_url(webhook))

    assert b"Deactivated automatically" in response.content
    assert b"95 % of the last 20 attempts failed." in response.content


def test_sending_test_events(signed_in, account, webhook, other_webhook):
    # given
    page = signed_in.get(reverse("dashboard:webhook-test", args=[webhook.id]))
    assert page.content.decode().count('type="checkbox" name="events"') == 9

    # when
    response = signed_in.post(
        reverse("dashboard:webhook-test", args=[webhook.id]),
        {"events": ["customers.create.v0", "stocks.update.v0"]},
    )

    # then
    assert response.status_code == 302 and response["Location"] == detail_url(webhook)
    events = Event.objects.filter(account=account)
    assert sorted(event.key for event in events) == ["customers.create.v0", "stocks.update.v0"]
    assert {event.source for event in events} == {"test"}
    assert Delivery.objects.filter(webhook=webhook).count() == 2
    assert not Delivery.objects.filter(webhook=other_webhook).exists()
    assert messages_of(response) == ["Sent 2 test event(s): customers.create.v0, stocks.update.v0."]


def test_sending_no_test_event_shows_the_services_message(signed_in, webhook):
    response = signed_in.post(reverse("dashboard:webhook-test", args=[webhook.id]), {})

    assert response.status_code == 200
    assert response.context["form"].errors["events"] == ["Give a non-empty list of event keys."]


# --- detail: metrics and history ------------------------------------------------------------


def test_detail_shows_configuration_metrics_chart_and_coloured_bars(
    signed_in, webhook, make_delivery
):
    # given: one of each colour
    succeeded = make_delivery(webhook)
    record_attempt(succeeded, status=200)
    failed = make_delivery(webhook, key="products.create.v0")
    record_attempt(failed, status=500)
    pending = make_delivery(webhook)

    # when
    response = signed_in.get(detail_url(webhook))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Shop sync" in html and "connect 5000 ms" in html
    assert 'id="metric-success-rate">50.0 %' in html
    assert 'id="metric-error-rate">50.0 %' in html
    assert "42.5 ms" in html  # average and p95 response time
    assert "Retries per event" in html
    assert "<svg" in html and 'class="volume-success"' in html and 'class="volume-failure"' in html
    rows = re.findall(r'data-delivery-id="(\d+)" data-state="(\w+)"', html)
    assert rows == [
        (str(pending.id), "pending"),
        (str(failed.id), "failed"),
        (str(succeeded.id), "succeeded"),
    ]
    assert 'class="bar bar-success"' in html
    assert 'class="bar bar-failure"' in html
    assert 'class="bar bar-idle"' in html  # queued, never sent: grey
    assert f'data-poll-url="{reverse("dashboard:webhook-history", args=[webhook.id])}"' in html


@pytest.mark.parametrize("window", ["15m", "1h", "6h", "24h", "7d", "30d"])
def test_every_metrics_window_renders(signed_in, webhook, make_delivery, window):
    record_attempt(make_delivery(webhook), status=200)

    response = signed_in.get(detail_url(webhook), {"window": window})

    assert response.status_code == 200
    assert response.context["window"] == window
    assert response.context["chart"].total_succeeded == 1


def test_an_unknown_window_falls_back_to_a_day(signed_in, webhook):
    response = signed_in.get(detail_url(webhook), {"window": "999y"})

    assert response.status_code == 200
    assert response.context["window"] == "24h"


def history_ids(response: Any) -> list[int]:
    return [int(i) for i in re.findall(r'data-delivery-id="(\d+)"', response.content.decode())]


def test_history_filters_by_status_event_and_time(signed_in, webhook, make_delivery):
    # given
    ok = make_delivery(webhook)
    record_attempt(ok, status=200)
    bad = make_delivery(webhook, key="products.create.v0")
    record_attempt(bad, status=503)
    waiting = make_delivery(webhook)
    Delivery.objects.filter(id=ok.id).update(created_at=timezone.now() - timedelta(hours=5))

    # then
    assert history_ids(signed_in.get(detail_url(webhook), {"status": "failure"})) == [bad.id]
    assert history_ids(signed_in.get(detail_url(webhook), {"status": "success"})) == [ok.id]
    assert history_ids(signed_in.get(detail_url(webhook), {"status": "waiting"})) == [waiting.id]
    assert history_ids(signed_in.get(detail_url(webhook), {"status": "failed"})) == [bad.id]
    assert history_ids(signed_in.get(detail_url(webhook), {"event": EVENT})) == [waiting.id, ok.id]
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    until = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert history_ids(signed_in.get(detail_url(webhook), {"since": since})) == [waiting.id, bad.id]
    assert history_ids(signed_in.get(detail_url(webhook), {"until": until})) == [ok.id]


def test_contradicting_filters_show_the_selectors_message(signed_in, webhook, make_delivery):
    make_delivery(webhook)

    response = signed_in.get(
        detail_url(webhook), {"since": "2030-01-02T00:00", "until": "2030-01-01T00:00"}
    )

    assert response.status_code == 200
    assert response.context["filter_form"].errors["until"] == ["Must not be before since."]
    assert history_ids(response) == []
    assert b"Correct the filters" in response.content


def test_history_is_paginated_newest_first(signed_in, webhook, make_delivery):
    # given
    deliveries = [make_delivery(webhook) for _ in range(30)]

    # when
    first = signed_in.get(detail_url(webhook))
    second = signed_in.get(detail_url(webhook), {"page": 2})

    # then
    newest_first = [d.id for d in reversed(deliveries)]
    assert history_ids(first) == newest_first[:25]
    assert history_ids(second) == newest_first[25:]
    assert b"Page 1 of 2" in first.content
    assert b"?page=2" in first.content


def test_history_fragment_is_the_table_alone_with_the_same_filters(
    signed_in, webhook, make_delivery
):
    # given
    ok = make_delivery(webhook)
    record_attempt(ok, status=200)
    make_delivery(webhook)

    # when
    response = signed_in.get(
        reverse("dashboard:webhook-history", args=[webhook.id]), {"status": "success"}
    )

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and '<table class="wide history-table"' in html
    assert history_ids(response) == [ok.id]
    assert response["Cache-Control"] == "no-store"


# --- delivery detail ------------------------------------------------------------------------


def test_delivery_detail_shows_request_error_and_success_panels(signed_in, webhook, make_delivery):
    # given: a 500 with an error body, then a 200 after a redirect
    delivery = make_delivery(webhook, comment="hello")
    record_attempt(
        delivery,
        status=500,
        body='{"error":"database down"}',
        error_kind="http_status",
        error_message="HTTP 500",
    )
    record_attempt(
        delivery,
        status=200,
        body="thanks",
        hops=[{"url": "https://hooks.example.com/old", "status": 301}],
        trigger="manual",
    )

    # when
    response = signed_in.get(reverse("dashboard:delivery-detail", args=[delivery.id]))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="panel panel-request"') == 2
    assert html.count('class="panel panel-error"') == 1
    assert html.count('class="panel panel-success"') == 1
    assert "Tillhub HTTP Connector/2.1.0" in html
    assert "Tillhub-Signature" in html
    body = json.loads(
        re.search(r'<pre class="payload">(.*?)</pre>', html, re.S).group(1).replace("&quot;", '"')
    )
    assert body["event_id"] == str(delivery.event_id)
    assert body["payload"]["firstname"] == "Jürgen"
    assert "\n  &quot;webhook_id&quot;" in html  # pretty-printed
    assert "&quot;error&quot;: &quot;database down&quot;" in html
    assert "HTTP 500" in html and "http_status" in html
    assert "https://hooks.example.com/old" in html and "Redirects (1)" in html
    assert "Attempt 2 (resend)" in html
    assert html.index("Attempt 2") < html.index("Attempt 1")


def test_delivery_detail_before_any_attempt_shows_the_payload_to_be_sent(
    signed_in, webhook, make_delivery
):
    delivery = make_delivery(webhook)

    response = signed_in.get(reverse("dashboard:delivery-detail", args=[delivery.id]))

    assert b"Not sent yet" in response.content
    assert b"panel panel-request" in response.content
    assert b"Waiting for a worker." in response.content


def test_delivery_live_fragment(signed_in, webhook, make_delivery):
    delivery = make_delivery(webhook)
    record_attempt(delivery, status=404, body="nope")

    response = signed_in.get(reverse("dashboard:delivery-live", args=[delivery.id]))

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"Error response" in response.content and b"nope" in response.content


# --- resend ---------------------------------------------------------------------------------


def test_resending_one_delivery(signed_in, webhook, make_delivery):
    # given
    delivery = make_delivery(webhook)
    record_attempt(delivery, status=500)
    back = detail_url(webhook) + "?status=failure"

    # when
    response = signed_in.post(
        reverse("dashboard:delivery-resend", args=[delivery.id]), {"next": back}
    )

    # then
    delivery.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == back
    assert (delivery.state, delivery.next_trigger) == ("pending", "manual")
    assert messages_of(response) == [
        f"Delivery {delivery.id} was queued for resending; a new attempt follows."
    ]


def test_resending_one_ignores_a_next_url_elsewhere(signed_in, webhook, make_delivery):
    delivery = make_delivery(webhook)

    response = signed_in.post(
        reverse("dashboard:delivery-resend", args=[delivery.id]),
        {"next": "https://evil.example.com/"},
    )

    assert response["Location"] == reverse("dashboard:delivery-detail", args=[delivery.id])


def test_resending_selected_deliveries(signed_in, webhook, make_delivery):
    # given
    first, second, untouched = (make_delivery(webhook) for _ in range(3))
    for delivery in (first, second, untouched):
        record_attempt(delivery, status=500)

    url = reverse("dashboard:webhook-resend-selected", args=[webhook.id])
    selection = {"delivery_ids": [first.id, second.id], "next": detail_url(webhook)}

    # when: the selection is posted
    asked = signed_in.post(url, selection)

    # then: like Resend all, it first asks, with the count, and resends nothing yet
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Resend 2 selected deliveries?" in html
    assert 'id="resend-selected-count">2<' in html
    assert 'value="Yes, resend 2"' in html
    assert set(Delivery.objects.values_list("next_trigger", flat=True)) == {"automatic"}

    # when: confirmed
    response = signed_in.post(url, {**selection, "confirmed": "yes"})

    # then
    assert response.status_code == 302 and response["Location"] == detail_url(webhook)
    states = dict(Delivery.objects.values_list("id", "next_trigger"))
    assert states == {first.id: "manual", second.id: "manual", untouched.id: "automatic"}
    assert messages_of(response) == [
        "Queued 2 deliveries for resending; the bars update as they are sent."
    ]


def test_resending_nothing_selected_says_so(signed_in, webhook):
    response = signed_in.post(reverse("dashboard:webhook-resend-selected", args=[webhook.id]))

    assert messages_of(response) == ["Select at least one delivery to resend."]


def test_resend_all_confirms_the_count_then_resends_the_matching_ones(
    signed_in, webhook, make_delivery
):
    # given: two failed products deliveries, one failed customers one, one succeeded product
    failed_products = [make_delivery(webhook, key="products.create.v0") for _ in range(2)]
    failed_customer = make_delivery(webhook)
    ok_product = make_delivery(webhook, key="products.create.v0")
    for delivery in (*failed_products, failed_customer):
        record_attempt(delivery, status=500)
    record_attempt(ok_product, status=200)
    url = reverse("dashboard:webhook-resend-all", args=[webhook.id])
    filters = {"status": "failure", "event": "products.create.v0"}

    # when
    confirmation = signed_in.get(url, filters)

    # then: the page states how many will be resent, and nothing happened yet
    assert confirmation.status_code == 200
    assert confirmation.context["count"] == 2
    assert b'<strong id="resend-all-count">2</strong>' in confirmation.content
    assert b"Resend 2 deliveries?" in confirmation.content
    assert not Delivery.objects.filter(next_trigger="manual").exists()

    # when
    response = signed_in.post(url, filters)

    # then
    assert response.status_code == 302
    assert response["Location"] == detail_url(webhook) + "?status=failure&event=products.create.v0"
    manual = set(Delivery.objects.filter(next_trigger="manual").values_list("id", flat=True))
    assert manual == {d.id for d in failed_products}
    assert messages_of(response) == [
        "Queued 2 deliveries for resending; the bars update as they are sent."
    ]


def test_resend_all_without_filters_covers_the_whole_history(signed_in, webhook, make_delivery):
    for _ in range(3):
        make_delivery(webhook)

    confirmation = signed_in.get(reverse("dashboard:webhook-resend-all", args=[webhook.id]))

    assert confirmation.context["count"] == 3


def test_resend_all_with_bad_filters_resends_nothing(signed_in, webhook, make_delivery):
    make_delivery(webhook)

    response = signed_in.post(
        reverse("dashboard:webhook-resend-all", args=[webhook.id]), {"status": "purple"}
    )

    assert response.status_code == 302
    assert not Delivery.objects.filter(next_trigger="manual").exists()
    assert messages_of(response)[0].startswith("status: ")
