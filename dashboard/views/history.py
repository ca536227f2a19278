"""A webhook's detail page: configuration, health metrics, and its delivery history as bars,
with the rows fragment the poller refreshes and the bulk resends."""

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dashboard.charts import volume_chart
from dashboard.forms import (
    DEFAULT_WINDOW,
    WINDOW_CHOICES,
    HistoryFilterForm,
    MetricsWindowForm,
    RegenerateSecretForm,
)
from dashboard.paging import BoundedPaginator, page_numbers
from dashboard.views.access import owned_webhook, safe_next
from deliveries.engine.numbers import NumberRefused, parse_int
from deliveries.models import Delivery
from deliveries.selectors import delivery_history, parse_window, webhook_metrics
from deliveries.services.lifecycle import (
    ResendCounts,
    deliveries_resend,
    deliveries_resend_matching,
)
from webhooks.models import Webhook

# Rows per page of history: a laptop screen's worth.
HISTORY_PAGE_SIZE = 25
# Delivery ids are positive 64-bit integers (BigAutoField).
MAX_DELIVERY_ID = 2**63 - 1
# Pages past the last show the last one; this only bounds what is read as a number.
MAX_PAGE_NUMBER = 10**12


def _history(request: HttpRequest, webhook: Webhook, query: QueryDict) -> dict[str, Any]:
    """The filter form and the requested page of the filtered history."""
    filter_form = HistoryFilterForm(query)
    filters = filter_form.history_filter()
    deliveries = (
        delivery_history(webhook=webhook, filters=filters)
        if filters is not None
        else Delivery.objects.none()
    )
    page = BoundedPaginator(deliveries, HISTORY_PAGE_SIZE).get_page(_page_number(query))
    filter_query = urlencode(filter_form.query())
    return {
        "webhook": webhook,
        "filter_form": filter_form,
        "page": page,
        "page_numbers": page_numbers(page),
        "filter_query": filter_query,
        "filtered": bool(filter_query),
        "poll_url": reverse("dashboard:webhook-history", args=[webhook.id])
        + (f"?{query.urlencode()}" if query else ""),
    }


def _metrics(webhook: Webhook, query: QueryDict) -> dict[str, Any]:
    window_form = MetricsWindowForm(query)
    window_text = DEFAULT_WINDOW
    if window_form.is_valid() and window_form.cleaned_data["window"]:
        window_text = window_form.cleaned_data["window"]
    window_form = MetricsWindowForm(initial={"window": window_text})
    metrics = webhook_metrics(webhook=webhook, window=parse_window(window_text))
    chart = volume_chart(
        volume=metrics["volume"],
        since=metrics["since"],
        until=metrics["until"],
        bucket_seconds=metrics["bucket_seconds"],
    )
    return {
        "window_form": window_form,
        "window": window_text,
        "window_label": dict(WINDOW_CHOICES)[window_text].lower(),
        "metrics": metrics,
        "chart": chart,
    }


@login_required
def webhook_detail(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    context = {
        **_history(request, webhook, request.GET),
        **_metrics(webhook, request.GET),
        "secret_form": RegenerateSecretForm(),
        "grace_secret_live": len(webhook.signing_secrets(timezone.now())) > 1,
    }
    return render(request, "dashboard/webhook_detail.html", context)


@login_required
def webhook_history_rows(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    """What the poller swaps in every couple of seconds: the history table, the health
    metrics and the volume chart, in one response so they always agree."""
    webhook = owned_webhook(request, webhook_id)
    context = {**_history(request, webhook, request.GET), **_metrics(webhook, request.GET)}
    response = render(request, "dashboard/partials/webhook_live.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _selected_ids(request: HttpRequest) -> list[int] | None:
    """The ticked delivery ids, or None when one is not a delivery id (ASCII digits)."""
    try:
        return [
            parse_int(value, low=1, high=MAX_DELIVERY_ID)
            for value in request.POST.getlist("delivery_ids")
        ]
    except NumberRefused:
        return None


def _page_number(query: QueryDict) -> int | None:
    """The requested page; None (the first page) when absent or not ASCII digits."""
    try:
        return parse_int(query.get("page", ""), low=1, high=MAX_PAGE_NUMBER)
    except NumberRefused:
        return None


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def report_resend(request: HttpRequest, counts: ResendCounts) -> None:
    """Say what a bulk resend did: queued ones are sent now; those of an inactive webhook
    wait paused until it is activated."""
    if counts.queued or not counts.paused:
        messages.success(
            request,
            f"Queued {_deliveries(counts.queued)} for resending; the bars update as they are sent.",
        )
    if counts.paused:
        messages.warning(
            request,
            f"{_deliveries(counts.paused)} wait{'s' if counts.paused == 1 else ''} paused: "
            "the webhook is inactive. They are sent when it is activated.",
        )


@login_required
@require_POST
def webhook_resend_selected(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    fallback = reverse("dashboard:webhook-detail", args=[webhook.id])
    selected = _selected_ids(request)
    if selected is None:
        return HttpResponseBadRequest(
            "delivery_ids: each must be a delivery id (ASCII digits).",
            content_type="text/plain; charset=utf-8",
        )
    ids = list(
        delivery_history(webhook=webhook).filter(id__in=selected).values_list("id", flat=True)
    )
    if not ids:
        messages.warning(request, "Select at least one delivery to resend.")
        return redirect(safe_next(request, fallback))
    if request.POST.get("confirmed") != "yes":
        # Like Resend all: first say how many, then resend on the person's yes.
        return render(
            request,
            "dashboard/resend_selected_confirm.html",
            {"webhook": webhook, "ids": ids, "next": safe_next(request, fallback)},
        )
    report_resend(request, deliveries_resend(delivery_ids=ids))
    return redirect(safe_next(request, fallback))


@login_required
def webhook_resend_all(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    """GET: how many deliveries match the filters, and a button to confirm. POST: resend them."""
    webhook = owned_webhook(request, webhook_id)
    query = request.POST if request.method == "POST" else request.GET
    filter_form = HistoryFilterForm(query)
    filters = filter_form.history_filter()
    detail_url = reverse("dashboard:webhook-detail", args=[webhook.id])
    filter_query = urlencode(filter_form.query())
    back_url = f"{detail_url}?{filter_query}" if filter_query else detail_url
    if filters is None:
        for field, errors in filter_form.errors.items():
            for message in errors:
                messages.error(request, f"{field}: {message}" if field != "__all__" else message)
        return redirect(back_url)
    deliveries = delivery_history(webhook=webhook, filters=filters)
    if request.method == "POST":
        report_resend(request, deliveries_resend_matching(deliveries=deliveries, webhook=webhook))
        return redirect(back_url)
    return render(
        request,
        "dashboard/resend_all_confirm.html",
        {
            "webhook": webhook,
            "count": deliveries.count(),
            "filter_form": filter_form,
            "filters": filters,
            "back_url": back_url,
        },
    )
