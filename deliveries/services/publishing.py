import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account
from deliveries.models import Delivery
from deliveries.observability import events_published
from deliveries.storage import delivery_storage
from deliveries.wakeup import wake_dispatcher
from events.catalog import BUILTIN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES, UnknownEventKey
from events.envelope import compact_json
from events.models import Event
from events.payloads import PayloadGenerator
from events.selectors import (
    PublishableEventType,
    own_event_entities,
    own_payload_example,
    publishable_event_type,
)
from events.validation import payload_errors
from webhooks.models import Webhook
from webhooks.selectors import webhooks_subscribed

# Nesting deeper than this is refused: no real entity needs it, and deep JSON is a way to
# make parsers and renderers spend unbounded stack.
MAX_PAYLOAD_DEPTH = 32

_generators = threading.local()


def _payload_generator() -> PayloadGenerator:
    # One generator per thread: its world of created products and customers makes later
    # transactions refer to entities it created earlier, as Tillhub's would.
    generator = getattr(_generators, "generator", None)
    if generator is None:
        generator = _generators.generator = PayloadGenerator()
    return generator


@dataclass(frozen=True)
class PublishedEvent:
    event: Event
    delivery_count: int
    replayed: bool  # True when an Idempotency-Key matched an earlier publish


class IdempotencyKeyReused(Exception):
    """An Idempotency-Key seen within the replay window came with a different request."""

    def __init__(self, idempotency_key: str) -> None:
        self.idempotency_key = idempotency_key
        super().__init__(
            "This Idempotency-Key was used for a different request within the last "
            f"{settings.WEBHOOK_IDEMPOTENCY_SECONDS:g} seconds; use a new key for a new event, "
            "or repeat the first request unchanged to get its answer again."
        )


