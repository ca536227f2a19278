from django.contrib import admin
from django.urls import include, path

from api.health import healthz, metrics, readyz

urlpatterns = [
    path("admin/", admin.site.urls),
    # Probes answer with and without the trailing slash: a probe configured either way gets
    # the JSON answer, never a redirect or an HTML page.
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("readyz", readyz, name="readyz"),
    path("readyz/", readyz),
    path("metrics", metrics, name="metrics"),
    path("metrics/", metrics),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v0/", include("api.tillhub.urls")),  # before api/: its catch-all 404
    path("api/", include("api.urls")),
    path("", include("dashboard.urls")),
]
