"""Operational endpoints: `/healthz` (database, broker, queue depth) and `/metrics`
(Prometheus text format). Both are unauthenticated and reveal counts only."""

from celery import current_app as celery_app
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from deliveries.models import Delivery
from deliveries.selectors import deliveries_due_count, delivery_counts_by_state


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def healthz(request: HttpRequest) -> JsonResponse:
    database_ok = _database_ok()
    broker_ok = _broker_ok()
    due = deliveries_due_count() if database_ok else None
    healthy = database_ok and broker_ok
    return JsonResponse(
        {
            "status": "ok" if healthy else "degraded",
            "database": database_ok,
            "broker": broker_ok,
            "queue_depth": due,
        },
        status=200 if healthy else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    lines = [
        "# HELP hookline_deliveries Deliveries by state.",
        "# TYPE hookline_deliveries gauge",
    ]
    counts = delivery_counts_by_state()
    for state in Delivery.State.values:
        lines.append(f'hookline_deliveries{{state="{state}"}} {counts.get(state, 0)}')
    due = deliveries_due_count()
    lines += [
        "# HELP hookline_deliveries_due Deliveries due for an attempt now.",
        "# TYPE hookline_deliveries_due gauge",
        f"hookline_deliveries_due {due}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
