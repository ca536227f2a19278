"""The pre-flight check of a webhook: Tillhub's checklist run against its endpoint, with the
result of each check and what to do about it."""

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.forms import PreflightForm, add_service_errors
from dashboard.views.access import owned_webhook
from deliveries.preflight import CHECK_TITLES, preflight_report, preflight_verdict
from deliveries.services.subscriptions import webhook_preflight


@login_required
def webhook_preflight_view(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    """GET: what the check does, with a button. POST: run it and show each check's result.

    The results answer the POST instead of being stored and redirected to: they are a
    snapshot of the endpoint, and running the check again is how to refresh them.
    """
    webhook = owned_webhook(request, webhook_id)
    context: dict[str, Any] = {"webhook": webhook, "check_titles": list(CHECK_TITLES.values())}
    form = PreflightForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        event_key = form.event_key()
        try:
            results = webhook_preflight(webhook=webhook, event_key=event_key)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            context["report"] = preflight_report(results, url=webhook.url)
            context["verdict"] = preflight_verdict(results)
            context["event_key"] = event_key
            form = PreflightForm(initial={"event": event_key})
    context["form"] = form
    response = render(request, "dashboard/webhook_preflight.html", context)
    response["Cache-Control"] = "no-store"  # a snapshot of the endpoint, never a stale copy
    return response
