"""Subscriptions over HTTP: CRUD, defaults, secret rotation, test events and the pre-flight
check (SPEC section 5).

Thin: parse with a serializer, call one service or query, render. The rules (URL targets,
event keys, ranges) live in webhooks.services / webhooks.rules; the serializers only state
types and the same bounds for the OpenAPI document. Serializers are module-level with unique
names because drf-spectacular names schema components after them.
"""

from dataclasses import asdict
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
    AsciiFloatField,
    AsciiIntegerField,
    account_webhook,
    error_responses,
    paginated_response,
    request_account_id,
    require_account,
)
from deliveries.preflight import (
    CHECK_TITLES,
    DEFAULT_EVENT_KEY,
    CheckStatus,
    preflight_report,
)
from deliveries.services.circuit import webhook_health
from deliveries.services.subscriptions import (
    webhook_preflight,
    webhook_send_test_events,
    webhook_update,
)
from webhooks import rules
from webhooks.models import URL_MAX_LENGTH, Webhook
from webhooks.selectors import webhooks_for_account
from webhooks.services import (
    MAX_SECRET_GRACE_SECONDS,
    webhook_create,
    webhook_defaults,
    webhook_delete,
    webhook_regenerate_secret,
)

TAGS = ["webhooks"]
# More keys than the catalog has, with aliases, is never a real subscription.
MAX_EVENT_KEYS = 50


def _range(bounds: tuple[float, float]) -> dict[str, float]:
    return {"min_value": bounds[0], "max_value": bounds[1]}


class WebhookHealthSerializer(serializers.Serializer):
    """The endpoint's circuit breaker (SPEC 3)."""

    state = serializers.ChoiceField(
        choices=["healthy", "open", "half_open"],
        help_text="healthy; open after WEBHOOK_CIRCUIT_FAILURES consecutive failed attempts "
        "(deliveries wait, not counted as attempts); half_open while one probe is out.",
    )
    since = serializers.DateTimeField(help_text="When the state last changed.")
    next_probe_at = serializers.DateTimeField(
        allow_null=True, help_text="When open: when the next probe goes out; null otherwise."
    )
    consecutive_failures = serializers.IntegerField()


class WebhookSerializer(serializers.Serializer):
    """A subscription as the API shows it; the password is never shown."""

    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=EventKeyField())
    description = serializers.CharField()
    active = serializers.BooleanField()
    username = serializers.CharField()
    has_password = serializers.SerializerMethodField()
    secret = serializers.CharField(
        help_text="The signing secret: of Tillhub-Signature, or for signature_scheme "
        "standard-webhooks a whsec_<base64> secret."
    )
    signature_scheme = serializers.ChoiceField(
        choices=rules.SIGNATURE_SCHEMES,
        help_text="tillhub: the Tillhub-Signature header; standard-webhooks: webhook-id, "
        "webhook-timestamp and webhook-signature (Standard Webhooks).",
    )
    headers = serializers.DictField(
        child=serializers.CharField(),
        help_text="Extra request headers sent with every attempt (to the URL's origin only).",
    )
    ordering = serializers.ChoiceField(
        choices=rules.ORDERINGS,
        help_text="entity: deliveries of one entity_instance_id go one at a time in publish "
        "order; none: full concurrency.",
    )
    rate_per_second = serializers.FloatField(allow_null=True, help_text="null = unlimited")
    burst = serializers.IntegerField(allow_null=True, help_text="null = unlimited")
    max_in_flight = serializers.IntegerField(allow_null=True, help_text="null = unlimited")
    connect_timeout_ms = serializers.IntegerField()
    request_timeout_ms = serializers.IntegerField()
    health = serializers.SerializerMethodField()
    disabled_reason = serializers.CharField(
        help_text="Why the subscription was deactivated automatically (410 Gone, error rate); "
        "empty otherwise."
    )
    disabled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_password(self, webhook: Webhook) -> bool:
        return bool(webhook.password)

    @extend_schema_field(WebhookHealthSerializer)
    def get_health(self, webhook: Webhook) -> dict[str, Any]:
        return WebhookHealthSerializer(asdict(webhook_health(webhook))).data


