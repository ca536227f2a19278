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


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
    head = compact_json(
        {
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event_entity": event_entity,
            "event_type": event_type,
            "event_version": event_version,
            "entity_instance_id": entity_instance_id,
            "timestamp": format_timestamp(timestamp),
        }
    )
    return f'{head[:-1]},"payload":{payload_json}}}'.encode()


class StoredEvent(Protocol):
    """What an event row offers (events.models.Event); kept structural so this module stays
    free of Django."""

    id: Any
    key: str
    entity_instance_id: Any
    created_at: datetime
    payload_json: str


def render_event(event: StoredEvent, *, webhook_id: str) -> bytes:
    """The body of every attempt to deliver `event` to the subscription `webhook_id`."""
    from events.catalog import event_type

    entry = event_type(event.key)
    return render_envelope(
        webhook_id=webhook_id,
        event_id=str(event.id),
        event_entity=entry.entity,
        event_type=entry.action,
        event_version=entry.version,
        entity_instance_id=str(event.entity_instance_id),
        timestamp=event.created_at,
        payload_json=event.payload_json,
    )
