"""The Tillhub-compatible management API (SPEC 8), one class per route.

Thin: check the account in the path, parse, call the same service or selector as /api/v1,
answer in the SDK's envelope (always 200).
"""

from functools import lru_cache
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db.models import QuerySet, Subquery
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import account_of_user
from api.tillhub.plumbing import (
    TillhubApiView,
    deleted,
    envelope,
    login_token_issue,
    next_page_url,
    path_account,
    query_dict,
)
from api.tillhub.serializers import (
    TestEventsInputSerializer,
    WebhookEventQuerySerializer,
    WebhookInputSerializer,
    defaults_shape,
    supported_event_shape,
    webhook_event_shape,
    webhook_shape,
)
from deliveries.models import Delivery
from deliveries.selectors import WebhookEventFilter, webhook_events
from deliveries.services.lifecycle import deliveries_resend_matching
from deliveries.services.subscriptions import webhook_send_test_events, webhook_update
from events.catalog import EVENT_TYPES
from events.payloads import example
from webhooks.models import Webhook
from webhooks.selectors import webhook_for_account, webhooks_for_account
from webhooks.services import (
    webhook_create,
    webhook_defaults,
    webhook_delete,
    webhook_regenerate_secret,
)

# --- users --------------------------------------------------------------------------------------


class LoginInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="A username or an e-mail address.")
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


def _user_by_login(login: str, password: str) -> Any:
    """The active user whose username, or else whose unique e-mail address, is `login` and
    whose password is `password`; None otherwise."""
    user = authenticate(username=login, password=password)
    if user is None and "@" in login:
        matches = list(get_user_model().objects.filter(email__iexact=login)[:2])
        if len(matches) == 1:
            user = authenticate(username=matches[0].get_username(), password=password)
    return user


class LoginApi(TillhubApiView):
    authentication_classes: list[Any] = []  # a stale Authorization header must not block it
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        credentials = LoginInputSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = _user_by_login(
            credentials.validated_data["email"], credentials.validated_data["password"]
        )
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong e-mail, username or password.")
        account = account_of_user(user)
        if account is None:
            raise exceptions.PermissionDenied(
                "This user belongs to no account; ask an administrator to add it to one."
            )
        token, expires_at = login_token_issue(user)
        return Response(
            {
                "token": token,
                "user": {
                    "id": str(account.id),
                    "legacy_id": str(account.id),
                    "name": user.get_full_name() or user.get_username(),
                    "scopes": [],
                    "role": "owner",
                },
                "features": {},
                "expires_at": serializers.DateTimeField().to_representation(expires_at),
            }
        )


class LogoutApi(TillhubApiView):
    # The SDK calls it without its token. Login tokens are stateless: they end when they
    # expire or when the password changes.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"msg": "Logged out."})


# --- webhooks -----------------------------------------------------------------------------------


def _account_webhook(request: Request, acc: str, webhook_id: Any) -> Webhook:
    """The caller's subscription, when `acc` is the caller's account; 403 / 404 otherwise."""
    account = path_account(request, acc)
    return webhook_for_account(account_id=account.id, webhook_id=webhook_id)


def _page_query(request: Request) -> tuple[int, int]:
    query = WebhookEventQuerySerializer(
        data=query_dict(request.query_params, scalars=("limit", "offset"), lists=())
    )
    query.is_valid(raise_exception=True)
    return query.page_limit, query.page_offset


def _page(
    request: Request, queryset: QuerySet[Any], *, limit: int, offset: int
) -> tuple[list[Any], str | None]:
    """One page and the URL of the next (None on the last page); one row more is read to
    know whether there is a next."""
    rows = list(queryset[offset : offset + limit + 1])
    after = next_page_url(request, limit=limit, offset=offset) if len(rows) > limit else None
    return rows[:limit], after


class WebhookListApi(TillhubApiView):
    def get(self, request: Request, acc: str) -> Response:
        account = path_account(request, acc)
        limit, offset = _page_query(request)
        webhooks = webhooks_for_account(account_id=account.id).order_by("-created_at", "id")
        page, after = _page(request, webhooks, limit=limit, offset=offset)
        return envelope("Webhooks.", [webhook_shape(webhook) for webhook in page], after)

    def post(self, request: Request, acc: str) -> Response:
        account = path_account(request, acc)
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        defaults = webhook_defaults()
        webhook = webhook_create(account=account, **serializer.service_fields(defaults))
        return envelope("Webhook created.", [webhook_shape(webhook)])


