"""Deliveries over HTTP: a subscription's history, bulk resend and metrics; one delivery with
every attempt, and its resend."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fields import EventKeyField
from api.plumbing import (
    ApiPagination,
    AsciiIntegerField,
    account_webhook,
    error_responses,
    found_or_404,
    paginated_response,
    request_account_id,
)
from deliveries.models import Delivery
from deliveries.ordering import delivery_waiting_for
from deliveries.selectors import (
    STATUS_GROUPS,
    DeliverySearch,
    HistoryFilter,
    bounded_count,
    delivery_for_account,
    delivery_history,
    delivery_search,
    parse_window,
    webhook_metrics,
)
from deliveries.services.lifecycle import ResendCounts, deliveries_resend_matching
from events.envelope import render_event

TAGS = ["deliveries"]
# Ids per resend-by-ids request: a page of the history at a time, not a table. Resending
# everything that matches a filter is `{"all": true}`, which loads nothing.
MAX_RESEND_IDS = 1000
# Delivery ids are positive 64-bit integers (BigAutoField).
MAX_DELIVERY_ID = 2**63 - 1


class DeliverySerializer(serializers.Serializer):
    """One delivery (an event to a subscription) and where it stands."""

    id = serializers.IntegerField()
    webhook_id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    event = EventKeyField(source="event_key")
    state = serializers.ChoiceField(choices=Delivery.State.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="When the next attempt is due (pending, failed)."
    )
    next_trigger = serializers.ChoiceField(choices=Delivery.Trigger.choices)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error_kind = serializers.CharField(help_text="Empty when the last attempt succeeded.")
    last_duration_ms = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)
    sent_successfully = serializers.SerializerMethodField(
        help_text="true when the latest attempt got a 2xx, false when it errored, null before "
        "any attempt (the seed's name)."
    )
    last_response_type = serializers.SerializerMethodField(
        help_text='"success", "error", or null before any attempt (the seed\'s name).'
    )
    waiting_for = serializers.SerializerMethodField(
        help_text='With ordering "entity": the id of the earlier delivery of the same entity '
        "this one waits for (until it succeeded, gave up or expired); null otherwise."
    )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_sent_successfully(self, delivery: Delivery) -> bool | None:
        if not delivery.attempt_count:
            return None
        status = delivery.last_status_code
        return status is not None and 200 <= status < 300 and not delivery.last_error_kind

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_waiting_for(self, delivery: Delivery) -> int | None:
        return delivery_waiting_for(delivery)

    @extend_schema_field({"type": "string", "enum": ["success", "error"], "nullable": True})
    def get_last_response_type(self, delivery: Delivery) -> str | None:
        sent = self.get_sent_successfully(delivery)
        return None if sent is None else ("success" if sent else "error")


class RedirectHopSerializer(serializers.Serializer):
    url = serializers.CharField()
    status = serializers.IntegerField()


class AttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1 for the first attempt of the delivery.")
    trigger = serializers.ChoiceField(choices=Delivery.Trigger.choices)
    started_at = serializers.DateTimeField()
    duration_ms = serializers.FloatField()
    outcome = serializers.CharField(help_text="success, retry, give_up or gone.")
    request_url = serializers.CharField()
    request_headers = serializers.DictField(
        child=serializers.CharField(), help_text="As sent; Authorization is redacted."
    )
    request_body = serializers.SerializerMethodField(
        help_text="The exact body sent (JSON text); the same for every attempt."
    )
    response_status = serializers.IntegerField(allow_null=True)
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(help_text="Truncated to WEBHOOK_RESPONSE_BODY_LIMIT.")
    error_kind = serializers.CharField(help_text="Empty for a 2xx response.")
    error_message = serializers.CharField()
    redirect_hops = RedirectHopSerializer(many=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_request_body(self, attempt: Any) -> str:
        return str(self.context["request_body"])


class DeliveryDetailSerializer(DeliverySerializer):
    request_body = serializers.SerializerMethodField(
        help_text="The body every attempt of this delivery sends (JSON text)."
    )
    attempts = AttemptSerializer(many=True, source="attempt_rows", help_text="Oldest first.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_request_body(self, delivery: Delivery) -> str:
        return str(self.context["request_body"])


class HistoryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=list(STATUS_GROUPS),
        required=False,
        allow_blank=True,
        help_text="A state, or a group: success, failure (failed, gave_up, expired), "
        "waiting (pending, sending, paused).",
    )
    event = serializers.CharField(
        required=False, allow_blank=True, help_text="An event key (aliases accepted)."
    )
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; deliveries created at or after this."
    )
    until = serializers.DateTimeField(
        required=False, help_text="ISO 8601; deliveries created at or before this."
    )

    def to_filter(self) -> HistoryFilter:
        """The cleaned HistoryFilter; ValidationError naming the bad field."""
        data = self.validated_data
        return HistoryFilter(
            status=data.get("status"),
            event=data.get("event"),
            since=data.get("since"),
            until=data.get("until"),
        ).clean()


class ResendInputSerializer(HistoryFilterSerializer):
    """Either `delivery_ids`, or `all: true` with optional filters (status, event, since,
    until) for everything of this subscription that matches."""

    delivery_ids = serializers.ListField(
        child=AsciiIntegerField(min_value=1, max_value=MAX_DELIVERY_ID),
        required=False,
        min_length=1,
        max_length=MAX_RESEND_IDS,
        help_text="Ids of this subscription's deliveries; others are ignored.",
    )
    all = serializers.BooleanField(
        required=False, help_text="true: resend every delivery that matches the filters."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        by_ids = "delivery_ids" in attrs
        filtered = any(name in attrs for name in ("status", "event", "since", "until"))
        if by_ids and (attrs.get("all") or filtered):
            raise serializers.ValidationError(
                "Give either delivery_ids, or all: true with filters, not both."
            )
        if not by_ids and attrs.get("all") is not True:
            raise serializers.ValidationError(
                'Give delivery_ids, or "all": true (with optional filters).'
            )
        return attrs


class ResendOutputSerializer(serializers.Serializer):
    queued = serializers.IntegerField(
        help_text="Deliveries queued for a manual attempt now (active subscription)."
    )
    paused = serializers.IntegerField(
        help_text="Deliveries of an inactive subscription: not sent, they wait as `paused` "
        "and go out when it is activated."
    )


class MetricsQuerySerializer(serializers.Serializer):
    window = serializers.RegexField(
        r"^[0-9]{1,4}[smhd]$",  # [0-9]: `\d` would also take Unicode digits
        required=False,
        default="24h",
        help_text="How far back: a number and a unit (s, m, h, d), at most 30d. Default 24h.",
    )


class VolumeBucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


class MetricsSerializer(serializers.Serializer):
    """SPEC 3's health metrics: rates over deliveries attempted in the window, response
    times over successful attempts, attempt-level rates beside them."""

    window_seconds = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    deliveries = serializers.IntegerField(help_text="Deliveries with an attempt in the window.")
    deliveries_succeeded = serializers.IntegerField(
        help_text="Of those, the ones whose latest attempt succeeded."
    )
    deliveries_failed = serializers.IntegerField(
        help_text="Of those, the ones whose latest attempt errored."
    )
    success_rate = serializers.FloatField(
        allow_null=True,
        help_text="Deliveries whose latest attempt succeeded / deliveries attempted; 0..1.",
    )
    error_rate = serializers.FloatField(
        allow_null=True,
        help_text="Deliveries whose latest attempt errored / deliveries attempted; 0..1.",
    )
    average_response_ms = serializers.FloatField(
        allow_null=True, help_text="Over successful attempts only."
    )
    p95_response_ms = serializers.FloatField(
        allow_null=True, help_text="Nearest-rank 95th percentile over successful attempts."
    )
    retries_per_event = serializers.FloatField(
        allow_null=True, help_text="Mean of attempts - 1 over the deliveries attempted."
    )
    attempts = serializers.IntegerField(help_text="Attempts started in the window.")
    succeeded = serializers.IntegerField(help_text="Successful attempts.")
    failed = serializers.IntegerField(help_text="Errored attempts.")
    attempt_success_rate = serializers.FloatField(
        allow_null=True, help_text="Over attempts (what auto-deactivation judges); 0..1."
    )
    attempt_error_rate = serializers.FloatField(
        allow_null=True, help_text="Over attempts (what auto-deactivation judges); 0..1."
    )
    failures_by_kind = serializers.DictField(
        child=serializers.IntegerField(), help_text="Errored attempts by error kind."
    )
    failures_by_status = serializers.DictField(
        child=serializers.IntegerField(), help_text='Errored attempts by HTTP status ("503").'
    )
    bucket_seconds = serializers.IntegerField()
    volume = VolumeBucketSerializer(many=True)


class DeliverySearchSerializer(HistoryFilterSerializer):
    webhook = serializers.UUIDField(required=False, help_text="Only this subscription's.")
    status_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=3,
        help_text="The last response's status: a class (2xx, 4xx, 5xx) or a code (503).",
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="A delivery id, an event id or an entity instance id.",
    )

    def to_search(self) -> DeliverySearch:
        """The cleaned DeliverySearch; ValidationError naming the bad field."""
        data = self.validated_data
        return DeliverySearch(
            webhook_id=data.get("webhook"),
            status=data.get("status"),
            event=data.get("event"),
            since=data.get("since"),
            until=data.get("until"),
            status_code=data.get("status_code"),
            q=data.get("q"),
        ).clean()


class BoundedCountPagination(ApiPagination):
    """`?limit=&offset=` whose `count` stops at COUNT_LIMIT (`count_exact` says whether it
    did): counting a million deliveries on every page would cost more than the page."""

    # Rows counted at most: 400 pages of 25; beyond that, narrow by time (`until`).
    COUNT_LIMIT = 10_000

    def get_count(self, queryset: Any) -> int:
        counted = bounded_count(queryset, limit=self.COUNT_LIMIT + 1)
        self.count_exact = counted <= self.COUNT_LIMIT
        return min(counted, self.COUNT_LIMIT)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_exact"] = self.count_exact
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count_exact"] = {
            "type": "boolean",
            "description": f"false: more than {self.COUNT_LIMIT}; count stops there.",
        }
        return paginated


def _request_body(delivery: Delivery) -> str:
    """The body every attempt of `delivery` sends, rendered as the sender renders it."""
    return render_event(delivery.event, webhook_id=str(delivery.webhook_id)).decode()


def _resend_answer(counts: ResendCounts) -> Response:
    body = {"queued": counts.queued, "paused": counts.paused}
    return Response(ResendOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _account_delivery(request: Request, delivery_id: Any) -> Delivery:
    return found_or_404(
        delivery_for_account, account_id=request_account_id(request), delivery_id=delivery_id
    )


class WebhookDeliveryListApi(APIView):
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        tags=TAGS,
        parameters=[HistoryFilterSerializer],
        responses={200: DeliverySerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        query = HistoryFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = delivery_history(webhook=webhook, filters=query.to_filter())
        return paginated_response(
            queryset=deliveries, serializer_class=DeliverySerializer, request=request, view=self
        )


class DeliveryListApi(APIView):
    pagination_class = BoundedCountPagination

    @extend_schema(
        operation_id="deliveries_list",
        tags=TAGS,
        parameters=[DeliverySearchSerializer],
        responses={200: DeliverySerializer(many=True), **error_responses(400)},
        description="Every delivery of the account, newest first, across its subscriptions.",
    )
    def get(self, request: Request) -> Response:
        query = DeliverySearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = delivery_search(
            account_id=request_account_id(request), search=query.to_search()
        )
        return paginated_response(
            queryset=deliveries, serializer_class=DeliverySerializer, request=request, view=self
        )


class WebhookResendApi(APIView):
    @extend_schema(
        operation_id="webhooks_resend",
        tags=TAGS,
        request=ResendInputSerializer,
        responses={202: ResendOutputSerializer, **error_responses(400, 404, 413, 415)},
        description="Queue deliveries of this subscription for a manual attempt at once (same "
        "body and event_id, fresh signature), by ids or everything matching the filters; "
        "they are sent in the background through the subscription's limits. When the "
        "subscription is inactive they are not sent: they wait as `paused` (counted in "
        "`paused`) until it is activated.",
    )
    def post(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        serializer = ResendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "delivery_ids" in serializer.validated_data:
            deliveries = delivery_history(webhook=webhook).filter(
                id__in=serializer.validated_data["delivery_ids"]
            )
        else:
            deliveries = delivery_history(webhook=webhook, filters=serializer.to_filter())
        counts = deliveries_resend_matching(deliveries=deliveries, webhook=webhook)
        return _resend_answer(counts)


class WebhookMetricsApi(APIView):
    @extend_schema(
        operation_id="webhooks_metrics",
        tags=TAGS,
        parameters=[MetricsQuerySerializer],
        responses={200: MetricsSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = parse_window(query.validated_data["window"])
        return Response(MetricsSerializer(webhook_metrics(webhook=webhook, window=window)).data)


class DeliveryDetailApi(APIView):
    @extend_schema(
        operation_id="deliveries_retrieve",
        tags=TAGS,
        responses={200: DeliveryDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = _account_delivery(request, delivery_id)
        delivery.attempt_rows = delivery.attempts.order_by("started_at", "id")
        context = {"request_body": _request_body(delivery)}
        return Response(DeliveryDetailSerializer(delivery, context=context).data)


class DeliveryResendApi(APIView):
    @extend_schema(
        operation_id="deliveries_resend",
        tags=TAGS,
        request=None,
        responses={202: ResendOutputSerializer, **error_responses(404)},
        description="Queue this delivery for a manual attempt at once, whatever its state. "
        "When its subscription is inactive it is not sent: it waits as `paused` (`paused: 1`) "
        "until the subscription is activated.",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = _account_delivery(request, delivery_id)
        counts = deliveries_resend_matching(
            deliveries=Delivery.objects.filter(id=delivery.id), webhook=delivery.webhook
        )
        return _resend_answer(counts)
