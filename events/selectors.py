"""Reading events: an account's events, filtered, with their delivery counts."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet

from events.catalog import UnknownEventKey, canonical_event_key
from events.models import Event


@dataclass(frozen=True)
class EventFilter:
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clean(self) -> "EventFilter":
        """Validated, with the key canonical; raises ValidationError naming the bad field."""
        event, errors = clean_event_and_range(self.event, self.since, self.until)
        if errors:
            raise ValidationError(errors)
        return EventFilter(event, self.since, self.until)


def clean_event_and_range(
    event: str | None, since: datetime | None, until: datetime | None
) -> tuple[str | None, dict[str, str]]:
    """The canonical event key (None when absent) and a message per bad field, for the
    filters the event list and the delivery history share."""
    errors: dict[str, str] = {}
    if event:
        try:
            event = canonical_event_key(event)
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
    return events.annotate(delivery_count=Count("deliveries")).order_by("-created_at", "-id")


def event_for_account(*, account_id: object, event_id: object) -> Event:
    """The account's event `event_id`, annotated like event_list.

    Raises Event.DoesNotExist for another account's, a missing or a malformed id.
    """
    try:
        return event_list(account_id=account_id).get(id=event_id)
    except (ValueError, TypeError, ValidationError) as error:
        raise Event.DoesNotExist(str(error)) from error