def _request_fingerprint(key: str, payload: Any, entity_instance_id: uuid.UUID | None) -> str:
    """SHA-256 (hex) of a publish request as parsed JSON: key order and whitespace do not
    count, the canonical event key stands for its aliases, and a left-out payload or
    entity_instance_id is the same as null."""
    request = {
        "event": key,
        "entity_instance_id": str(entity_instance_id) if entity_instance_id else None,
        "payload": payload,
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _replay_of(earlier: Event, fingerprint: str) -> Event:
    """`earlier`, when the request repeats the one that published it; IdempotencyKeyReused
    otherwise. Events stored before fingerprints were recorded replay as they used to."""
    if earlier.idempotency_fingerprint and earlier.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused(str(earlier.idempotency_key))
    return earlier


def _depth(value: Any, limit: int) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nested: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nested.extend(item.values())
            elif isinstance(item, list):
                nested.extend(item)
        level = nested
    return depth


def _clean_payload(
    event_type: PublishableEventType, payload: Any, entity_instance_id: uuid.UUID | None
) -> tuple[str, uuid.UUID, dict[str, Any] | None]:
    """Returns the compact payload JSON, the entity id and the payload to validate against
    the type's schema (None: valid already); ValidationError per field.

    A payload given is to be validated as given (its id in canonical spelling, before an
    absent `id` is added). Without one, a built-in's is generated and an own type's stored
    example is used; both are valid already (the generators are tested against the schemas,
    examples are checked when stored).
    """
    if payload is None:
        if event_type.own_type_id is None:
            generated = _payload_generator().payload(
                event_type.key, str(entity_instance_id) if entity_instance_id else None
            )
            return compact_json(generated), uuid.UUID(generated["id"]), None
        payload = own_payload_example(type_id=event_type.own_type_id)
        if payload is None:
            raise ValidationError(
                {
                    "payload": f"{event_type.key} has no payload example to send; give a "
                    "payload (or store an example with the event type)."
                }
            )
        # Each event made from the example stands for an entity of its own (a new id below),
        # unless the publisher named one.
        payload = {key: value for key, value in payload.items() if key != "id"}
        given = None  # valid already
    else:
        if not isinstance(payload, dict):
            raise ValidationError({"payload": "The payload must be a JSON object."})
        if _depth(payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH:
            raise ValidationError({"payload": f"Nesting deeper than {MAX_PAYLOAD_DEPTH} levels."})
        given = payload
    payload_id = payload.get("id")
    if payload_id is not None:
        try:
            payload_uuid = uuid.UUID(str(payload_id))
        except ValueError as error:
            raise ValidationError({"payload": "payload.id must be a UUID."}) from error
        if entity_instance_id is not None and payload_uuid != entity_instance_id:
            raise ValidationError(
                {"entity_instance_id": "Differs from payload.id; give one or make them equal."}
            )
        entity_instance_id = payload_uuid
        # Canonical form (lowercase, no braces or urn:uuid:), so payload.id equals the
        # envelope's entity_instance_id byte for byte; the key keeps its place.
        payload = {**payload, "id": str(payload_uuid)}
        if given is not None:
            given = payload  # validated with its id in the canonical spelling accepted above
    else:
        entity_instance_id = entity_instance_id or uuid.uuid4()
        # `"id": null` counts as no id: payload.id must equal the envelope's entity_instance_id.
        fields = {name: value for name, value in payload.items() if name != "id"}
        payload = {"id": str(entity_instance_id), **fields}
    payload_json = compact_json(payload)
    if len(payload_json.encode()) > settings.WEBHOOK_MAX_PAYLOAD_BYTES:
        # The code rides on the field's error (a dict's own code is dropped): the API answers 413.
        too_large = ValidationError(
            f"Larger than {settings.WEBHOOK_MAX_PAYLOAD_BYTES} bytes as compact JSON.",
            code="too_large",
        )
        raise ValidationError({"payload": too_large})
    return payload_json, entity_instance_id, given


def _validate_payload(event_type: PublishableEventType, payload: dict[str, Any]) -> None:
    """ValidationError({"payload": [...]}) naming each failure's JSON pointer and rule."""
    problems = payload_errors(event_type.validator, payload)
    if problems:
        raise ValidationError(
            {
                "payload": [
                    ValidationError(
                        f"Does not meet the schema of {event_type.key} {problem}.", code="schema"
                    )
                    for problem in problems
                ]
            }
        )


def _idempotent_replay(account: Account, idempotency_key: str, now: datetime) -> Event | None:
    """The event published with this key within the replay window, if any.

    An older holder of the key gives it up, so the key can be used again after the window.
    """
    window_start = now - timedelta(seconds=settings.WEBHOOK_IDEMPOTENCY_SECONDS)
    earlier = Event.objects.filter(account=account, idempotency_key=idempotency_key).first()
    if earlier is None:
        return None
    if earlier.created_at >= window_start:
        return earlier
    Event.objects.filter(pk=earlier.pk).update(idempotency_key=None)
    return None


def event_publish(
    *,
    account: Account,
    key: str,
    payload: Any = None,
    entity_instance_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    source: str = Event.Source.API,
    only_webhook: Webhook | None = None,
) -> PublishedEvent:
    """Store an event and one delivery per subscription of the account listing its key.

    Without a payload a realistic one is generated. Deliveries of inactive subscriptions wait
    as `paused`. Workers are woken after commit. With an Idempotency-Key seen within
    WEBHOOK_IDEMPOTENCY_SECONDS for the same request (compared as parsed JSON), the earlier
    event is returned and nothing is created; for a different request IdempotencyKeyReused is
    raised. `only_webhook` restricts the fan-out to one subscription (test events).
    Raises ValidationError with a message per field.
    """
    try:
        event_type = publishable_event_type(account_id=account.id, raw=key)
    except UnknownEventKey as error:
        raise ValidationError({"event": str(error)}) from error
    key = event_type.key
    if source == Event.Source.API and key in OPERATIONAL_EVENT_TYPES:
        # Receivers trust these to come from Hookline about their own subscriptions; an
        # account publishing one would forge them. Test events may still show their shape.
        raise ValidationError(
            {
                "event": f"{key} is published by Hookline itself, when it happens; not through "
                "the API. Send it as a test event to see its shape."
            }
        )
    fingerprint = (
        _request_fingerprint(key, payload, entity_instance_id) if idempotency_key else None
    )
    payload_json, entity_id, to_validate = _clean_payload(event_type, payload, entity_instance_id)
    now = timezone.now()
    # Stored at the envelope's precision, so the timestamp a receiver sees is the stored one.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    try:
        with transaction.atomic():
            if idempotency_key:
                earlier = _idempotent_replay(account, idempotency_key, now)
                if earlier is not None:
                    earlier = _replay_of(earlier, str(fingerprint))
                    return PublishedEvent(earlier, earlier.deliveries.count(), replayed=True)
            if to_validate is not None:
                # After the Idempotency-Key check: a reused key is a 422 whatever the body.
                _validate_payload(event_type, to_validate)
            event = Event.objects.create(
                account=account,
                key=key,
                entity=event_type.entity,
                entity_instance_id=entity_id,
                payload_json=payload_json,
                source=source,
                idempotency_key=idempotency_key or None,
                idempotency_fingerprint=fingerprint,
                created_at=now,
            )
            targets = (
                [only_webhook]
                if only_webhook
                else webhooks_subscribed(account_id=account.id, key=key)
            )
            Delivery.objects.bulk_create(
                [fanout_delivery(event, webhook, now) for webhook in targets]
            )
            events_published(event_ids=[event.id], keys=[key], deliveries=len(targets))
            if any(webhook.active for webhook in targets):
                transaction.on_commit(wake_dispatcher)
    except IntegrityError:
        # A concurrent publish with the same Idempotency-Key won the race: answer with its event.
        if not idempotency_key:
            raise
        earlier = Event.objects.get(account=account, idempotency_key=idempotency_key)
        earlier = _replay_of(earlier, str(fingerprint))
        return PublishedEvent(earlier, earlier.deliveries.count(), replayed=True)
    return PublishedEvent(event, len(targets), replayed=False)


def events_publish_batch(
    *,
    account: Account,
    items: list[tuple[str, dict[str, Any]]],
    source: str = Event.Source.GENERATED,
    only_webhook: Webhook | None = None,
) -> list[uuid.UUID]:
    """Publish many events with their deliveries in one transaction (bulk inserts).

    `items` holds (canonical key, payload with a UUID `id`) pairs, e.g. from PayloadGenerator
    or an own type's stored example; they are trusted (no size, depth or schema checks: the
    generators are tested against the schemas, examples are checked when stored): this is for
    the load tester and benchmarks, not for input from outside. Returns the event ids, in order.
    """
    own_keys = sorted({key for key, _payload in items if key not in BUILTIN_EVENT_TYPES})
    # Built-ins need no query (their entity comes from the catalog when rendered).
    own_entities = own_event_entities(account_id=account.id, keys=own_keys) if own_keys else {}
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    subscribers: dict[str, list[Webhook]] = {}
    event_rows = []
    delivery_rows = []
    for key, payload in items:
        event_id = uuid.uuid4()
        event_rows.append(
            (
                event_id,
                account.id,
                key,
                own_entities.get(key),
                uuid.UUID(str(payload["id"])),
                compact_json(payload),
                source,
                now,
            )
        )
        if key not in subscribers:
            subscribers[key] = (
                [only_webhook]
                if only_webhook
                else webhooks_subscribed(account_id=account.id, key=key)
            )
        for webhook in subscribers[key]:
            delivery_rows.append(
                (
                    event_id,
                    webhook.id,
                    key,
                    now,
                    Delivery.State.PENDING if webhook.active else Delivery.State.PAUSED,
                    now if webhook.active else None,
                    now,
                    _ordering_entity_id(webhook, payload["id"]),
                )
            )
    with transaction.atomic():
        delivery_storage().insert_rows(Event, _EVENT_COLUMNS, event_rows)
        delivery_storage().insert_rows(Delivery, _DELIVERY_COLUMNS, delivery_rows)
        events_published(
            event_ids=[row[0] for row in event_rows],
            keys=[row[2] for row in event_rows],
            deliveries=len(delivery_rows),
        )
        if any(webhook.active for targets in subscribers.values() for webhook in targets):
            transaction.on_commit(wake_dispatcher)
    return [row[0] for row in event_rows]


_EVENT_COLUMNS = (
    "id",
    "account_id",
    "key",
    "entity",
    "entity_instance_id",
    "payload_json",
    "source",
    "created_at",
)
# The other columns of a new delivery have database-neutral defaults given here explicitly,
# since Django's defaults live in Python, not in the table.
_DELIVERY_COLUMNS = (
    "event_id",
    "webhook_id",
    "event_key",
    "event_created_at",
    "state",
    "next_attempt_at",
    "created_at",
    "ordering_entity_id",
)


def _ordering_entity_id(webhook: Webhook, entity_instance_id: object) -> uuid.UUID | None:
    """The delivery's ordering key: the entity id for a subscription with `ordering:
    "entity"`, else None (not ordered: the claim's ordering check stops at IS NULL)."""
    if webhook.ordering != Webhook.Ordering.ENTITY:
        return None
    return uuid.UUID(str(entity_instance_id))


def fanout_delivery(event: Event, webhook: Webhook, now: datetime) -> Delivery:
    """The (unsaved) delivery of `event` to `webhook` as fan-out makes it: due now, or paused
    for an inactive subscription, with its ordering key. Replay builds new ones the same way."""
    return Delivery(
        event=event,
        webhook_id=webhook.id,
        event_key=event.key,
        event_created_at=event.created_at,
        state=Delivery.State.PENDING if webhook.active else Delivery.State.PAUSED,
        next_attempt_at=now if webhook.active else None,
        ordering_entity_id=_ordering_entity_id(webhook, event.entity_instance_id),
    )


def event_payload(event: Event) -> Any:
    return json.loads(event.payload_json)
