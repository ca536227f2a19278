"""The pre-flight check in the dashboard: the detail page's button and the results page, run
against the reference receiver (and a closed port) on 127.0.0.1 through the test client."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from deliveries.preflight import CHECK_TITLES
from simulator.receiver import ReceiverConfig
from tests.dashboard.conftest import EVENT
from tests.support.reference_receiver import RunningReceiver
from tests.support.services import free_port
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

# Local endpoints answer in milliseconds; short timeouts keep a failure fast.
FAST = {"connect_timeout_ms": 1000, "request_timeout_ms": 3000}


def preflight_url(webhook: Webhook) -> str:
    return reverse("dashboard:webhook-preflight", args=[webhook.id])


def rows(html: str) -> dict[str, str]:
    """Each check's row of the results table, by check name."""
    return dict(re.findall(r'<tr class="check-row [^"]*" id="check-(\w+)">(.*?)</tr>', html, re.S))


@pytest.fixture
def receiver_webhook(account: Any) -> Iterator[tuple[Webhook, RunningReceiver]]:
    """A webhook pointing at a reference receiver that checks its secret."""
    webhook = webhook_create(account=account, url="http://127.0.0.1:1/", events=[EVENT], **FAST)
    receiver = RunningReceiver(ReceiverConfig(secrets=[webhook.secret]))
    Webhook.objects.filter(id=webhook.id).update(url=receiver.url())
    webhook.refresh_from_db()
    yield webhook, receiver
    receiver.close()


def test_the_detail_page_has_a_button_that_posts_with_csrf(signed_in, webhook):
    # when
    html = signed_in.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content.decode()

    # then: a POST form to the results page, with the CSRF token and the button
    form = re.search(
        rf'<form method="post" action="{preflight_url(webhook)}">(.*?)</form>', html, re.S
    )
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert re.search(
        r'<button type="submit" id="preflight-button"[^>]*>Run pre-flight check<', html
    )


def test_the_page_explains_the_checks_before_running_them(signed_in, webhook):
    # when
    response = signed_in.get(preflight_url(webhook))

    # then: nothing was run; the checklist, the event choice and the way back are shown
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="preflight-results"' not in html
    for title in CHECK_TITLES.values():
        assert f"<li>{title}</li>" in html
    assert '<option value="transactions.create.v0" selected>' in html
    assert 'value="Run pre-flight check"' in html
    assert f'href="{reverse("dashboard:webhook-detail", args=[webhook.id])}"' in html


def test_the_button_runs_the_checks_and_shows_each_result_coloured(
    account_with_token, receiver_webhook
):
    # given: a browser-like client that enforces CSRF, on the detail page
    webhook, receiver = receiver_webhook
    client = Client(enforce_csrf_checks=True)
    client.force_login(account_with_token.user)
    detail = client.get(reverse("dashboard:webhook-detail", args=[webhook.id])).content.decode()
    token = re.search(
        rf'action="{preflight_url(webhook)}">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        detail,
    )
    assert token is not None

    # when: the button is pressed (its form sends the token and nothing else)
    response = client.post(preflight_url(webhook), {"csrfmiddlewaretoken": token.group(1)})

    # then: every check in order, each with its colour class, label and detail
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    found = rows(html)
    assert list(found) == list(CHECK_TITLES)
    expected = {
        "url": "pass",
        "dns": "warn",  # loopback, allowed only because the tests allow private targets
        "tcp": "pass",
        "https": "warn",  # plain http to a local host
        "response_time": "pass",
        "signed_event": "pass",
        "bad_signature": "pass",
        "idempotency": "pass",
        "basic_auth": "skipped",
    }
    for name, status in expected.items():
        assert f'<tr class="check-row check-{status}" id="check-{name}">' in html
        label = status.capitalize()
        assert f'<span class="check-status check-status-{status}">{label}</span>' in found[name]
        assert f'<th scope="row">{CHECK_TITLES[name]}</th>' in found[name]
    # detail and advice, as the checks word them
    assert "not HTTPS; Tillhub requires https in production" in found["https"]
    assert 'class="check-advice"' in found["dns"] and "Fine for local testing" in found["dns"]
    assert "skipped: no username configured" in found["basic_auth"]
    assert 'class="check-advice"' not in found["tcp"]
    verdict = "6 passed, 2 warnings, 0 failed, 1 skipped: ready, with warnings to look at"
    assert verdict in html
    assert 'class="preflight-verdict verdict-ok"' in html
    assert "test event <code>transactions.create.v0</code>" in html
    # a way back, and a way to run again
    assert f'href="{reverse("dashboard:webhook-detail", args=[webhook.id])}"' in html
    assert 'value="Run again"' in html
    # the receiver saw the checklist's requests
    assert receiver.stats["accepted"] == 1
    assert receiver.stats["duplicates"] == 1
    assert receiver.stats["rejected"] == {"signature": 1}


def test_a_failed_check_is_red_with_its_advice_and_the_rest_grey(signed_in, account):
    # given: nothing listens on the port
    webhook = webhook_create(
        account=account, url=f"http://127.0.0.1:{free_port()}/hook", events=[EVENT], **FAST
    )

    # when
    response = signed_in.post(preflight_url(webhook))

    # then
    html = response.content.decode()
    found = rows(html)
    assert '<span class="check-status check-status-fail">Fail</span>' in found["tcp"]
    assert "could not connect" in found["tcp"]
    assert "Check that the server runs and listens on port" in found["tcp"]
    for name in list(CHECK_TITLES)[3:]:
        assert '<span class="check-status check-status-skipped">Skipped</span>' in found[name]
    assert "1 passed, 1 warning, 1 failed, 6 skipped: not ready: fix the failed checks" in html
    assert 'class="preflight-verdict verdict-fail"' in html


def test_the_chosen_test_event_is_sent_and_kept_selected(signed_in, receiver_webhook):
    # given
    webhook, receiver = receiver_webhook

    # when
    response = signed_in.post(preflight_url(webhook), {"event": "stocks.update.v0"})

    # then
    html = response.content.decode()
    assert "test event <code>stocks.update.v0</code>" in html
    assert '<option value="stocks.update.v0" selected>' in html
    assert receiver.stats["by_event"] == {"stocks-book.update": 1}  # entity.type, as sent


def test_an_unknown_event_shows_the_services_message_and_sends_nothing(signed_in, receiver_webhook):
    # given
    webhook, receiver = receiver_webhook

    # when
    response = signed_in.post(preflight_url(webhook), {"event": "orders.create.v0"})

    # then
    assert response.status_code == 200
    (message,) = response.context["form"].errors["event"]
    assert "orders.create.v0" in message
    assert b"errornote" in response.content
    assert b'id="preflight-results"' not in response.content
    assert receiver.stats["requests"] == 0


def test_another_accounts_webhook_is_404_and_gets_no_request(signed_in, other_webhook):
    # given: the other account's webhook points at a receiver
    receiver = RunningReceiver(ReceiverConfig(secrets=[other_webhook.secret]))
    Webhook.objects.filter(id=other_webhook.id).update(url=receiver.url())
    try:
        # when
        page = signed_in.get(preflight_url(other_webhook))
        run = signed_in.post(preflight_url(other_webhook))

        # then
        assert page.status_code == 404
        assert run.status_code == 404
        assert receiver.stats["requests"] == 0
    finally:
        receiver.close()


def test_the_page_needs_a_signed_in_user(client, webhook):
    # when
    response = client.post(preflight_url(webhook))

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
