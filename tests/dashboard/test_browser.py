"""The dashboard end to end: a real headless Chromium (Debian's, driven by Playwright) against
the live server, with real Celery worker and scheduler processes delivering to a local
receiver. Saves a screenshot of the detail page to test-artifacts/dashboard-detail.png."""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliveries.models import Attempt, Delivery
from deliveries.services.subscriptions import webhook_send_test_events
from simulator.receiver import ReceiverConfig
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply
from tests.support.reference_receiver import RunningReceiver
from webhooks.models import Webhook
from webhooks.services import webhook_create

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Long enough for a worker to pick a delivery up, send it and record it, plus a poll (2 s).
UPDATE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryProcesses]:
    with django_db_blocker.unblock():
        # The scenario fails on purpose many times in a row: auto-deactivation would cut it
        # short, so its threshold is out of reach here.
        processes = CeleryProcesses(
            _test_database_url(), WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS="1000000"
        )
    processes.start_worker("dashboard", concurrency=2)
    processes.start_scheduler()
    yield processes
    processes.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are plain synchronous code all the same.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = playwright_sync.sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    # A laptop screen.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 860})
    context.set_default_timeout(UPDATE_TIMEOUT_MS)
    expect.set_options(timeout=UPDATE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def bars(page: Any, colour: str) -> Any:
    return page.locator(f"#history-live .bar-{colour}")


def mark_page(page: Any) -> None:
    """Tag the loaded document; the tag survives fetches but not a navigation."""
    page.evaluate("window.__hooklineNoReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__hooklineNoReload === true"), "the page was reloaded"


def published_delivery(webhook: Webhook, key: str) -> Delivery:
    """Send one test event to the webhook from the back end; return its delivery."""
    (published,) = webhook_send_test_events(webhook=webhook, keys=[key])
    return Delivery.objects.get(event=published.event, webhook=webhook)


def manual_attempts(delivery: Delivery) -> int:
    return Attempt.objects.filter(delivery=delivery, trigger="manual").count()


@pytest.mark.timeout(300)
def test_manage_a_webhook_and_watch_its_deliveries(stack, page, account_with_token, receiver):
    # given: signed in
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-123456789")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()

    # when: a webhook is created for the local receiver
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("URL:", exact=True).fill(receiver.url())
    page.get_by_label("Description:", exact=True).fill("Receiver on this machine")
    page.locator("input[name=events][value='customers.create.v0']").check()
    page.locator("input[name=events][value='products.create.v0']").check()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-new.png"), full_page=True)
    page.get_by_role("button", name="Save").click()

    # then
    expect(page.locator(".messagelist")).to_contain_text("was created")
    webhook = Webhook.objects.get(account=account_with_token.account)
    # the secret is masked; its field still holds it for Reveal and Copy
    expect(page.locator("#secret-value")).to_have_attribute("type", "password")
    expect(page.locator("#secret-value")).to_have_value(webhook.secret)

    # when: a test event is sent from the browser
    page.get_by_role("link", name="Send test event").click()
    page.locator("input[name=events][value='products.create.v0']").uncheck()
    page.get_by_role("button", name="Send test events").click()

    # then: a green bar appears
    expect(page.locator(".messagelist")).to_contain_text("Sent 1 test event(s)")
    expect(bars(page, "success")).to_have_count(1)
    assert len(receiver.requests) == 1

    # when: the receiver fails, and an event comes while the page is open
    receiver.default = Reply(status=500, body=b'{"error":"database down"}')
    mark_page(page)
    failed_product = published_delivery(webhook, "products.create.v0")

    # then: a red bar appears without a reload (the poller)
    expect(bars(page, "failure")).to_have_count(1)
    assert_not_reloaded(page)

    # when: the red delivery is opened
    page.get_by_label(re.compile(rf"^Delivery {failed_product.id}: ")).click()

    # then: the request (blue) and the error response (red) can be read
    expect(page.get_by_role("heading", name=f"Delivery {failed_product.id}")).to_be_visible()
    error_panel = page.locator(".panel-error").first
    expect(error_panel).to_contain_text("HTTP 500")
    expect(error_panel).to_contain_text('"error": "database down"')
    request_panel = page.locator(".panel-request").first
    expect(request_panel).to_contain_text("Tillhub-Signature")
    expect(request_panel).to_contain_text(f'"event_id": "{failed_product.event_id}"')
    page.screenshot(path=str(ARTIFACTS / "dashboard-delivery.png"), full_page=True)

    # when: it is resent
    page.get_by_role("button", name="Resend", exact=True).click()

    # then: queued, and the new manual attempt shows up on the page by itself
    expect(page.locator(".messagelist")).to_contain_text("queued for resending")
    expect(page.get_by_role("heading", name=re.compile(r"\(resend\)")).first).to_be_visible()
    assert manual_attempts(failed_product) >= 1

    # when: a second delivery fails, and both are selected and resent together
    page.locator(".breadcrumbs a").nth(1).click()
    failed_customer = published_delivery(webhook, "customers.create.v0")
    expect(bars(page, "failure")).to_have_count(2)
    before = {d.id: manual_attempts(d) for d in (failed_product, failed_customer)}
    page.get_by_label(f"Select delivery {failed_product.id}", exact=True).check()
    page.get_by_label(f"Select delivery {failed_customer.id}", exact=True).check()
    page.get_by_role("button", name="Resend selected").click()

    # then: asked first, with the count, as Resend all does
    expect(page.locator("#resend-selected-count")).to_have_text("2")
    page.get_by_role("button", name="Yes, resend 2").click()
    expect(page.locator(".messagelist")).to_contain_text("Queued 2 deliveries for resending")
    expect(page.locator("#metric-error-rate")).not_to_have_text("—")
    for delivery in (failed_product, failed_customer):
        wait_until(lambda d=delivery: manual_attempts(d) > before[d.id])

    # when: the receiver holds the next request, so a delivery stays in flight
    receiver.then(Reply(hang=True))
    mark_page(page)
    published_delivery(webhook, "customers.create.v0")

    # then: green, red and blue (sent, no answer yet) bars side by side, without a reload
    expect(bars(page, "sent").first).to_be_visible()
    expect(bars(page, "success")).to_have_count(1)
    expect(bars(page, "failure").first).to_be_visible()
    assert_not_reloaded(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard-detail.png"), full_page=True)

    # when: the webhook is deactivated
    receiver.released.set()
    page.get_by_role("button", name="Deactivate").click()

    # then: what waits for a retry is paused (grey) and nothing fails any more
    expect(page.locator(".messagelist")).to_contain_text("is inactive")
    expect(bars(page, "failure")).to_have_count(0)

    # when: the receiver recovers and the webhook is activated again
    receiver.default = Reply(status=200)
    page.get_by_role("button", name="Activate").click()

    # then: the paused deliveries are sent and turn green
    expect(page.locator(".messagelist")).to_contain_text("is active")
    expect(bars(page, "idle")).to_have_count(0)
    expect(bars(page, "sent")).to_have_count(0)
    expect(bars(page, "failure")).to_have_count(0)

    # when: Resend All with a filter on one event type
    page.get_by_label("Event:", exact=True).select_option("products.create.v0")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#history-live tr.delivery-row")).to_have_count(1)
    page.get_by_role("link", name="Resend all matching…").click()

    # then: the confirmation states how many will be resent, as the database counts them
    expected = Delivery.objects.filter(webhook=webhook, event_key="products.create.v0").count()
    assert expected == 1
    expect(page.locator("#resend-all-count")).to_have_text(str(expected))
    before_all = manual_attempts(failed_product)

    # when
    page.get_by_role("button", name=f"Yes, resend {expected}").click()

    # then: queued, sent in the background by the worker
    expect(page.locator(".messagelist")).to_contain_text("Queued 1 delivery for resending")
    expect(page).to_have_url(re.compile(r"event=products.create.v0"))
    wait_until(lambda: manual_attempts(failed_product) > before_all)
    expect(bars(page, "success")).to_have_count(1)

    # then: the overview shows the webhook with its success rate and last delivery
    page.get_by_role("link", name="Webhooks").first.click()
    row = page.locator("#webhooks tbody tr").first
    expect(row).to_contain_text(receiver.url())
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("%")
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)


def background(locator: Any) -> str:
    return locator.evaluate("element => getComputedStyle(element).backgroundColor")


@pytest.mark.timeout(120)
def test_run_the_pre_flight_check_from_the_detail_page(page, account_with_token):
    # given: a webhook whose endpoint is the reference receiver, and a signed-in user on it
    webhook = webhook_create(
        account=account_with_token.account,
        url="http://127.0.0.1:1/",
        events=["customers.create.v0"],
        connect_timeout_ms=1000,
        request_timeout_ms=3000,
    )
    receiver = RunningReceiver(ReceiverConfig(secrets=[webhook.secret]))
    Webhook.objects.filter(id=webhook.id).update(url=receiver.url())
    try:
        page.goto(f"/webhooks/{webhook.id}/")
        page.get_by_label("Username").fill("acme")
        page.get_by_label("Password").fill("pw-123456789")
        page.get_by_role("button", name="Log in").click()

        # when
        page.get_by_role("button", name="Run pre-flight check").click()

        # then: each check with its coloured result, detail and advice
        expect(page).to_have_url(re.compile(rf"/webhooks/{webhook.id}/preflight/$"))
        expect(page.locator(".check-row")).to_have_count(9)
        expect(page.locator("#preflight-verdict")).to_contain_text(
            "6 passed, 2 warnings, 0 failed, 1 skipped"
        )

        def label(name: str) -> Any:
            return page.locator(f"#check-{name} .check-status")

        expect(label("signed_event")).to_have_text("Pass")
        assert background(label("signed_event")) == "rgb(30, 123, 52)"  # green
        assert background(label("https")) == "rgb(180, 83, 9)"  # orange
        assert background(label("basic_auth")) == "rgb(102, 102, 102)"  # grey
        expect(page.locator("#check-dns .check-advice")).to_contain_text("Fine for local testing")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-preflight.png"), full_page=True)
        assert receiver.stats["accepted"] == 1

        # when: back to the webhook
        page.get_by_role("link", name="Back to the webhook").click()

        # then
        expect(page).to_have_url(re.compile(rf"/webhooks/{webhook.id}/$"))
    finally:
        receiver.close()
