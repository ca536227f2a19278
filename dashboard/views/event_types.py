"""The event catalog page: the built-in and the account's own event types with their schemas
and examples; the account's own are created, edited and deleted here."""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard.event_type_forms import EventTypeForm
from dashboard.views.access import current_account
from events.catalog import event_key_parts
from events.models import EventType
from events.selectors import event_type_for_account, event_types_for_account
from events.services import event_type_change, event_type_create, event_type_delete
from webhooks.rules import EventKeyInUse, check_event_key_unused


def _entry(event_type: EventType) -> dict[str, Any]:
    _entities, action, version = event_key_parts(event_type.key)
    example = event_type.payload_example_json
    return {
        "row": event_type,
        "action": action,
        "version": version,
        "schema": json.dumps(json.loads(event_type.schema_json), indent=2, ensure_ascii=False),
        "example": (
            json.dumps(json.loads(example), indent=2, ensure_ascii=False) if example else ""
        ),
    }


@login_required
def event_type_list(request: HttpRequest) -> HttpResponse:
    """Every event type the account sees, grouped by entity."""
    account = current_account(request)
    groups: dict[str, list[dict[str, Any]]] = {}
    for event_type in event_types_for_account(account_id=account.id):
        groups.setdefault(event_type.entity, []).append(_entry(event_type))
    return render(request, "dashboard/event_types.html", {"groups": groups})


def _own_event_type(request: HttpRequest, key: str) -> EventType:
    try:
        event_type = event_type_for_account(account_id=current_account(request).id, key=key)
    except EventType.DoesNotExist as error:
        raise Http404 from error
    if event_type.built_in:
        raise Http404("Built-in event types are read-only.")
    return event_type


def _save(form: EventTypeForm, action: Any) -> EventType | None:
    """The service's result, or None with its messages put on the form's fields."""
    try:
        return action()
    except ValidationError as error:
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
        return None


@login_required
def event_type_new(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    form = EventTypeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        created = _save(form, lambda: event_type_create(account=account, **form.service_fields()))
        if created is not None:
            messages.success(request, f"Event type {created.key} was created.")
            return redirect("dashboard:event-types")
    return render(request, "dashboard/event_type_form.html", {"form": form, "event_type": None})


@login_required
def event_type_edit(request: HttpRequest, key: str) -> HttpResponse:
    event_type = _own_event_type(request, key)
    form = EventTypeForm(request.POST if request.method == "POST" else None, event_type=event_type)
    if request.method == "POST" and form.is_valid():
        saved = _save(
            form, lambda: event_type_change(event_type=event_type, **form.service_fields())
        )
        if saved is not None:
            messages.success(request, f"Event type {saved.key} was saved.")
            return redirect("dashboard:event-types")
    return render(
        request, "dashboard/event_type_form.html", {"form": form, "event_type": event_type}
    )


@login_required
def event_type_delete_view(request: HttpRequest, key: str) -> HttpResponse:
    event_type = _own_event_type(request, key)
    in_use: list[Any] = []
    if request.method == "POST":
        try:
            with transaction.atomic():
                check_event_key_unused(account_id=event_type.account_id, key=event_type.key)
                event_type_delete(event_type=event_type)
        except EventKeyInUse as error:
            in_use = error.webhooks
        else:
            messages.success(request, f"Event type {event_type.key} was deleted.")
            return redirect("dashboard:event-types")
    return render(
        request,
        "dashboard/event_type_delete.html",
        {"event_type": event_type, "in_use": in_use},
    )
