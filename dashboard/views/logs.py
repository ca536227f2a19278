"""The account-wide lists: every delivery of the account with filters and search, and every
published event with its deliveries. Both page through bounded counts (dashboard.paging)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.paging import BoundedPaginator, page_numbers, requested_page
from dashboard.search import DeliverySearchForm
from dashboard.views.access import current_account
from dashboard.views.history import HISTORY_PAGE_SIZE
from deliveries.models import Delivery
from deliveries.selectors import account_events, delivery_search, events_with_deliveries
from events.catalog import EVENT_TYPES, UnknownEventKey, canonical_event_key
from events.models import Event
from webhooks.selectors import webhooks_for_account

# Events per page: each brings its deliveries along, so fewer rows than the history.
EVENTS_PAGE_SIZE = 20


@login_required
def account_deliveries(request: HttpRequest) -> HttpResponse:
    """Every delivery of the account, newest first, with the filters and search of
    `GET /api/v1/deliveries/`."""
    account = current_account(request)
    webhooks = list(webhooks_for_account(account_id=account.id))
    form = DeliverySearchForm(request.GET, webhooks=webhooks)
    search = form.delivery_search()
    deliveries = (
        delivery_search(account_id=account.id, search=search).select_related("webhook")
        if search is not None
        else Delivery.objects.none()
    )
    page = BoundedPaginator(deliveries, HISTORY_PAGE_SIZE).get_page(requested_page(request.GET))
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "page_numbers": page_numbers(page),
        "filtered": bool(form.query()),
    }
    return render(request, "dashboard/deliveries.html", context)


@login_required
def account_event_list(request: HttpRequest) -> HttpResponse:
    """The account's published events, newest first, each with its deliveries."""
    account = current_account(request)
    event_key, error = _event_key(request.GET.get("event", ""))
    events = (
        account_events(account_id=account.id, event=event_key)
        if error is None
        else Event.objects.none()
    )
    page = BoundedPaginator(events, EVENTS_PAGE_SIZE).get_page(requested_page(request.GET))
    rows = list(page.object_list)
    deliveries = events_with_deliveries(events=rows)
    context = {
        "page": page,
        "page_numbers": page_numbers(page),
        "rows": [(event, deliveries[event.id]) for event in rows],
        "event_key": event_key or "",
        "event_keys": list(EVENT_TYPES),
        "event_error": error,
        "filtered": bool(event_key),
    }
    return render(request, "dashboard/events.html", context)


def _event_key(raw: str) -> tuple[str | None, str | None]:
    """The canonical event key (None for any) and an error message for an unknown one."""
    if not raw:
        return None, None
    try:
        return canonical_event_key(raw), None
    except (UnknownEventKey, ValidationError) as error:
        return None, str(error)
