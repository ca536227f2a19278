"""Events over HTTP: publish (with Idempotency-Key), list, detail, and the catalog of event
types (built-in and the account's own)."""

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
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
    ErrorSerializer,
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
from deliveries.services.replay import EventPastRetention, event_replay
from events.catalog import event_key_parts
from events.envelope import format_timestamp
from events.models import Event, EventType
from events.selectors import (
    EventFilter,
    event_for_account,
    event_list,
    event_type_for_account,
    event_types_for_account,
)
from events.services import (
    KEEP,
    MAX_SCHEMA_BYTES,
    BuiltInEventTypeReadOnly,
    event_type_change,
    event_type_create,
    event_type_delete,
)
from webhooks.rules import EventKeyInUse, check_event_key_unused

TAGS = ["events"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Visible ASCII, as long as the stored column: a UUID or a request id fits, control characters
# (which PostgreSQL or a proxy might mangle) do not.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"
# Subscriptions named in one replay at most: more than an account has.
MAX_REPLAY_WEBHOOKS = 1000


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


JSON_OBJECT = {"type": "object", "additionalProperties": True}


class EventTypeSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="`<entities>.<action>.v<N>`, canonical.")
    entity = serializers.CharField(help_text="The envelope's event_entity.")
    action = serializers.SerializerMethodField(help_text="The envelope's event_type.")
    version = serializers.SerializerMethodField(help_text="The envelope's event_version.")
    description = serializers.CharField()
    built_in = serializers.BooleanField(
        help_text="Shipped with Hookline, read-only and the same for every account."
    )
    schema = serializers.SerializerMethodField(
        help_text="The JSON Schema every published payload of this type must meet."
    )
    payload_example = serializers.SerializerMethodField(
        help_text="A realistic payload (null when an own type has none)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_action(self, event_type: EventType) -> str:
        return event_key_parts(event_type.key)[1]

    def get_version(self, event_type: EventType) -> int:
        return event_key_parts(event_type.key)[2]

    @extend_schema_field(JSON_OBJECT)
    def get_schema(self, event_type: EventType) -> dict[str, Any]:
        return json.loads(event_type.schema_json)

    @extend_schema_field({**JSON_OBJECT, "nullable": True})
    def get_payload_example(self, event_type: EventType) -> dict[str, Any] | None:
        example = event_type.payload_example_json
        return json.loads(example) if example else None


@extend_schema_field(JSON_OBJECT)
class JsonSchemaField(serializers.JSONField):
    """Any JSON here; the service checks it against its metaschema."""


class EventTypeInputSerializer(serializers.Serializer):
    key = serializers.CharField(
        max_length=64,
        help_text="`<entities>.<action>.v<N>`, e.g. `invoices.paid.v1`; not a built-in's.",
    )
    entity = serializers.CharField(
        max_length=64, help_text="Singular, sent as event_entity, e.g. `invoice`."
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    schema = JsonSchemaField(
        help_text="A JSON Schema (its `$schema` draft, else 2020-12); references only inside "
        "it (`#/...`)."
    )
    payload_example = PayloadField(
        required=False,
        allow_null=True,
        help_text="A payload meeting the schema; test events and the load tester send it.",
    )


class EventTypeChangeSerializer(EventTypeInputSerializer):
    key = serializers.CharField(
        max_length=64, required=False, help_text="Optional; must be the path's key."
    )
    payload_example = PayloadField(
        required=False,
        allow_null=True,
        help_text="Left out: the stored example is kept, and must meet the new schema.",
    )


class EventTypeReadOnly(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Built-in event types are read-only."
    default_code = "read_only"


class EventTypeInUse(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The event type is in use by subscriptions."
    default_code = "in_use"


# Largest request body on the event-type endpoints: a schema and an example at their limits,
# with room for pretty-printing.
def _event_type_request_bytes() -> int:
    return 2 * (MAX_SCHEMA_BYTES + settings.WEBHOOK_MAX_PAYLOAD_BYTES)


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
        account_id = request_account_id(request)
        filters = EventFilter(**query.validated_data).clean(account_id=account_id)
        events = event_list(account_id=account_id, filters=filters)
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


EVENT_TYPE_TAGS = ["event-types"]
EVENT_TYPE_ERRORS = {
    403: OpenApiResponse(
        ErrorSerializer,
        description="A built-in event type (read-only), or the user belongs to no account.",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Subscriptions list the event type; `errors.webhooks` names them.",
    ),
}


class EventTypeListApi(APIView):
    pagination_class = ApiPagination

    @property
    def max_request_bytes(self) -> int:
        return _event_type_request_bytes()

    @extend_schema(
        operation_id="event_types_list",
        tags=EVENT_TYPE_TAGS,
        responses={200: EventTypeSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=event_types_for_account(account_id=request_account_id(request)),
            serializer_class=EventTypeSerializer,
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="event_types_create",
        tags=EVENT_TYPE_TAGS,
        request=EventTypeInputSerializer,
        responses={201: EventTypeSerializer, **error_responses(400, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        account = require_account(request)
        serializer = EventTypeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = event_type_create(account=account, **serializer.validated_data)
        return Response(EventTypeSerializer(created).data, status=status.HTTP_201_CREATED)


class EventTypeDetailApi(APIView):
    @property
    def max_request_bytes(self) -> int:
        return _event_type_request_bytes()

    def _event_type(self, request: Request, key: str) -> EventType:
        return found_or_404(event_type_for_account, account_id=request_account_id(request), key=key)

    @extend_schema(
        operation_id="event_types_retrieve",
        tags=EVENT_TYPE_TAGS,
        responses={200: EventTypeSerializer, **error_responses(404)},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(EventTypeSerializer(self._event_type(request, key)).data)

    @extend_schema(
        operation_id="event_types_update",
        tags=EVENT_TYPE_TAGS,
        request=EventTypeChangeSerializer,
        responses={
            200: EventTypeSerializer,
            **error_responses(400, 404, 413, 415),
            403: EVENT_TYPE_ERRORS[403],
        },
    )
    def put(self, request: Request, key: str) -> Response:
        event_type = self._event_type(request, key)
        if event_type.built_in:
            raise EventTypeReadOnly(str(BuiltInEventTypeReadOnly(event_type.key)))
        serializer = EventTypeChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        given_key = data.pop("key", None)
        if given_key is not None and given_key.strip().lower() != event_type.key:
            raise ValidationError(
                {
                    "key": [
                        f"The key of {event_type.key} cannot change; a new version is a new "
                        "event type (POST /event-types/)."
                    ]
                }
            )
        data.setdefault("payload_example", KEEP)
        changed = event_type_change(event_type=event_type, **data)
        return Response(EventTypeSerializer(changed).data)

    @extend_schema(
        operation_id="event_types_destroy",
        tags=EVENT_TYPE_TAGS,
        responses={204: None, **error_responses(404), **EVENT_TYPE_ERRORS},
    )
    def delete(self, request: Request, key: str) -> Response:
        event_type = self._event_type(request, key)
        if event_type.built_in:
            raise EventTypeReadOnly(str(BuiltInEventTypeReadOnly(event_type.key)))
        try:
            with transaction.atomic():
                check_event_key_unused(account_id=event_type.account_id, key=event_type.key)
                event_type_delete(event_type=event_type)
        except EventKeyInUse as error:
            raise EventTypeInUse(
                str(error),
                errors={"webhooks": [str(webhook.id) for webhook in error.webhooks]},
            ) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventGone(ApiError):
    status_code = status.HTTP_410_GONE
    default_detail = "The event is past retention."
    default_code = "gone"


class EventReplayInputSerializer(serializers.Serializer):
    webhooks = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_empty=False,
        max_length=MAX_REPLAY_WEBHOOKS,
        help_text="Only these subscriptions (each must list the event's key). Left out: every "
        "subscription of the account that lists it now.",
    )


class EventReplayOutputSerializer(serializers.Serializer):
    deliveries = serializers.IntegerField(
        help_text="Deliveries queued: existing ones resent plus new ones for subscriptions "
        "that had none. Those of inactive subscriptions wait as paused until activated."
    )


class EventReplayApi(APIView):
    @extend_schema(
        operation_id="events_replay",
        tags=TAGS,
        request=EventReplayInputSerializer,
        responses={
            202: EventReplayOutputSerializer,
            **error_responses(400, 404, 415),
            410: OpenApiResponse(
                ErrorSerializer,
                description="The event is older than WEBHOOK_EVENT_RETENTION_SECONDS; "
                "`detail` says when it was published. (A purged event is a 404.)",
            ),
        },
        description="Send the event again, with the same event_id and body and fresh "
        "signatures, to every subscription that lists its key now (or the named ones): "
        "existing deliveries are resent as manual attempts, a subscription without one gets "
        "a new delivery. The body is optional.",
    )
    def post(self, request: Request, event_id: Any) -> Response:
        event = found_or_404(
            event_for_account, account_id=request_account_id(request), event_id=event_id
        )
        serializer = EventReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            counts = event_replay(
                event=event, webhook_ids=serializer.validated_data.get("webhooks")
            )
        except EventPastRetention as error:
            raise EventGone(str(error)) from error
        output = EventReplayOutputSerializer({"deliveries": counts.deliveries})
        return Response(output.data, status=status.HTTP_202_ACCEPTED)
