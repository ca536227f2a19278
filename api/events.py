"""Events over HTTP: publish (with Idempotency-Key), list, detail, and the catalog."""

import re
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.deliveries import DeliverySerializer
from api.fields import EventKeyField
from api.plumbing import (
    ApiError,
    ApiPagination,
    PayloadTooLarge,
    django_error_detail,
    error_responses,
    found_or_404,
    max_payload_request_bytes,
    paginated_response,
    request_account_id,
    require_account,
)
from deliveries.services.publishing import IdempotencyKeyReused, event_payload, event_publish
from events.catalog import EVENT_TYPES
from events.envelope import format_timestamp
from events.models import Event
from events.payloads import example
from events.selectors import EventFilter, event_for_account, event_list

TAGS = ["events"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Visible ASCII, as long as the stored column: a UUID or a request id fits, control characters
# (which PostgreSQL or a proxy might mangle) do not.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyConflict(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used before with a different body."
    default_code = "idempotency_key_reused"


@extend_schema_field({"type": "object", "additionalProperties": True})
class PayloadField(serializers.JSONField):
    """Any JSON here; the service requires an object and bounds its depth and size."""


class EventPublishInputSerializer(serializers.Serializer):
    event = EventKeyField()
    entity_instance_id = serializers.UUIDField(
        required=False, help_text="The entity's id; must equal payload.id when both are given."
    )
    payload = PayloadField(
        required=False,
        help_text="The entity, a JSON object (at most WEBHOOK_MAX_PAYLOAD_BYTES as compact "
        "JSON, 32 levels deep). Left out: a realistic one is generated.",
    )


class EventPublishOutputSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    event = EventKeyField()
    deliveries = serializers.IntegerField(help_text="Deliveries created (one per subscription).")


class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event = EventKeyField(source="key")
    entity_instance_id = serializers.UUIDField()
    source = serializers.ChoiceField(choices=Event.Source.choices)
    created_at = serializers.DateTimeField()
    timestamp = serializers.SerializerMethodField(
        help_text="The envelope's timestamp (ISO 8601 UTC with milliseconds)."
    )
    delivery_count = serializers.IntegerField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_timestamp(self, event: Event) -> str:
        return format_timestamp(event.created_at)


class EventDetailSerializer(EventSerializer):
    payload = serializers.SerializerMethodField()
    deliveries = DeliverySerializer(many=True, source="delivery_rows")

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_payload(self, event: Event) -> Any:
        return event_payload(event)


class EventFilterSerializer(serializers.Serializer):
    event = serializers.CharField(
        required=False, allow_blank=True, help_text="Only events of this key (aliases accepted)."
    )
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; events created at or after this."
    )
    until = serializers.DateTimeField(
        required=False, help_text="ISO 8601; events created at or before this."
    )


class EventTypeSerializer(serializers.Serializer):
    key = EventKeyField()
    entity = serializers.CharField(help_text="The envelope's event_entity.")
    action = serializers.CharField(help_text="The envelope's event_type.")
    version = serializers.IntegerField(help_text="The envelope's event_version.")
    description = serializers.CharField()
    payload_example = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_payload_example(self, entry: Any) -> dict[str, Any]:
        return _payload_example(entry.key)


@lru_cache(maxsize=len(EVENT_TYPES))
def _payload_example(key: str) -> dict[str, Any]:
    # The same example on every call: generated once per process.
    return example(key)


def _idempotency_key(request: Request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.match(raw):
        raise ValidationError({IDEMPOTENCY_HEADER: ["Use 1 to 255 visible ASCII characters."]})
    return raw


class EventListApi(APIView):
    pagination_class = ApiPagination

    @property
    def max_request_bytes(self) -> int:
        return max_payload_request_bytes()

    @extend_schema(
        operation_id="events_list",
        tags=TAGS,
        parameters=[EventFilterSerializer],
        responses={200: EventSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query = EventFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = EventFilter(**query.validated_data).clean()
        events = event_list(account_id=request_account_id(request), filters=filters)
        return paginated_response(
            queryset=events, serializer_class=EventSerializer, request=request, view=self
        )

    @extend_schema(
        operation_id="events_publish",
        tags=TAGS,
        request=EventPublishInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                pattern=IDEMPOTENCY_KEY_PATTERN.pattern,
                description="Within 24 h, a repeat with the same key and the same body (as "
                "parsed JSON) returns the first answer (with the header "
                "`Idempotent-Replayed: true`) and creates nothing; the same key with a "
                "different body is a 422.",
            ),
            OpenApiParameter(
                REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=[202],
                description="Present when the answer is the replay of an earlier publish.",
            ),
        ],
        responses={
            202: OpenApiResponse(
                EventPublishOutputSerializer, description="Published (or replayed)."
            ),
            **error_responses(400, 403, 413, 415, 422),
        },
    )
    def post(self, request: Request) -> Response:
        account = require_account(request)
        idempotency_key = _idempotency_key(request)
        serializer = EventPublishInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            published = event_publish(
                account=account,
                key=data["event"],
                payload=data.get("payload"),
                entity_instance_id=data.get("entity_instance_id"),
                idempotency_key=idempotency_key,
            )
        except IdempotencyKeyReused as error:
            raise IdempotencyKeyConflict(
                IdempotencyKeyConflict.default_detail, errors={IDEMPOTENCY_HEADER: [str(error)]}
            ) from error
        except DjangoValidationError as error:
            codes = error.error_dict.get("payload", []) if hasattr(error, "error_dict") else []
            if any(item.code == "too_large" for item in codes):
                raise PayloadTooLarge(
                    "The event payload is too large.", errors=django_error_detail(error)
                ) from error
            raise
        output = {
            "event_id": published.event.id,
            "event": published.event.key,
            "deliveries": published.delivery_count,
        }
        headers = {REPLAYED_HEADER: "true"} if published.replayed else {}
        return Response(
            EventPublishOutputSerializer(output).data,
            status=status.HTTP_202_ACCEPTED,
            headers=headers,
        )


class EventDetailApi(APIView):
    @extend_schema(
        operation_id="events_retrieve",
        tags=TAGS,
        responses={200: EventDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, event_id: Any) -> Response:
        event = found_or_404(
            event_for_account, account_id=request_account_id(request), event_id=event_id
        )
        event.delivery_rows = event.deliveries.order_by("created_at", "id")
        return Response(EventDetailSerializer(event).data)


class EventTypeListApi(APIView):
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="event_types_list",
        tags=["event-types"],
        responses={200: EventTypeSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(list(EVENT_TYPES.values()), request, view=self)
        return paginator.get_paginated_response(EventTypeSerializer(page, many=True).data)
