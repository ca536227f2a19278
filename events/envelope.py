"""The delivery body (SPEC section 1): compact JSON with the envelope keys in a fixed order.

Plain Python, no Django: the sender renders one body per delivery on its hot path. The payload
is stored as the compact JSON text it was published as, so it is spliced in verbatim and the
bytes are identical across every attempt and resend.
"""

import json
from datetime import UTC, datetime
from typing import Any, Protocol


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, e.g. `2022-11-22T13:34:43.100Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# One encoder for the hot path: json.dumps with non-default options builds a new one per call.
_COMPACT_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def compact_json(value: object) -> str:
    return _COMPACT_ENCODER.encode(value)


def render_envelope(
    *,
    webhook_id: str,
    event_id: str,
    event_entity: str,
    event_type: str,
    event_version: int,
    entity_instance_id: str,
    timestamp: datetime,
    payload_json: str,
) -> bytes:
    """Returns the UTF-8 body bytes; `payload_json` must be compact JSON of an object."""
    return envelope_for_webhook(
        webhook_id,
        envelope_after_webhook_id(
            event_id=event_id,
            event_entity=event_entity,
            event_type=event_type,
            event_version=event_version,
            entity_instance_id=entity_instance_id,
            timestamp=timestamp,
            payload_json=payload_json,
        ),
    )


def envelope_after_webhook_id(
    *,
    event_id: str,
    event_entity: str,
    event_type: str,
    event_version: int,
    entity_instance_id: str,
    timestamp: datetime,
    payload_json: str,
) -> str:
    """The part of the body after `"webhook_id":"...",`: the same for every subscription of
    an event, so a claim renders it once per event rather than once per delivery."""
    head = compact_json(
        {
            "event_id": event_id,
            "event_entity": event_entity,
            "event_type": event_type,
            "event_version": event_version,
            "entity_instance_id": entity_instance_id,
            "timestamp": format_timestamp(timestamp),
        }
    )
    return f'{head[1:-1]},"payload":{payload_json}}}'


def envelope_for_webhook(webhook_id: str, after_webhook_id: str) -> bytes:
    return f'{{"webhook_id":{compact_json(webhook_id)},{after_webhook_id}'.encode()


class StoredEvent(Protocol):
    """What an event row offers (events.models.Event); kept structural so this module stays
    free of Django."""

    id: Any
    key: str
    entity_instance_id: Any
    created_at: datetime
    payload_json: str
    entity: str | None
    """An own type's event_entity, stored with the event; None for built-ins."""


def render_event(event: StoredEvent, *, webhook_id: str) -> bytes:
    """The body of every attempt to deliver `event` to the subscription `webhook_id`."""
    return envelope_for_webhook(webhook_id, render_event_after_webhook_id(event))


def render_event_after_webhook_id(event: StoredEvent) -> str:
    """`envelope_after_webhook_id` of a stored event: a built-in's entity, action and version
    from the catalog; an own type's entity as stored with the event, action and version from
    its key."""
    from events.catalog import event_key_parts, event_type

    if event.entity:
        entity = event.entity
        _entities, action, version = event_key_parts(event.key)
    else:
        entry = event_type(event.key)
        entity, action, version = entry.entity, entry.action, entry.version
    return envelope_after_webhook_id(
        event_id=str(event.id),
        event_entity=entity,
        event_type=action,
        event_version=version,
        entity_instance_id=str(event.entity_instance_id),
        timestamp=event.created_at,
        payload_json=event.payload_json,
    )
