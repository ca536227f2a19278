"""What `/metrics` serves: the counters and histograms of every process (multiprocess mode) and
the gauges read from the database at scrape time.

The database gauges cost the same at any table size: the due count reads at most
DUE_COUNT_CAP entries of the due index, the oldest due delivery is its first entry, and the
subscriptions are one grouped scan of the subscriptions table.
"""

import os
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from deliveries.selectors import (
    DUE_COUNT_CAP,
    deliveries_due_bounded_count,
    delivery_oldest_due_at,
    subscription_counts_by_health,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The circuit states of SPEC 3 (endpoint health); each is exported, with zeros, so that the
# dashboard's series exist before any circuit has opened.
HEALTH_STATES = ("healthy", "open", "half_open")


class DatabaseCollector(Collector):
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        due = GaugeMetricFamily(
            "hookline_deliveries_due",
            f"Deliveries due for an attempt now (counted up to {DUE_COUNT_CAP}).",
        )
        due.add_metric([], deliveries_due_bounded_count(now=now))
        yield due
        oldest_due_at = delivery_oldest_due_at(now=now)
        oldest = GaugeMetricFamily(
            "hookline_deliveries_oldest_due_age_seconds",
            "How long the delivery due longest has waited since it became due (0: none due).",
        )
        oldest.add_metric(
            [], (now - oldest_due_at).total_seconds() if oldest_due_at is not None else 0.0
        )
        yield oldest
        subscriptions = GaugeMetricFamily(
            "hookline_subscriptions",
            "Subscriptions by circuit state (healthy, open, half_open) and active flag.",
            labels=["health", "active"],
        )
        counts = subscription_counts_by_health()
        # Every combination is exported, zeros too, so a dashboard's series always exist.
        for health in HEALTH_STATES:
            for active in (True, False):
                subscriptions.add_metric(
                    [health, "true" if active else "false"], counts.get((health, active), 0)
                )
        yield subscriptions


def metrics_exposition() -> bytes:
    """The Prometheus text exposition: every process's values from PROMETHEUS_MULTIPROC_DIR
    when it is set (read now, so a test can point a web process at its workers' directory),
    else this process's own; plus the database gauges."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        processes = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(processes, path=directory)
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)
