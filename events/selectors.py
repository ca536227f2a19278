"""Reading events (an account's events, filtered, with their delivery counts) and the event
types an account sees: the built-ins and its own."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from jsonschema.protocols import Validator

from events.catalog import (
    BUILTIN_EVENT_TYPES,
    UnknownEventKey,
    builtin_event_key,
    canonical_event_key,
    normalized_event_key,
)
from events.models import Event, EventType
from events.validation import builtin_validator, own_validator


@dataclass(frozen=True)
class EventFilter:
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clean(self, account_id: object = None) -> "EventFilter":
        """Validated, with the key canonical (the account's own keys known when `account_id`
        is given); raises ValidationError naming the bad field."""
        event, errors = clean_event_and_range(
            self.event, self.since, self.until, account_id=account_id
        )
        if errors:
            raise ValidationError(errors)
        return EventFilter(event, self.since, self.until)


def clean_event_and_range(
    event: str | None,
    since: datetime | None,
    until: datetime | None,
    *,
    account_id: object = None,
) -> tuple[str | None, dict[str, str]]:
    """The canonical event key (None when absent) and a message per bad field, for the
    filters the event list and the delivery history share. Own keys count only with an
    `account_id`."""
    errors: dict[str, str] = {}
    if event:
        try:
            event = (
                canonical_event_key(event)
                if account_id is None
                else event_key_for_account(account_id=account_id, raw=event)
            )
        except UnknownEventKey as error:
            errors["event"] = str(error)
    if since and until and since > until:
        errors["until"] = "Must not be before since."
    return event or None, errors


def event_list(*, account_id: object, filters: EventFilter | None = None) -> QuerySet[Event]:
    """The account's events, newest first, each annotated with `delivery_count`.

    `filters` must be cleaned already. Uses the (account, key, created_at) indexes.
    """
    events = Event.objects.filter(account_id=account_id)
    if filters is not None:
        if filters.event:
            events = events.filter(key=filters.event)
        if filters.since:
            events = events.filter(created_at__gte=filters.since)
        if filters.until:
            events = events.filter(created_at__lte=filters.until)
    return events.annotate(delivery_count=_delivery_count()).order_by("-created_at", "-id")


def _delivery_count() -> Coalesce:
    """Each event's delivery count as a correlated subquery, not a GROUP BY over the join: a
    GROUP BY counts every event of the account before the page is cut (1.2 s at a million
    deliveries); the subquery runs for the rows of the page only (PostgreSQL evaluates it after
    ORDER BY ... LIMIT). The delivery model is reached through the relation, as deliveries sit
    above events."""
    deliveries = Event._meta.get_field("deliveries").related_model
    per_event = (
        deliveries._default_manager.filter(event_id=OuterRef("id"))
        .order_by()
        .values("event_id")
        .annotate(total=Count("id"))
        .values("total")
    )
    return Coalesce(Subquery(per_event), 0)


def event_for_account(*, account_id: object, event_id: object) -> Event:
    """The account's event `event_id`, annotated like event_list.

    Raises Event.DoesNotExist for another account's, a missing or a malformed id.
    """
    try:
        return event_list(account_id=account_id).get(id=event_id)
    except (ValueError, TypeError, ValidationError) as error:
        raise Event.DoesNotExist(str(error)) from error


# ---------------------------------------------------------------------------------------------
# Event types


def event_types_for_account(*, account_id: object) -> QuerySet[EventType]:
    """The catalog the account sees: the built-ins in the catalog's order, then its own types
    by key."""
    catalog_order = Case(
        *[
            When(key=key, built_in=True, then=position)
            for position, key in enumerate(BUILTIN_EVENT_TYPES)
        ],
        default=len(BUILTIN_EVENT_TYPES),
    )
    return EventType.objects.filter(Q(account__isnull=True) | Q(account_id=account_id)).order_by(
        catalog_order, "key"
    )


def event_type_for_account(*, account_id: object, key: object) -> EventType:
    """The built-in or own type `key` names (aliases accepted); EventType.DoesNotExist else."""
    canonical = builtin_event_key(key) or normalized_event_key(key)
    if canonical is None:
        raise EventType.DoesNotExist(f"No event type {key!r}.")
    return event_types_for_account(account_id=account_id).get(key=canonical)


def own_event_keys(*, account_id: object) -> list[str]:
    return list(
        EventType.objects.filter(account_id=account_id)
        .order_by("key")
        .values_list("key", flat=True)
    )


def event_key_for_account(*, account_id: object, raw: object) -> str:
    """The canonical key `raw` names among the built-ins and the account's own types.

    A built-in (aliases accepted) costs no query. Raises UnknownEventKey listing the keys the
    account may use.
    """
    builtin = builtin_event_key(raw)
    if builtin is not None:
        return builtin
    normalized = normalized_event_key(raw)
    if (
        normalized is not None
        and EventType.objects.filter(account_id=account_id, key=normalized).exists()
    ):
        return normalized
    raise UnknownEventKey(raw, own_event_keys(account_id=account_id))


@dataclass(frozen=True)
class PublishableEventType:
    """What publishing needs to know of an event type."""

    key: str
    entity: str | None
    """The own type's entity, stored on its events; None for a built-in (the catalog's)."""
    validator: Validator
    own_type_id: int | None
    """The own type's row (see own_payload_example); None for built-ins, whose payloads are
    generated."""


def publishable_event_type(*, account_id: object, raw: object) -> PublishableEventType:
    """The type `raw` names for publishing, with its compiled (cached) payload validator.

    A built-in costs no query; an own type one indexed query (its schema is read only when
    this process has not compiled that version yet). Raises UnknownEventKey.
    """
    builtin = builtin_event_key(raw)
    if builtin is not None:
        return PublishableEventType(builtin, None, builtin_validator(builtin), None)
    normalized = normalized_event_key(raw)
    row = (
        EventType.objects.filter(account_id=account_id, key=normalized)
        .values("id", "entity", "updated_at")
        .first()
        if normalized is not None
        else None
    )
    if row is None:
        raise UnknownEventKey(raw, own_event_keys(account_id=account_id))
    type_id = row["id"]
    validator = own_validator(
        type_id,
        row["updated_at"].isoformat(),
        lambda: EventType.objects.values_list("schema_json", flat=True).get(id=type_id),
    )
    return PublishableEventType(str(normalized), row["entity"], validator, type_id)


def own_payload_example(*, type_id: int) -> dict[str, Any] | None:
    """An own type's stored payload example (validated when stored), or None."""
    example = EventType.objects.values_list("payload_example_json", flat=True).get(id=type_id)
    return json.loads(example) if example else None


def own_event_entities(*, account_id: object, keys: list[str]) -> dict[str, str]:
    """{key: entity} of those `keys` that are the account's own types (one query)."""
    return dict(
        EventType.objects.filter(account_id=account_id, key__in=keys).values_list("key", "entity")
    )