class WebhookInputSerializer(serializers.Serializer):
    """Create (POST) and replace (PUT): `url` and `events` required; PATCH: all optional.

    Fields left out keep their current value (on create: the defaults of
    `GET /webhooks/defaults/`). An explicit null for a limit means unlimited.
    """

    url = serializers.CharField(
        max_length=URL_MAX_LENGTH,
        help_text="https:// only (http:// to localhost when the server allows it); no "
        "user:password@ in the URL.",
    )
    events = serializers.ListField(child=EventKeyField(), min_length=1, max_length=MAX_EVENT_KEYS)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    active = serializers.BooleanField(
        required=False, help_text="false pauses deliveries; true resumes them, oldest first."
    )
    username = serializers.CharField(
        max_length=255,
        allow_blank=True,
        required=False,
        help_text="Basic auth user; empty removes Basic auth (and the password).",
    )
    password = serializers.CharField(
        max_length=1024,
        allow_blank=True,
        allow_null=True,
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="Basic auth password (write-only, stored encrypted); null or empty clears it.",
    )
    secret = serializers.CharField(
        min_length=rules.SIGNING_SECRET_LENGTH_RANGE[0],
        max_length=rules.SIGNING_SECRET_LENGTH_RANGE[1],
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="The signing secret: 24 to 128 printable ASCII characters, no spaces; for "
        "signature_scheme standard-webhooks whsec_ and the standard base64 of 24 to 64 bytes. "
        "Left out: generated on create (and on a change of signature_scheme), kept on update.",
    )
    signature_scheme = serializers.ChoiceField(
        choices=rules.SIGNATURE_SCHEMES,
        required=False,
        help_text="How requests are signed: tillhub (default, Tillhub-Signature) or "
        "standard-webhooks (webhook-id, webhook-timestamp, webhook-signature). A change "
        "without a secret generates a new secret of the new form.",
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        allow_empty=True,
        allow_null=True,
        required=False,
        help_text=f"Extra request headers, {{name: value}}: at most {rules.MAX_CUSTOM_HEADERS}; "
        "names are HTTP tokens; values at most "
        f"{rules.HEADER_VALUE_MAX_LENGTH} printable ASCII characters. Hookline's own "
        "(Content-Type, User-Agent, Authorization, Tillhub-Signature, webhook-*), Host, "
        "Content-Length and hop-by-hop names are refused. Sent on every attempt and on "
        "redirects within the URL's origin; stored encrypted; redacted in stored attempts. "
        "null or {} removes them.",
    )
    ordering = serializers.ChoiceField(
        choices=rules.ORDERINGS,
        required=False,
        help_text='"none" (default: full concurrency) or "entity": deliveries of one '
        "entity_instance_id go one at a time in publish order; a later one waits until the "
        "earlier one succeeded, gave up or expired.",
    )
    rate_per_second = AsciiFloatField(
        allow_null=True, required=False, **_range(rules.RATE_PER_SECOND_RANGE)
    )
    burst = AsciiIntegerField(allow_null=True, required=False, **_range(rules.BURST_RANGE))
    max_in_flight = AsciiIntegerField(
        allow_null=True, required=False, **_range(rules.MAX_IN_FLIGHT_RANGE)
    )
    connect_timeout_ms = AsciiIntegerField(required=False, **_range(rules.CONNECT_TIMEOUT_MS_RANGE))
    request_timeout_ms = AsciiIntegerField(required=False, **_range(rules.REQUEST_TIMEOUT_MS_RANGE))

    def validate_password(self, value: str | None) -> str:
        return value or ""


