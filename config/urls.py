from django.contrib import admin
from django.urls import include, path

from api.health import healthz, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v0/", include("api.tillhub.urls")),  # before api/: its catch-all 404
    path("api/", include("api.urls")),
    path("", include("dashboard.urls")),
]
