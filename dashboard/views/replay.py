"""Replaying an event from the Events page (SPEC 5): the event again to the subscriptions that
list its key now."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.views.access import current_account, safe_next
from deliveries.services.replay import EventPastRetention, event_replay
from events.selectors import event_for_account


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


@login_required
@require_POST
def event_replay_view(request: HttpRequest, event_id: uuid.UUID) -> HttpResponse:
    try:
        event = event_for_account(account_id=current_account(request).id, event_id=event_id)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    back = safe_next(request, reverse("dashboard:events"))
    try:
        counts = event_replay(event=event)
    except EventPastRetention as error:
        messages.error(request, str(error))
        return redirect(back)
    if not counts.deliveries:
        messages.warning(
            request, f"No webhook lists {event.key} now: the event {event.id} went nowhere."
        )
        return redirect(back)
    sent_now = counts.deliveries - counts.paused
    messages.success(
        request,
        f"Replayed event {event.id}: {_deliveries(sent_now)} queued "
        f"({counts.resent} resent, {counts.created} new); the bars update as they are sent.",
    )
    if counts.paused:
        messages.warning(
            request,
            f"{_deliveries(counts.paused)} wait{'s' if counts.paused == 1 else ''} paused: "
            "their webhooks are inactive. They are sent when those are activated.",
        )
    return redirect(back)