class WebhookFilterSerializer(serializers.Serializer):
    # A choice, not a BooleanField: DRF reads a missing boolean in a query string as false.
    active = serializers.ChoiceField(
        choices=["true", "false"], required=False, help_text="Only active or inactive ones."
    )


class WebhookDefaultsSerializer(serializers.Serializer):
    rate_per_second = serializers.FloatField(allow_null=True)
    burst = serializers.IntegerField(allow_null=True)
    max_in_flight = serializers.IntegerField(allow_null=True)
    connect_timeout_ms = serializers.IntegerField()
    request_timeout_ms = serializers.IntegerField()


class RegenerateSecretInputSerializer(serializers.Serializer):
    grace_seconds = AsciiFloatField(
        required=False,
        default=0,
        min_value=0,
        max_value=MAX_SECRET_GRACE_SECONDS,
        help_text="For this long the old secret keeps signing alongside the new one.",
    )


class RegenerateSecretOutputSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until when the old secret still signs; null without grace."
    )


class TestEventsInputSerializer(serializers.Serializer):
    events = serializers.ListField(child=EventKeyField(), min_length=1, max_length=MAX_EVENT_KEYS)


class TestEventsOutputSerializer(serializers.Serializer):
    event_ids = serializers.ListField(child=serializers.UUIDField())


class PreflightInputSerializer(serializers.Serializer):
    event = EventKeyField(
        required=False,
        default=DEFAULT_EVENT_KEY,
        help_text=f"The event type of the test event (default `{DEFAULT_EVENT_KEY}`).",
    )


# Named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"], so the enums get names of their own.
PREFLIGHT_CHECK_CHOICES = list(CHECK_TITLES.items())
PREFLIGHT_STATUS_CHOICES = [(str(status), str(status)) for status in CheckStatus]


class PreflightCheckSerializer(serializers.Serializer):
    name = serializers.ChoiceField(
        choices=PREFLIGHT_CHECK_CHOICES,
        help_text="Stable key of the check; the checks come in this order.",
    )
    title = serializers.CharField(help_text="The check in words.")
    status = serializers.ChoiceField(
        choices=PREFLIGHT_STATUS_CHOICES,
        help_text="`skipped` when an earlier check made this one pointless, or (basic_auth) "
        "when no username is configured.",
    )
    detail = serializers.CharField(help_text="What was found.")
    advice = serializers.CharField(
        allow_blank=True, help_text="What to do about it; empty when there is nothing to do."
    )
    data = serializers.DictField(
        help_text="Measurements for machines, by check: `addresses`, `ms`, `status`, "
        "`days_left`, ...; may be empty."
    )


# Built with type() because `pass` is a Python keyword; one count per CheckStatus.
PreflightSummarySerializer = type(
    "PreflightSummarySerializer",
    (serializers.Serializer,),
    {
        "__doc__": "How many checks ended in each status.",
        **{str(status): serializers.IntegerField(min_value=0) for status in CheckStatus},
    },
)


class PreflightReportSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The endpoint, shown without query string.")
    ok = serializers.BooleanField(help_text="True when no check failed (warnings allowed).")
    summary = PreflightSummarySerializer()
    checks = PreflightCheckSerializer(many=True)


