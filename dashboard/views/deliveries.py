"""One delivery: every attempt with the request sent and the response got, and resending it."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.inspection import delivery_body, pretty_body, signature_not_verified
from dashboard.views.access import owned_delivery, safe_next
from deliveries.models import Delivery
from deliveries.ordering import delivery_waiting_for
from deliveries.services.lifecycle import deliveries_resend


def _delivery_context(delivery: Delivery) -> dict[str, Any]:
    attempts = list(delivery.attempts.order_by("-number", "-id"))
    return {
        "delivery": delivery,
        "webhook": delivery.webhook,
        "event": delivery.event,
        "attempts": attempts,
        "body": pretty_body(delivery_body(delivery)),
        "signature_not_verified": signature_not_verified(attempts[0] if attempts else None),
        "waiting_for": delivery_waiting_for(delivery),
    }


@login_required
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = owned_delivery(request, delivery_id)
    context = {
        **_delivery_context(delivery),
        "poll_url": reverse("dashboard:delivery-live", args=[delivery.id]),
    }
    return render(request, "dashboard/delivery_detail.html", context)


@login_required
def delivery_live(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """The state and attempts alone: what the poller swaps in on the delivery page."""
    delivery = owned_delivery(request, delivery_id)
    response = render(
        request, "dashboard/partials/delivery_attempts.html", _delivery_context(delivery)
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def delivery_resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = owned_delivery(request, delivery_id)
    counts = deliveries_resend(delivery_ids=[delivery.id])
    if counts.paused:
        messages.warning(
            request,
            f"Delivery {delivery.id} waits paused: its webhook is inactive. It is sent when "
            "the webhook is activated.",
        )
    else:
        messages.success(
            request, f"Delivery {delivery.id} was queued for resending; a new attempt follows."
        )
    return redirect(safe_next(request, reverse("dashboard:delivery-detail", args=[delivery.id])))
