"""The overview and managing a webhook: new, edit, delete, secret, activation, test events."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.forms import (
    RegenerateSecretForm,
    TestEventsForm,
    WebhookForm,
    add_service_errors,
)
from dashboard.views.access import current_account, owned_webhook
from deliveries.selectors import webhooks_overview
from deliveries.services.subscriptions import (
    webhook_activate,
    webhook_send_test_events,
    webhook_update,
)
from webhooks.services import webhook_create, webhook_delete, webhook_regenerate_secret


def _posted(request: HttpRequest) -> QueryDict | None:
    # Not `request.POST or None`: an empty POST (no box ticked) must still bind the form.
    return request.POST if request.method == "POST" else None


def _detail_url(webhook_id: uuid.UUID) -> str:
    return reverse("dashboard:webhook-detail", args=[webhook_id])


def _in_plain_words(error: ValidationError) -> ValidationError:
    """The service's messages as a person filling in the form reads them: the rules speak
    of "a non-empty list of event keys" and "URL must ..." for API clients."""
    if not hasattr(error, "error_dict"):
        return error
    plain: dict[str, list[str]] = {}
    for field, texts in error.message_dict.items():
        if field == "events":
            texts = ["Choose at least one event." if "non-empty" in m else m for m in texts]
        elif field == "url":
            texts = [
                f"Enter a valid URL: it {m[4:]}." if m.startswith("URL ") else m for m in texts
            ]
        plain[field] = texts
    return ValidationError(plain)


def _service_call(form: WebhookForm, action: Any) -> Any:
    """`action()`; its ValidationError lands on the form in plain words. Returns the
    action's result, or None when the form got errors."""
    try:
        return action()
    except ValidationError as error:
        add_service_errors(form, _in_plain_words(error))
        return None


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    return render(
        request,
        "dashboard/overview.html",
        {"account": account, "rows": webhooks_overview(account_id=account.id)},
    )


@login_required
def webhook_new(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    form = WebhookForm(_posted(request), account_id=account.id)
    if request.method == "POST" and form.is_valid():
        webhook = _service_call(
            form, lambda: webhook_create(account=account, **form.service_fields())
        )
        if webhook is not None:
            messages.success(request, f"Webhook to {webhook.url} was created.")
            return redirect(_detail_url(webhook.id))
    return render(request, "dashboard/webhook_form.html", {"form": form, "webhook": None})


@login_required
def webhook_edit(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    form = WebhookForm(_posted(request), webhook=webhook)
    if request.method == "POST" and form.is_valid():
        saved = _service_call(
            form, lambda: webhook_update(webhook=webhook, **form.service_fields()) or True
        )
        if saved:
            messages.success(request, "The webhook was saved.")
            return redirect(_detail_url(webhook.id))
    return render(request, "dashboard/webhook_form.html", {"form": form, "webhook": webhook})


@login_required
def webhook_delete_view(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    if request.method == "POST":
        url = webhook.url
        webhook_delete(webhook=webhook)
        messages.success(request, f"Webhook to {url} was deleted with its delivery history.")
        return redirect("dashboard:overview")
    return render(
        request,
        "dashboard/webhook_delete.html",
        {"webhook": webhook, "delivery_count": webhook.deliveries.count()},
    )


@login_required
@require_POST
def webhook_activate_view(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    webhook_activate(webhook=webhook)
    messages.success(request, "The webhook is active; paused deliveries are being sent.")
    return redirect(_detail_url(webhook.id))


@login_required
@require_POST
def webhook_deactivate_view(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    # By hand: no reason is recorded (a reason explains an automatic deactivation).
    webhook_update(webhook=webhook, active=False)
    messages.success(request, "The webhook is inactive; new deliveries wait as paused.")
    return redirect(_detail_url(webhook.id))


@login_required
@require_POST
def webhook_regenerate_secret_view(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    form = RegenerateSecretForm(request.POST)
    if form.is_valid():
        grace_seconds = form.cleaned_data["grace_seconds"] or 0
        try:
            webhook_regenerate_secret(webhook=webhook, grace_seconds=grace_seconds)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if grace_seconds:
                messages.success(
                    request,
                    f"A new signing secret was generated; the old one keeps signing for "
                    f"{grace_seconds:g} seconds.",
                )
            else:
                messages.success(request, "A new signing secret was generated.")
            return redirect(_detail_url(webhook.id))
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, f"The secret was not changed: {message}")
    return redirect(_detail_url(webhook.id))


@login_required
def webhook_send_test(request: HttpRequest, webhook_id: uuid.UUID) -> HttpResponse:
    webhook = owned_webhook(request, webhook_id)
    form = TestEventsForm(_posted(request), initial={"events": webhook.events})
    if request.method == "POST" and form.is_valid():
        try:
            published = webhook_send_test_events(webhook=webhook, keys=form.cleaned_data["events"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            keys = ", ".join(item.event.key for item in published)
            waiting = "" if webhook.active else " They wait as paused until it is activated."
            messages.success(request, f"Sent {len(published)} test event(s): {keys}.{waiting}")
            return redirect(_detail_url(webhook.id))
    return render(request, "dashboard/webhook_test.html", {"form": form, "webhook": webhook})