class WebhookListApi(APIView):
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="webhooks_list",
        tags=TAGS,
        parameters=[WebhookFilterSerializer],
        responses={200: WebhookSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        filters = WebhookFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        webhooks = (
            webhooks_for_account(account_id=request_account_id(request))
            .select_related("circuit")
            .order_by("-created_at", "id")
        )
        if "active" in filters.validated_data:
            webhooks = webhooks.filter(active=filters.validated_data["active"] == "true")
        return paginated_response(
            queryset=webhooks, serializer_class=WebhookSerializer, request=request, view=self
        )

    @extend_schema(
        operation_id="webhooks_create",
        tags=TAGS,
        request=WebhookInputSerializer,
        responses={201: WebhookSerializer, **error_responses(400, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        account = require_account(request)
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_create(account=account, **serializer.validated_data)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(
        operation_id="webhooks_retrieve",
        tags=TAGS,
        responses={200: WebhookSerializer, **error_responses(404)},
    )
    def get(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(
        operation_id="webhooks_update",
        tags=TAGS,
        request=WebhookInputSerializer,
        responses={200: WebhookSerializer, **error_responses(400, 404, 413, 415)},
    )
    def put(self, request: Request, webhook_id: Any) -> Response:
        return self._update(request, webhook_id, partial=False)

    @extend_schema(
        operation_id="webhooks_partial_update",
        tags=TAGS,
        request=WebhookInputSerializer,
        responses={200: WebhookSerializer, **error_responses(400, 404, 413, 415)},
    )
    def patch(self, request: Request, webhook_id: Any) -> Response:
        return self._update(request, webhook_id, partial=True)

    def _update(self, request: Request, webhook_id: Any, *, partial: bool) -> Response:
        webhook = account_webhook(request, webhook_id)
        serializer = WebhookInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_update(webhook=webhook, **serializer.validated_data)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        tags=TAGS,
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        webhook_delete(webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDefaultsApi(APIView):
    @extend_schema(
        operation_id="webhooks_defaults",
        tags=TAGS,
        responses={200: WebhookDefaultsSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(WebhookDefaultsSerializer(webhook_defaults()).data)


class WebhookRegenerateSecretApi(APIView):
    @extend_schema(
        operation_id="webhooks_regenerate_secret",
        tags=TAGS,
        request=RegenerateSecretInputSerializer,
        responses={200: RegenerateSecretOutputSerializer, **error_responses(400, 404, 413, 415)},
    )
    def post(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        serializer = RegenerateSecretInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_regenerate_secret(
            webhook=webhook, grace_seconds=serializer.validated_data["grace_seconds"]
        )
        return Response(RegenerateSecretOutputSerializer(webhook).data)


class WebhookTestEventsApi(APIView):
    @extend_schema(
        operation_id="webhooks_test",
        tags=TAGS,
        request=TestEventsInputSerializer,
        responses={202: TestEventsOutputSerializer, **error_responses(400, 404, 413, 415)},
        description="Publish one event with a realistic payload per key, delivered to this "
        "subscription only (whether or not it lists the key).",
    )
    def post(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        serializer = TestEventsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        published = webhook_send_test_events(
            webhook=webhook, keys=serializer.validated_data["events"]
        )
        output = {"event_ids": [item.event.id for item in published]}
        return Response(TestEventsOutputSerializer(output).data, status=status.HTTP_202_ACCEPTED)


class WebhookPreflightApi(APIView):
    @extend_schema(
        operation_id="webhooks_preflight",
        tags=TAGS,
        request=PreflightInputSerializer,
        responses={200: PreflightReportSerializer, **error_responses(400, 404, 413, 415)},
        description="Run Tillhub's pre-flight checklist against the subscription's endpoint, "
        "with its secrets, Basic auth and timeouts: URL rules, DNS, TCP, HTTPS certificate, "
        "response time, a 2xx for a signed test event, a 4xx for a wrong signature, a 2xx for "
        "the same event_id again, and Basic auth enforced (when configured). Sends up to four "
        "POSTs of one test event and answers when they are done (up to a few request "
        "timeouts). Stores nothing and creates no deliveries. The answer is 200 whatever the "
        "checks found: `ok` is false when one failed. The body is optional. The same report "
        "as `manage.py preflight --json`.",
    )
    def post(self, request: Request, webhook_id: Any) -> Response:
        webhook = account_webhook(request, webhook_id)
        serializer = PreflightInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = webhook_preflight(webhook=webhook, event_key=serializer.validated_data["event"])
        report = preflight_report(results, url=webhook.url)
        return Response(PreflightReportSerializer(report).data)
