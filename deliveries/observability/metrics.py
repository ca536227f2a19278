"""Prometheus metrics recorded where the work happens (README "Operations" lists them all).

Every process that records (gunicorn's web workers, Celery's worker processes) runs in
prometheus-client's multiprocess mode when `PROMETHEUS_MULTIPROC_DIR` names a directory shared
with the web processes: each writes its values to memory-mapped files there, and `/metrics`
(deliveries.observability.exposition) adds them up. The mode is chosen when prometheus-client
is first imported, so the variable must be set before the process starts (`make run`,
docker-compose and the tests' worker processes set it); without it a process counts in memory
and `/metrics` shows that process's own values.

Costs on the hot path: attempts are counted once per recorded batch (one increment per
distinct label set, one histogram observation per attempt, with children looked up once and
kept), events once per publish or publish batch. Label values are bounded: outcomes and error
kinds are enums, event keys are the built-in catalog's or `other`, and a subscription label
exists only with WEBHOOK_METRICS_PER_WEBHOOK.
"""

import os
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram, multiprocess

from events.catalog import BUILTIN_EVENT_TYPES

if TYPE_CHECKING:
    from deliveries.services.recording import AttemptReport

# The label of events whose key is an account's own: their number is not bounded.
OWN_EVENT_KEY_LABEL = "other"
# The error_kind label of an attempt that had no error.
NO_ERROR_LABEL = "none"

# Seconds. An attempt takes from a few milliseconds (a receiver next door) to the request
# timeout (30 s by default); the buckets cover both ends with the 100 ms-1 s range finest.
ATTEMPT_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds from publish to the first attempt: milliseconds when workers keep up, minutes when
# a backlog builds or limits hold deliveries back.
FIRST_ATTEMPT_LATENCY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    1800.0,
)

EVENTS_PUBLISHED = Counter(
    "hookline_events_published",
    "Events published, by event key (an account's own keys count as 'other').",
    ["event"],
)
DELIVERIES_CREATED = Counter(
    "hookline_deliveries_created",
    "Deliveries created by publishing (one per event and subscribed subscription).",
)


# Read once: a metric's labels are fixed when it is made.
PER_WEBHOOK = bool(settings.WEBHOOK_METRICS_PER_WEBHOOK)


def _attempt_labels() -> list[str]:
    labels = ["outcome", "error_kind"]
    return [*labels, "webhook"] if PER_WEBHOOK else labels


def _timing_labels() -> list[str]:
    return ["webhook"] if PER_WEBHOOK else []


ATTEMPTS = Counter(
    "hookline_delivery_attempts",
    "Delivery attempts recorded, by outcome (success, retry, give_up, gone) and error kind.",
    _attempt_labels(),
)
ATTEMPT_DURATION = Histogram(
    "hookline_delivery_attempt_duration_seconds",
    "Time from sending an attempt's request to its final response or error.",
    _timing_labels(),
    buckets=ATTEMPT_DURATION_BUCKETS,
)
FIRST_ATTEMPT_LATENCY = Histogram(
    "hookline_delivery_first_attempt_latency_seconds",
    "Time from an event's publication to the start of a delivery's first attempt.",
    _timing_labels(),
    buckets=FIRST_ATTEMPT_LATENCY_BUCKETS,
)
RETRIES_SCHEDULED = Counter(
    "hookline_delivery_retries_scheduled",
    "Failed attempts after which an automatic retry was scheduled.",
)
LIMITER_DEGRADED = Gauge(
    "hookline_dispatch_limiter_degraded",
    "1 while a worker process limits on its own because the shared limiter (Redis) is "
    "unreachable; the highest value among live worker processes.",
    multiprocess_mode="livemax",
)

_children: dict[tuple[Any, ...], Any] = {}
_limiter_degraded: Callable[[], bool] | None = None


def _child(metric: Any, *values: str) -> Any:
    """The metric's child for these label values, created once: `labels()` takes a lock and
    builds a tuple each call, too much for once per attempt."""
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values) if values else metric
    return child


def event_key_label(key: str) -> str:
    return key if key in BUILTIN_EVENT_TYPES else OWN_EVENT_KEY_LABEL


def events_published_count(keys: Iterable[str], *, deliveries: int) -> None:
    """Count published events (their keys) and the deliveries they created."""
    for key, count in Tally(keys).items():
        _child(EVENTS_PUBLISHED, event_key_label(key)).inc(count)
    if deliveries:
        DELIVERIES_CREATED.inc(deliveries)


def attempts_count(reports: "list[AttemptReport]") -> None:
    """Count one recorded batch of attempts: outcomes, durations, first-attempt latencies,
    scheduled retries; and refresh this process's limiter gauge."""
    outcomes: Tally[tuple[str, ...]] = Tally()
    retries = 0
    for report in reports:
        outcome = report.verdict.outcome.value
        error_kind = report.result.error_kind
        labels: tuple[str, ...] = (outcome, error_kind.value if error_kind else NO_ERROR_LABEL)
        webhook: tuple[str, ...] = (str(report.job.webhook_id),) if PER_WEBHOOK else ()
        outcomes[labels + webhook] += 1
        if outcome == "retry":
            retries += 1
        _child(ATTEMPT_DURATION, *webhook).observe(report.result.duration_ms / 1000)
        if report.job.attempt_number == 1:
            latency = (report.started_at - report.job.event_created_at).total_seconds()
            _child(FIRST_ATTEMPT_LATENCY, *webhook).observe(max(latency, 0.0))
    for labels, count in outcomes.items():
        _child(ATTEMPTS, *labels).inc(count)
    if retries:
        RETRIES_SCHEDULED.inc(retries)
    if _limiter_degraded is not None:
        LIMITER_DEGRADED.set(1 if _limiter_degraded() else 0)


def metrics_process_started(*, limiter_degraded: Callable[[], bool]) -> None:
    """In a worker process: where to read whether its limiter is degraded (refreshed with
    every recorded batch); starts at 0."""
    global _limiter_degraded
    _limiter_degraded = limiter_degraded
    LIMITER_DEGRADED.set(0)


def metrics_process_exited(pid: int | None = None) -> None:
    """A worker process ends: its live gauges leave the multiprocess directory (its counters
    stay, they are totals)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())
