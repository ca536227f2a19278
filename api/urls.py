from csp.decorators import csp_update
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.deliveries import (
    DeliveryDetailApi,
    DeliveryListApi,
    DeliveryResendApi,
    WebhookDeliveryListApi,
    WebhookMetricsApi,
    WebhookResendApi,
)
from api.events import (
    EventDetailApi,
    EventListApi,
    EventReplayApi,
    EventTypeDetailApi,
    EventTypeListApi,
)
from api.plumbing import api_not_found
from api.webhooks import (
    WebhookDefaultsApi,
    WebhookDetailApi,
    WebhookListApi,
    WebhookPreflightApi,
    WebhookRegenerateSecretApi,
    WebhookTestEventsApi,
)


class DeliveryIdConverter:
    """A delivery id: 1 to 18 digits, so it always fits the 64-bit column (no 500 on 10**30);
    see SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"] for its schema."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DeliveryIdConverter, "delivery_id")

v1 = [
    path("webhooks/", WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/defaults/", WebhookDefaultsApi.as_view(), name="webhook-defaults"),
    path("webhooks/<uuid:webhook_id>/", WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:webhook_id>/regenerate-secret/",
        WebhookRegenerateSecretApi.as_view(),
        name="webhook-regenerate-secret",
    ),
    path("webhooks/<uuid:webhook_id>/test/", WebhookTestEventsApi.as_view(), name="webhook-test"),
    path(
        "webhooks/<uuid:webhook_id>/preflight/",
        WebhookPreflightApi.as_view(),
        name="webhook-preflight",
    ),
    path(
        "webhooks/<uuid:webhook_id>/deliveries/",
        WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path("webhooks/<uuid:webhook_id>/resend/", WebhookResendApi.as_view(), name="webhook-resend"),
    path(
        "webhooks/<uuid:webhook_id>/metrics/", WebhookMetricsApi.as_view(), name="webhook-metrics"
    ),
    path("deliveries/", DeliveryListApi.as_view(), name="delivery-list"),
    path(
        "deliveries/<delivery_id:delivery_id>/",
        DeliveryDetailApi.as_view(),
        name="delivery-detail",
    ),
    path(
        "deliveries/<delivery_id:delivery_id>/resend/",
        DeliveryResendApi.as_view(),
        name="delivery-resend",
    ),
    path("events/", EventListApi.as_view(), name="event-list"),
    path("events/<uuid:event_id>/", EventDetailApi.as_view(), name="event-detail"),
    path("events/<uuid:event_id>/replay/", EventReplayApi.as_view(), name="event-replay"),
    path("event-types/", EventTypeListApi.as_view(), name="event-type-list"),
    path("event-types/<str:key>/", EventTypeDetailApi.as_view(), name="event-type-detail"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's script is served as a file (the split view); its elements are styled
    # inline, so this page alone allows inline styles (CONTENT_SECURITY_POLICY in settings).
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
    path("v1/", include((v1, "api-v1"))),
    # Anything else under /api/ (an unknown path, a malformed id, a missing trailing slash) is
    # a JSON 404 in the error shape, not Django's HTML page. It also keeps APPEND_SLASH from
    # redirecting API calls: a redirected POST loses its body (and is a 500 under DEBUG).
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
