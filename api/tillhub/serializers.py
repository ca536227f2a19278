"""Hookline's subscriptions, deliveries and attempts in the shapes of Tillhub's management API
(SPEC 8): camelCase names, Tillhub's field names, the WebhookEventQuery.

Only names and types are stated here; the rules (URL targets, event keys, ranges, what counts
as sent successfully) stay in the services and selectors that /api/v1 uses too.
"""

import json
from datetime import timedelta
from typing import Any

from rest_framework import serializers

from api.plumbing import ApiPagination
from deliveries.models import Attempt, Delivery
from deliveries.selectors import (
    WebhookEventFilter,
    delivery_last_response_type,
    delivery_sent_successfully,
)
from events.catalog import EventType, event_key_parts
from events.envelope import render_event
from webhooks.models import URL_MAX_LENGTH, Webhook

# More keys than the catalog has, with aliases, is never a real subscription (as in /api/v1).
MAX_EVENT_KEYS = 50
# Filter values per array parameter: more than a page of ids is not a real query.
MAX_QUERY_VALUES = 500


def _iso(moment: Any) -> str | None:
    return serializers.DateTimeField().to_representation(moment) if moment else None


def webhook_shape(webhook: Webhook) -> dict[str, Any]:
    """A subscription as SPEC 8's `Webhook`."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "eventList": list(webhook.events),
        "description": webhook.description,
        "active": webhook.active,
        "secret": webhook.secret,
        # Who created or changed it is not recorded: the account (Tillhub's "user") stands in.
        "createdBy": str(webhook.account_id),
        "updatedBy": str(webhook.account_id),
        "createdAt": _iso(webhook.created_at),
        "updatedAt": _iso(webhook.updated_at),
        "deletedAt": None,
        "ratePerSecond": webhook.rate_per_second,
        "burst": webhook.burst,
        "maxInFlight": webhook.max_in_flight,
        "connectTimeoutMs": webhook.connect_timeout_ms,
        "requestTimeoutMs": webhook.request_timeout_ms,
    }


def defaults_shape(defaults: dict[str, Any]) -> dict[str, Any]:
    return {
        "ratePerSecond": defaults["rate_per_second"],
        "burst": defaults["burst"],
        "maxInFlight": defaults["max_in_flight"],
        "connectTimeoutMs": defaults["connect_timeout_ms"],
        "requestTimeoutMs": defaults["request_timeout_ms"],
    }


def _key_parts(entry: EventType) -> tuple[str, str]:
    """The key's entity (`products`) and version (`v0`) of a catalog entry."""
    entity, _action, version = entry.key.split(".")
    return entity, version


def attempt_shape(attempt: Attempt, event_id: str) -> dict[str, Any]:
    """An attempt as SPEC 8's `WebhookEventLog`."""
    finished = attempt.started_at + timedelta(milliseconds=attempt.duration_ms)
    return {
        "id": str(attempt.id),
        "responsePayload": {
            "statusCode": attempt.response_status,
            "headers": attempt.response_headers,
            "body": attempt.response_body,
            "errorKind": attempt.error_kind or None,
            "errorMessage": attempt.error_message or None,
            "durationMs": attempt.duration_ms,
        },
        "sentSuccessfully": attempt.succeeded,
        "createdAt": _iso(attempt.started_at),
        "updatedAt": _iso(finished),
        "webhookEvent": {"id": event_id},
    }


def webhook_event_shape(delivery: Delivery, *, with_attempts: bool) -> dict[str, Any]:
    """One delivery of one event to the subscription, as SPEC 8's `WebhookEvent`; `children`
    (the attempts, oldest first) only `with_attempts` (they must be prefetched)."""
    event = delivery.event
    # From the key itself: an account's own types are not in the built-in catalog.
    entity, action, version_number = event_key_parts(delivery.event_key)
    version = f"v{version_number}"
    waiting = delivery.state in (Delivery.State.PENDING, Delivery.State.FAILED)
    shape = {
        "id": str(event.id),
        "entityInstanceId": str(event.entity_instance_id),
        "entity": entity,
        "eventType": action,
        "version": version,
        "nextTryAt": _iso(delivery.next_attempt_at) if waiting else None,
        "requestPayload": json.loads(render_event(event, webhook_id=str(delivery.webhook_id))),
        "triesCount": delivery.attempt_count,
        "sentSuccessfully": delivery_sent_successfully(delivery),
        "lastResponseType": delivery_last_response_type(delivery),
        "url": delivery.webhook.url,
        "webhook": webhook_shape(delivery.webhook),
    }
    if with_attempts:
        shape["children"] = [
            attempt_shape(attempt, str(event.id)) for attempt in delivery.attempts.all()
        ]
    return shape


def supported_event_shape(entry: EventType, payload_example: dict[str, Any]) -> dict[str, Any]:
    entity, _version = _key_parts(entry)
    return {
        "event": entry.key,
        "entity": entity,
        "eventType": entry.action,
        "version": entry.version,
        "payloadExample": payload_example,
    }


# --- input ------------------------------------------------------------------------------------


class JsonNumberField(serializers.Field):
    """A JSON number (not a string, not a boolean); `integer` ones must be whole.

    Bounds are the services' (webhooks.rules), checked there once for both APIs.
    """

    def __init__(self, *, integer: bool = False, **kwargs: Any) -> None:
        self.integer = integer
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int | float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError("Must be a number (or null).")
        if self.integer:
            if isinstance(data, float) and not data.is_integer():
                raise serializers.ValidationError("Must be a whole number.")
            return int(data)
        return float(data)

    def to_representation(self, value: Any) -> Any:
        return value


