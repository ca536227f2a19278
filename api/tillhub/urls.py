"""/api/v0/: Tillhub's management API paths (SPEC 8), without trailing slashes as the SDK
writes them. `defaults` and `supported-events` come before the `{acc}` routes they would
otherwise be taken for."""

from django.urls import path, re_path

from api.tillhub import views
from api.tillhub.plumbing import not_found

# The account segment: whatever the SDK puts there; plumbing.path_account checks it.
ACC = "<str:acc>"

urlpatterns = [
    path("users/login", views.LoginApi.as_view(), name="tillhub-login"),
    path("users/logout", views.LogoutApi.as_view(), name="tillhub-logout"),
    path("webhooks/defaults", views.WebhookDefaultsApi.as_view(), name="tillhub-defaults"),
    path("supported-events", views.SupportedEventsApi.as_view(), name="tillhub-supported-events"),
    path(f"webhooks/{ACC}", views.WebhookListApi.as_view(), name="tillhub-webhooks"),
    path(
        f"webhooks/{ACC}/<uuid:webhook_id>",
        views.WebhookDetailApi.as_view(),
        name="tillhub-webhook",
    ),
    path(
        f"webhooks/{ACC}/<uuid:webhook_id>/regenerate-secret",
        views.WebhookRegenerateSecretApi.as_view(),
        name="tillhub-regenerate-secret",
    ),
    path(
        f"events/{ACC}/<uuid:webhook_id>",
        views.WebhookEventListApi.as_view(),
        name="tillhub-events",
    ),
    path(
        f"events/{ACC}/<uuid:webhook_id>/meta",
        views.WebhookEventMetaApi.as_view(),
        name="tillhub-events-meta",
    ),
    path(
        f"events/{ACC}/<uuid:webhook_id>/replay",
        views.WebhookEventReplayApi.as_view(),
        name="tillhub-events-replay",
    ),
    path(
        f"events/{ACC}/<uuid:webhook_id>/test",
        views.WebhookTestEventsApi.as_view(),
        name="tillhub-events-test",
    ),
    path(
        f"events/{ACC}/<uuid:webhook_id>/<uuid:event_id>",
        views.WebhookEventDetailApi.as_view(),
        name="tillhub-event",
    ),
    # Anything else under /api/v0/ (an unknown path, a malformed id) is a 404 in this API's
    # error shape, not /api/v1's.
    re_path(r"^(?P<path>[\s\S]*)$", not_found),
]
