"""Daily operation in a real headless Chromium (issue 13 items 5, 7, 8, 9, 11): the health
metrics and the volume chart follow the delivery list live; one place to find a delivery
(Deliveries and Events pages, search, numbered pages); no page scrolls sideways on a 390 px
phone and a refused form takes the focus to its first error. Real Celery worker and
scheduler processes deliver to a local receiver. Saves screenshots to test-artifacts/."""

import re
from typing import Any

import pytest

from deliveries.models import Delivery
from deliveries.services.subscriptions import webhook_send_test_events
from tests.dashboard.test_browser import (  # the module's fixtures: one browser, one stack
    ARTIFACTS,
    UPDATE_TIMEOUT_MS,
    browser,  # noqa: F401
    expect,
    stack,  # noqa: F401
)
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PHONE = {"width": 390, "height": 844}
EVENT = "customers.create.v0"


def signed_in_page(chromium: Any, live_server: Any, viewport: dict[str, int]) -> Any:
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(UPDATE_TIMEOUT_MS)
    expect.set_options(timeout=UPDATE_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("acme")
    page.get_by_label("Password").fill("pw-123456789")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    return page


def scroll_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


OVERFLOWING = """
() => Array.from(document.querySelectorAll("body *"))
    .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5
        || (element.scrollWidth > element.clientWidth + 0.5
            && getComputedStyle(element).overflowX === "visible"
            && element.getBoundingClientRect().left + element.scrollWidth
               > window.innerWidth + 0.5))
    .slice(0, 8)
    .map((element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
        + (element.className && typeof element.className === "string"
           ? "." + element.className.trim().split(/\\s+/).join(".") : ""))
"""


def overflowing(page: Any) -> list[str]:
    """The first elements that reach past the viewport's right edge (for the failure message)."""
    return list(page.evaluate(OVERFLOWING))


def publish_test_events(webhook: Webhook, count: int) -> list[Delivery]:
    deliveries = []
    for _ in range(count):
        (published,) = webhook_send_test_events(webhook=webhook, keys=[EVENT])
        deliveries.append(Delivery.objects.get(event=published.event, webhook=webhook))
    return deliveries


@pytest.mark.timeout(300)
def test_metrics_follow_the_list_and_one_place_finds_every_delivery(
    stack,  # noqa: F811
    browser,  # noqa: F811
    live_server,
    account_with_token,
    receiver,
):
    # given: a webhook to the local receiver, its detail page open on a laptop screen
    webhook = webhook_create(
        account=account_with_token.account,
        url=receiver.url(),
        events=[EVENT, "products.create.v0"],
        description="Shop sync on this machine",
    )
    page = signed_in_page(browser, live_server, {"width": 1366, "height": 860})
    page.goto(f"/webhooks/{webhook.id}/")
    expect(page.locator("#metric-deliveries")).to_have_text("0 (0 succeeded, 0 failed)")
    page.evaluate("window.__hooklineNoReload = true")

    # when: three events are delivered while the page stays open (item 5)
    delivered = publish_test_events(webhook, 3)

    # then: list, health metrics and chart move together, without a reload
    expect(page.locator("#history-live tr.delivery-row")).to_have_count(3)
    expect(page.locator("#metric-deliveries")).to_have_text("3 (3 succeeded, 0 failed)")
    expect(page.locator("#metric-success-rate")).to_have_text("100.0 %")
    expect(page.locator("#volume-live figcaption")).to_contain_text("3 successful")
    assert page.evaluate("window.__hooklineNoReload === true"), "the page was reloaded"
    page.screenshot(path=str(ARTIFACTS / "operations-live-metrics.png"), full_page=True)

    # when: the secret is revealed (item 9)
    expect(page.locator("#secret-value")).to_have_attribute("type", "password")
    page.get_by_role("button", name="Reveal").click()

    # then
    expect(page.locator("#secret-value")).to_have_attribute("type", "text")
    expect(page.locator("#secret-value")).to_have_value(webhook.secret)
    page.get_by_role("button", name="Hide").click()
    expect(page.locator("#secret-value")).to_have_attribute("type", "password")

    # when: a second, inactive webhook collects 30 paused deliveries
    waiting = webhook_create(
        account=account_with_token.account,
        url="http://127.0.0.1:9/never",
        events=[EVENT],
        active=False,
    )
    paused = publish_test_events(waiting, 30)

    # then: the Deliveries page lists both webhooks' deliveries, newest first, numbered pages
    page.get_by_role("link", name="Deliveries", exact=True).click()
    expect(page.get_by_role("heading", name="Deliveries", exact=True)).to_be_visible()
    rows = page.locator("#deliveries-table tr.delivery-row")
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_attribute("data-delivery-id", str(paused[-1].id))
    expect(page.locator(".page-count").first).to_contain_text("33 deliveries")
    page.get_by_label("Page 2", exact=True).click()
    expect(page.locator(".page-current")).to_have_text("2")
    expect(rows).to_have_count(8)

    # when: searched by an event id
    target = delivered[1]
    page.get_by_label("Search:").fill(str(target.event_id))
    page.get_by_role("button", name="Search").click()

    # then: that delivery alone, green
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-delivery-id", str(target.id))
    expect(rows.first.locator(".bar-success")).to_contain_text("Success")

    # when: filtered by webhook and status-code class
    page.get_by_role("link", name="Reset").click()
    page.get_by_label("Webhook:").select_option(str(webhook.id))
    page.get_by_label("Status code:").fill("2xx")
    page.get_by_role("button", name="Search").click()

    # then
    expect(rows).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "operations-deliveries.png"), full_page=True)

    # when: the Events page is opened
    page.get_by_role("link", name="Events", exact=True).click()

    # then: published events with their deliveries, a click away
    expect(page.locator("#events-table tr.event-row")).to_have_count(20)
    first_event = page.locator("#events-table tr.event-row").first
    expect(first_event.locator(".bar-idle")).to_contain_text("Paused")
    page.screenshot(path=str(ARTIFACTS / "operations-events.png"), full_page=True)
    page.context.close()


