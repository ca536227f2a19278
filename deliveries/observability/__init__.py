"""Metrics, traces and delivery log records (README "Operations").

The delivery path calls in here at two points, once per unit of work: `events_published` from
publishing (one call per publish or publish batch) and `attempts_recorded` from recording
(one call per recorded batch). Configuration wires the rest at process start
(`tracing.tracing_init`, `metrics.metrics_process_started` / `metrics_process_exited`).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from deliveries.observability.logs import attempts_logged
from deliveries.observability.metrics import attempts_count, events_published_count
from deliveries.observability.tracing import attempts_traced, publish_traced

if TYPE_CHECKING:
    from deliveries.services.recording import AttemptReport


def events_published(*, event_ids: Sequence[object], keys: Sequence[str], deliveries: int) -> None:
    """Inside the publishing transaction: trace the publish now (its context must be stored
    before any worker can claim the deliveries), count it once the transaction commits."""
    publish_traced(event_ids=event_ids, keys=keys, deliveries=deliveries)
    transaction.on_commit(lambda: events_published_count(keys, deliveries=deliveries))


def attempts_recorded(reports: "list[AttemptReport]") -> None:
    """After a batch of attempts was stored: count, log and trace them."""
    attempts_count(reports)
    attempts_logged(reports)
    attempts_traced(reports)