class WebhookDetailApi(TillhubApiView):
    def get(self, request: Request, acc: str, webhook_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        return envelope("Webhook.", [webhook_shape(webhook)])

    def put(self, request: Request, acc: str, webhook_id: Any) -> Response:
        """Partial: fields left out keep their value (Tillhub merges)."""
        webhook = _account_webhook(request, acc, webhook_id)
        serializer = WebhookInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = serializer.service_fields(webhook_defaults())
        webhook = webhook_update(webhook=webhook, **fields)
        return envelope("Webhook updated.", [webhook_shape(webhook)])

    def delete(self, request: Request, acc: str, webhook_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        webhook_delete(webhook=webhook)
        return deleted("Webhook deleted.")


class WebhookRegenerateSecretApi(TillhubApiView):
    def post(self, request: Request, acc: str, webhook_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        webhook = webhook_regenerate_secret(webhook=webhook)
        return envelope("Secret regenerated.", [{"secret": webhook.secret}])


class WebhookDefaultsApi(TillhubApiView):
    def get(self, request: Request) -> Response:
        return envelope("Webhook defaults.", [defaults_shape(webhook_defaults())])


@lru_cache(maxsize=len(EVENT_TYPES))
def _payload_example(key: str) -> dict[str, Any]:
    # The same example on every call: generated once per process.
    return example(key)


class SupportedEventsApi(TillhubApiView):
    def get(self, request: Request) -> Response:
        results = [
            supported_event_shape(entry, _payload_example(entry.key))
            for entry in EVENT_TYPES.values()
        ]
        return envelope("Supported events.", results)


# --- events of a webhook ------------------------------------------------------------------------


def _event_query(data: Any) -> WebhookEventQuerySerializer:
    query = WebhookEventQuerySerializer(data=data)
    query.is_valid(raise_exception=True)
    return query


def _query_from_params(request: Request) -> WebhookEventQuerySerializer:
    return _event_query(
        query_dict(
            request.query_params,
            scalars=WebhookEventQuerySerializer.SCALARS,
            lists=WebhookEventQuerySerializer.LISTS,
        )
    )


class WebhookEventListApi(TillhubApiView):
    def get(self, request: Request, acc: str, webhook_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        query = _query_from_params(request)
        deliveries = webhook_events(
            webhook=webhook, filters=query.to_filter(), with_attempts=query.return_retries
        )
        page, after = _page(request, deliveries, limit=query.page_limit, offset=query.page_offset)
        results = [
            webhook_event_shape(delivery, with_attempts=query.return_retries) for delivery in page
        ]
        return envelope("Webhook events.", results, after)


class WebhookEventMetaApi(TillhubApiView):
    def get(self, request: Request, acc: str, webhook_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        query = _query_from_params(request)
        count = webhook_events(webhook=webhook, filters=query.to_filter()).count()
        return envelope("Webhook events meta.", [{"count": count}])


class WebhookEventDetailApi(TillhubApiView):
    def get(self, request: Request, acc: str, webhook_id: Any, event_id: Any) -> Response:
        webhook = _account_webhook(request, acc, webhook_id)
        filters = WebhookEventFilter(event_ids=(event_id,))
        delivery = webhook_events(webhook=webhook, filters=filters, with_attempts=True).first()
        if delivery is None:
            raise exceptions.NotFound("No such event for this webhook.")
        return envelope("Webhook event.", [webhook_event_shape(delivery, with_attempts=True)])


class WebhookEventReplayApi(TillhubApiView):
    def post(self, request: Request, acc: str, webhook_id: Any) -> Response:
        """Resend the webhook's deliveries that match the query (all without one): the same
        body and event id, a fresh signature. `count` is how many were resent, `paused` how
        many of them wait for the webhook to be activated."""
        webhook = _account_webhook(request, acc, webhook_id)
        query = _event_query(request.data or {})
        deliveries = webhook_events(webhook=webhook, filters=query.to_filter())
        if query.validated_data.get("limit") or query.validated_data.get("offset"):
            start = query.page_offset
            page = deliveries.values("id")[start : start + query.page_limit]
            deliveries = Delivery.objects.filter(id__in=Subquery(page))
        counts = deliveries_resend_matching(deliveries=deliveries, webhook=webhook)
        # An inactive webhook's deliveries wait as paused until it is activated (SPEC 4).
        resent = {"count": counts.queued + counts.paused, "paused": counts.paused}
        return envelope("Webhook events queued for replay.", [resent])


class WebhookTestEventsApi(TillhubApiView):
    error_field_names: dict[str, str] = {}  # its `events` is the request's own name

    def post(self, request: Request, acc: str, webhook_id: Any) -> Response:
        """One event with a realistic payload per key, to this webhook only."""
        webhook = _account_webhook(request, acc, webhook_id)
        serializer = TestEventsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        published = webhook_send_test_events(
            webhook=webhook, keys=serializer.validated_data["events"]
        )
        filters = WebhookEventFilter(event_ids=tuple(item.event.id for item in published))
        deliveries = webhook_events(webhook=webhook, filters=filters)
        by_event = {delivery.event_id: delivery for delivery in deliveries}
        results = [
            webhook_event_shape(by_event[item.event.id], with_attempts=False)
            for item in published
            if item.event.id in by_event
        ]
        return envelope("Test events sent.", results)
