"""Under the Content-Security-Policy, a real browser (Debian's Chromium, Playwright) reports no
violation on the dashboard's pages and the API docs, and their scripts still run."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliveries.models import Delivery
from deliveries.services.subscriptions import webhook_send_test_events
from webhooks.services import webhook_create

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(live_server: Any) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are plain synchronous code all the same.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = playwright_sync.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(base_url=live_server.url)
        context.set_default_timeout(15_000)
        yield context.new_page()
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.mark.timeout(120)
def test_no_page_violates_the_content_security_policy(browser_page, account_with_token):
    # given: a webhook with a delivery, and a browser that records every violation
    page = browser_page
    webhook = webhook_create(
        account=account_with_token.account,
        url="https://hooks.example.com/tillhub",
        events=["customers.create.v0"],
    )
    (published,) = webhook_send_test_events(webhook=webhook, keys=["customers.create.v0"])
    delivery = Delivery.objects.get(event=published.event, webhook=webhook)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('Content Security Policy violation: ' + e.violatedDirective"
        " + ' ' + e.blockedURI))"
    )

    # when: signing in and opening each kind of page
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-123456789")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    for path in (
        "/",
        "/webhooks/new/",
        f"/webhooks/{webhook.id}/",
        f"/webhooks/{webhook.id}/edit/",
        f"/deliveries/{delivery.id}/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    # the dashboard's own script runs: it polls the history and marks what it swapped in
    page.goto(f"/webhooks/{webhook.id}/")
    page.wait_for_selector("[data-polled-at]", state="attached")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()

    # then
    assert violations == []
