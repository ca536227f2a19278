from django.urls import path

from dashboard.views import deliveries, event_types, history, logs, preflight, replay, webhooks

app_name = "dashboard"
urlpatterns = [
    path("", webhooks.overview, name="overview"),
    path("webhooks/new/", webhooks.webhook_new, name="webhook-new"),
    path("webhooks/<uuid:webhook_id>/", history.webhook_detail, name="webhook-detail"),
    path("webhooks/<uuid:webhook_id>/edit/", webhooks.webhook_edit, name="webhook-edit"),
    path(
        "webhooks/<uuid:webhook_id>/delete/",
        webhooks.webhook_delete_view,
        name="webhook-delete",
    ),
    path(
        "webhooks/<uuid:webhook_id>/activate/",
        webhooks.webhook_activate_view,
        name="webhook-activate",
    ),
    path(
        "webhooks/<uuid:webhook_id>/deactivate/",
        webhooks.webhook_deactivate_view,
        name="webhook-deactivate",
    ),
    path(
        "webhooks/<uuid:webhook_id>/regenerate-secret/",
        webhooks.webhook_regenerate_secret_view,
        name="webhook-regenerate-secret",
    ),
    path("webhooks/<uuid:webhook_id>/test/", webhooks.webhook_send_test, name="webhook-test"),
    path(
        "webhooks/<uuid:webhook_id>/preflight/",
        preflight.webhook_preflight_view,
        name="webhook-preflight",
    ),
    path(
        "webhooks/<uuid:webhook_id>/history/",
        history.webhook_history_rows,
        name="webhook-history",
    ),
    path(
        "webhooks/<uuid:webhook_id>/resend/",
        history.webhook_resend_selected,
        name="webhook-resend-selected",
    ),
    path(
        "webhooks/<uuid:webhook_id>/resend-all/",
        history.webhook_resend_all,
        name="webhook-resend-all",
    ),
    path("deliveries/", logs.account_deliveries, name="deliveries"),
    path("events/", logs.account_event_list, name="events"),
    path("event-types/", event_types.event_type_list, name="event-types"),
    path("event-types/new/", event_types.event_type_new, name="event-type-new"),
    path("event-types/<str:key>/edit/", event_types.event_type_edit, name="event-type-edit"),
    path(
        "event-types/<str:key>/delete/",
        event_types.event_type_delete_view,
        name="event-type-delete",
    ),
    path("events/<uuid:event_id>/replay/", replay.event_replay_view, name="event-replay"),
    path("deliveries/<int:delivery_id>/", deliveries.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:delivery_id>/live/", deliveries.delivery_live, name="delivery-live"),
    path(
        "deliveries/<int:delivery_id>/resend/",
        deliveries.delivery_resend,
        name="delivery-resend",
    ),
]