@pytest.mark.timeout(300)
def test_no_page_scrolls_sideways_on_a_phone_and_errors_take_the_focus(
    stack,  # noqa: F811
    browser,  # noqa: F811
    live_server,
    account_with_token,
    receiver,
):
    # given: a webhook with a long URL and a delivered event, some history, a phone
    webhook = webhook_create(
        account=account_with_token.account,
        url=receiver.url() + "webhooks/tillhub/customers-and-products/with-a-long-path?x=1",
        events=[EVENT, "products.create.v0", "transactions.create.v0", "stocks.update.v0"],
        description="Shop sync on this machine with a long description",
    )
    (delivery,) = publish_test_events(webhook, 1)
    page = signed_in_page(browser, live_server, PHONE)
    page.goto(f"/webhooks/{webhook.id}/")
    expect(page.locator("#history-live .bar-success")).to_have_count(1)

    # when / then: every page fits 390 px (item 8)
    pages = {
        "overview": "/",
        "detail": f"/webhooks/{webhook.id}/",
        "delivery": f"/deliveries/{delivery.id}/",
        "deliveries": "/deliveries/",
        "events": "/events/",
        "new": "/webhooks/new/",
        "edit": f"/webhooks/{webhook.id}/edit/",
        "test": f"/webhooks/{webhook.id}/test/",
        "delete": f"/webhooks/{webhook.id}/delete/",
        "resend-all": f"/webhooks/{webhook.id}/resend-all/",
    }
    widths = {}
    for name, path in pages.items():
        page.goto(path)
        widths[name] = (scroll_width(page), overflowing(page))
        if name in ("overview", "detail", "delivery"):
            page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    too_wide = {name: found for name, found in widths.items() if found[0] > PHONE["width"]}
    assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"

    # when: selected deliveries are resent, the count is confirmed first (item 11)
    page.goto(f"/webhooks/{webhook.id}/")
    page.get_by_label(f"Select delivery {delivery.id}", exact=True).check()
    page.get_by_role("button", name="Resend selected").click()
    expect(page.get_by_role("heading", name="Resend 1 selected delivery?")).to_be_visible()
    assert scroll_width(page) <= PHONE["width"]
    page.get_by_role("button", name="Yes, resend 1").click()
    expect(page.locator(".messagelist")).to_contain_text("Queued 1 delivery for resending")

    # when: a form is sent with a bad URL and no event (item 8)
    page.goto("/webhooks/new/")
    page.get_by_label("URL:", exact=True).fill("ftp://example.com/hook")
    page.get_by_role("button", name="Save").click()

    # then: plain words, and the focus is on the first field in error
    expect(page.locator(".field-url .errorlist")).to_contain_text("Enter a valid URL")
    expect(page.locator(".field-events .errorlist")).to_contain_text("Choose at least one event")
    expect(page.get_by_label("URL:", exact=True)).to_be_focused()
    assert scroll_width(page) <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "phone-form-errors.png"), full_page=True)
    assert re.search(r"/webhooks/new/$", page.url)
    page.context.close()