class WebhookInputSerializer(serializers.Serializer):
    """SPEC 8's `Webhook` as written by the SDK. Read-only fields it may send back (`id`,
    `secret`, `createdAt`, ...) are ignored; `createdBy`/`updatedBy` are accepted and not
    stored."""

    url = serializers.CharField(max_length=URL_MAX_LENGTH)
    eventList = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_EVENT_KEYS
    )
    description = serializers.CharField(
        max_length=500, allow_blank=True, allow_null=True, required=False
    )
    active = serializers.BooleanField(required=False)
    ratePerSecond = JsonNumberField(allow_null=True, required=False)
    burst = JsonNumberField(integer=True, allow_null=True, required=False)
    maxInFlight = JsonNumberField(integer=True, allow_null=True, required=False)
    connectTimeoutMs = JsonNumberField(integer=True, allow_null=True, required=False)
    requestTimeoutMs = JsonNumberField(integer=True, allow_null=True, required=False)
    createdBy = serializers.CharField(allow_null=True, allow_blank=True, required=False)
    updatedBy = serializers.CharField(allow_null=True, allow_blank=True, required=False)

    def service_fields(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """The validated fields under the services' names. A null limit means unlimited (as in
        /api/v1); a null timeout, which cannot be unlimited, goes back to the default."""
        data = self.validated_data
        names = {
            "url": "url",
            "eventList": "events",
            "description": "description",
            "active": "active",
            "ratePerSecond": "rate_per_second",
            "burst": "burst",
            "maxInFlight": "max_in_flight",
            "connectTimeoutMs": "connect_timeout_ms",
            "requestTimeoutMs": "request_timeout_ms",
        }
        fields = {names[name]: value for name, value in data.items() if name in names}
        if "description" in fields and fields["description"] is None:
            fields["description"] = ""
        for timeout in ("connect_timeout_ms", "request_timeout_ms"):
            if timeout in fields and fields[timeout] is None:
                fields[timeout] = defaults[timeout]
        return fields


class TestEventsInputSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_EVENT_KEYS
    )


class WebhookEventQuerySerializer(serializers.Serializer):
    """SPEC 8's `WebhookEventQuery`, from a query string (see plumbing.query_dict) or a JSON
    body (replay)."""

    LISTS = ("event", "eventId", "entity", "eventType")
    SCALARS = (
        "sentSuccess",
        "returnRetries",
        "start",
        "end",
        "version",
        "limit",
        "offset",
        "deleted",
        "active",
    )

    sentSuccess = serializers.BooleanField(required=False, allow_null=True)
    returnRetries = serializers.BooleanField(required=False, allow_null=True)
    start = serializers.DateTimeField(required=False, allow_null=True)
    end = serializers.DateTimeField(required=False, allow_null=True)
    event = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=MAX_QUERY_VALUES
    )
    eventId = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=MAX_QUERY_VALUES
    )
    entity = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=MAX_QUERY_VALUES
    )
    eventType = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=MAX_QUERY_VALUES
    )
    version = serializers.RegexField(
        r"^v?[0-9]{1,4}$", required=False, allow_null=True, max_length=5
    )
    limit = serializers.RegexField(r"^[0-9]{1,15}$", required=False, allow_null=True)
    offset = serializers.RegexField(r"^[0-9]{1,15}$", required=False, allow_null=True)
    deleted = serializers.BooleanField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for name in self.LISTS:  # a single value where an array is expected
                if isinstance(data.get(name), str):
                    data[name] = [data[name]]
            for name in ("version", "limit", "offset"):  # JSON numbers are fine too
                if isinstance(data.get(name), int) and not isinstance(data.get(name), bool):
                    data[name] = str(data[name])
        return super().to_internal_value(data)

    def validate_limit(self, value: str | None) -> int | None:
        if value is None:
            return None
        if int(value) < 1:
            raise serializers.ValidationError("Must be at least 1.")
        return min(int(value), ApiPagination.max_limit)

    def validate_offset(self, value: str | None) -> int | None:
        if value is None:
            return None
        if int(value) > ApiPagination.max_offset:
            raise serializers.ValidationError(f"Must be at most {ApiPagination.max_offset}.")
        return int(value)

    def to_filter(self) -> WebhookEventFilter:
        """The cleaned selector filter; Django ValidationError naming the bad field."""
        data = self.validated_data
        version = data.get("version")
        return WebhookEventFilter(
            sent_successfully=data.get("sentSuccess"),
            since=data.get("start"),
            until=data.get("end"),
            event_keys=tuple(data.get("event") or ()),
            event_ids=tuple(data.get("eventId") or ()),
            entities=tuple(data.get("entity") or ()),
            actions=tuple(data.get("eventType") or ()),
            version=int(version.lstrip("v")) if version else None,
            deleted=data.get("deleted"),
            webhook_active=data.get("active"),
        ).clean()

    @property
    def page_limit(self) -> int:
        return self.validated_data.get("limit") or ApiPagination.default_limit

    @property
    def page_offset(self) -> int:
        return self.validated_data.get("offset") or 0

    @property
    def return_retries(self) -> bool:
        return bool(self.validated_data.get("returnRetries"))
