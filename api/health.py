"""Operational endpoints, unauthenticated unless said otherwise, and revealing counts only:

- `/healthz`: liveness. The process answers; nothing else is touched, so a database or broker
  outage never makes an orchestrator restart healthy web processes.
- `/readyz`: readiness. Database, broker and the shared limiter (Redis), and the queue depth.
  503 when the database or the broker is down; an unreachable limiter only degrades delivery
  (workers fall back to per-process limits), so it is reported but keeps the service ready.
- `/metrics`: Prometheus text format (prometheus-client, multiprocess mode: the web and worker
  processes' counters and histograms, plus gauges read from the database at scrape time); with
  `WEBHOOK_METRICS_TOKEN` set it wants that token as `Authorization: Bearer <token>`.
"""

import hmac
import logging

import redis
from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from deliveries.observability.exposition import CONTENT_TYPE as METRICS_CONTENT_TYPE
from deliveries.observability.exposition import metrics_exposition
from deliveries.selectors import deliveries_due_count

logger = logging.getLogger(__name__)

# Seconds a readiness probe waits for Redis (broker or limiter) before calling it down: a
# probe must answer well within an orchestrator's own probe timeout (usually 1-5 s).
PROBE_TIMEOUT_SECONDS = 1.0


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0.2, timeout=PROBE_TIMEOUT_SECONDS
            )
        return True
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


def _limiter_ok() -> bool:
    """Whether the limiter shared by all workers (Redis) answers. Without REDIS_URL every
    worker limits in process by design, so there is nothing to lose: True."""
    if not settings.REDIS_URL:
        return True
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        logger.warning("readiness: shared limiter (Redis) unreachable", exc_info=True)
        return False
    finally:
        client.close()


def _queue_depth() -> int | None:
    try:
        return deliveries_due_count()
    except Exception:
        logger.warning("readiness: queue depth unavailable", exc_info=True)
        return None


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 as long as the process serves requests. Touches no database."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness (SPEC 6): 200 `ok`, or 503 `unavailable` when the database or broker is down."""
    database_ok = _database_ok()
    broker_ok = _broker_ok()
    ready = database_ok and broker_ok
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "database": database_ok,
            "broker": broker_ok,
            "limiter": _limiter_ok(),
            "queue_depth": _queue_depth() if database_ok else None,
        },
        status=200 if ready else 503,
    )


def _metrics_authorized(request: HttpRequest) -> bool:
    token = settings.WEBHOOK_METRICS_TOKEN
    if not token:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    # Constant time, so the answer's timing says nothing about how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_authorized(request):
        response = JsonResponse(
            {
                "detail": "A valid bearer token is required (Authorization: Bearer <token>).",
                "code": "not_authenticated",
                "errors": {},
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # Counters and histograms of every web and worker process, and the database gauges
    # (README "Operations" lists them).
    return HttpResponse(metrics_exposition(), content_type=METRICS_CONTENT_TYPE)
