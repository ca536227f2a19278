"""Endpoint health: the circuit breaker of each subscription (SPEC 3), shared by all workers.

The state lives in the database (EndpointCircuit). The recorder counts consecutive failed
attempts in its own short transaction, a batch's results per subscription at once, and opens
or closes circuits there. Each worker keeps a view of the circuits that are not healthy
(CircuitWatch), refreshed at a bounded interval, and hands those subscriptions to the claim to
leave alone, so the claim stays one statement and healthy subscriptions pay one array test.
When a circuit's cool-down has passed, workers race for its probe with a conditional UPDATE
whose row count says who won; the winner claims the subscription's oldest due delivery.
"""

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from deliveries.models import EndpointCircuit
from deliveries.storage import delivery_storage
from webhooks.models import Webhook

# The longest cool-down between probes, seconds (SPEC 3: doubling, capped at 1 h): a dead
# endpoint costs one request an hour, and one that comes back waits an hour at worst.
MAX_COOLDOWN_SECONDS = 3600.0


@dataclass(frozen=True)
class AttemptResult:
    """What the circuit needs of one recorded attempt."""

    webhook_id: uuid.UUID
    delivery_id: int
    succeeded: bool


@dataclass
class CircuitChanges:
    """Circuits a batch of results opened or closed (for operational events and the worker's
    view), with the consecutive failures each had."""

    opened: dict[uuid.UUID, int] = field(default_factory=dict)
    closed: dict[uuid.UUID, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.opened or self.closed)


def _cooldown_after(previous_seconds: float) -> float:
    base = float(settings.WEBHOOK_CIRCUIT_COOLDOWN_SECONDS)
    if previous_seconds <= 0:
        return min(base, MAX_COOLDOWN_SECONDS)
    return min(previous_seconds * 2, MAX_COOLDOWN_SECONDS)


def circuits_record_results(results: Sequence[AttemptResult], *, now: datetime) -> CircuitChanges:
    """Count a batch's results into the circuits of their subscriptions, in the caller's
    (recording) transaction; returns what opened and what closed.

    Per subscription, a success resets the count (and closes an open circuit: the endpoint
    answers again); the failures after the batch's last success add to it. Reaching
    WEBHOOK_CIRCUIT_FAILURES opens a healthy circuit; a failed probe re-opens a half-open one
    with the cool-down doubled. A subscription that has never failed has no row, and its
    successes touch none: the healthy path writes nothing.
    """
    changes = CircuitChanges()
    if not results:
        return changes
    by_webhook: dict[uuid.UUID, list[AttemptResult]] = {}
    for result in results:
        by_webhook.setdefault(result.webhook_id, []).append(result)
    succeeded = {
        webhook_id for webhook_id, rs in by_webhook.items() if any(r.succeeded for r in rs)
    }
    trailing_failures: dict[uuid.UUID, list[AttemptResult]] = {}
    for webhook_id, rs in by_webhook.items():
        tail: list[AttemptResult] = []
        for result in rs:
            tail = [] if result.succeeded else [*tail, result]
        if tail:
            trailing_failures[webhook_id] = tail

    touched: dict[uuid.UUID, EndpointCircuit] = {}
    if succeeded:
        # Only rows with something to reset: under load nearly every batch succeeds, and
        # taking the row lock of every healthy subscription would serialise the recorders.
        for circuit in EndpointCircuit.objects.select_for_update().filter(
            Q(consecutive_failures__gt=0) | ~Q(state=EndpointCircuit.State.HEALTHY),
            webhook_id__in=succeeded,
        ):
            if circuit.state != EndpointCircuit.State.HEALTHY:
                changes.closed[circuit.webhook_id] = circuit.consecutive_failures
                circuit.state = EndpointCircuit.State.HEALTHY
                circuit.since = now
            circuit.consecutive_failures = 0
            circuit.next_probe_at = None
            circuit.cooldown_seconds = 0
            circuit.probe_delivery_id = None
            touched[circuit.webhook_id] = circuit

    if trailing_failures:
        failing = set(trailing_failures)
        circuits = {
            c.webhook_id: c
            for c in EndpointCircuit.objects.select_for_update().filter(webhook_id__in=failing)
        }
        missing = failing - set(circuits)
        if missing:
            EndpointCircuit.objects.bulk_create(
                [EndpointCircuit(webhook_id=webhook_id, since=now) for webhook_id in missing],
                ignore_conflicts=True,  # another recorder created it meanwhile
            )
            circuits.update(
                (c.webhook_id, c)
                for c in EndpointCircuit.objects.select_for_update().filter(webhook_id__in=missing)
            )
        threshold = settings.WEBHOOK_CIRCUIT_FAILURES
        for webhook_id, failures in trailing_failures.items():
            circuit = circuits.get(webhook_id)
            if circuit is None:  # its subscription was deleted meanwhile
                continue
            circuit.consecutive_failures += len(failures)
            failed_ids = {failure.delivery_id for failure in failures}
            if circuit.state == EndpointCircuit.State.HEALTHY:
                if threshold > 0 and circuit.consecutive_failures >= threshold:
                    circuit.state = EndpointCircuit.State.OPEN
                    circuit.since = circuit.opened_at = now
                    circuit.cooldown_seconds = _cooldown_after(0)
                    circuit.next_probe_at = now + timedelta(seconds=circuit.cooldown_seconds)
                    circuit.times_opened += 1
                    circuit.probe_delivery_id = None
                    changes.opened[webhook_id] = circuit.consecutive_failures
            elif (
                circuit.state == EndpointCircuit.State.HALF_OPEN
                and circuit.probe_delivery_id in failed_ids
            ):
                # The probe failed: open again, waiting twice as long.
                circuit.state = EndpointCircuit.State.OPEN
                circuit.since = circuit.opened_at or now
                circuit.cooldown_seconds = _cooldown_after(circuit.cooldown_seconds)
                circuit.next_probe_at = now + timedelta(seconds=circuit.cooldown_seconds)
                circuit.probe_delivery_id = None
            touched[webhook_id] = circuit

    if touched:
        EndpointCircuit.objects.bulk_update(
            list(touched.values()),
            [
                "state",
                "since",
                "consecutive_failures",
                "next_probe_at",
                "cooldown_seconds",
                "probe_delivery_id",
                "times_opened",
                "opened_at",
            ],
        )
    return changes


def circuit_take_probe(
    *, webhook_id: uuid.UUID, now: datetime, lease_ends_at: datetime, token: uuid.UUID
) -> list[dict[str, Any]]:
    """Try to take the probe of an open circuit whose cool-down has passed (or a half-open one
    whose probe's lease ran out): the claim rows of the subscription's oldest due delivery,
    leased under `token`, or [] when another worker won it or nothing is due.

    One conditional UPDATE decides the winner among all workers; the circuit turns
    `half_open` with `next_probe_at` at the probe's lease end, so a probe lost with its worker
    is taken again then. With nothing due the transaction rolls back: the circuit stays open.
    """
    with transaction.atomic():
        won = EndpointCircuit.objects.filter(
            webhook_id=webhook_id,
            state__in=(EndpointCircuit.State.OPEN, EndpointCircuit.State.HALF_OPEN),
            # No join here (e.g. on the webhook's `active`): Django would turn it into
            # `pk IN (subquery)`, whose conditions PostgreSQL does not re-check against a
            # concurrent winner's row, and two workers would both win. An inactive
            # subscription has nothing due (its deliveries are paused): the claim below
            # finds nothing and rolls this back.
            next_probe_at__lte=now,
        ).update(state=EndpointCircuit.State.HALF_OPEN, since=now, next_probe_at=lease_ends_at)
        if not won:
            return []
        rows = delivery_storage().claim_oldest_due(
            webhook_id=webhook_id, now=now, lease_ends_at=lease_ends_at, token=token
        )
        if not rows:
            transaction.set_rollback(True)
            return []
        EndpointCircuit.objects.filter(webhook_id=webhook_id).update(
            probe_delivery_id=rows[0]["id"]
        )
        return rows


def circuits_not_healthy() -> dict[uuid.UUID, datetime | None]:
    """Subscriptions whose circuit is open or half-open, with their next probe time (the
    partial index circuit_not_healthy_idx: as small as the number of such circuits). An
    inactive subscription has no probe time: nothing of it is due, so nobody tries."""
    rows = EndpointCircuit.objects.exclude(state=EndpointCircuit.State.HEALTHY).values_list(
        "webhook_id", "next_probe_at", "webhook__active"
    )
    return {webhook_id: probe_at if active else None for webhook_id, probe_at, active in rows}


class CircuitWatch:
    """One worker's view of the circuits that are not healthy.

    Refreshed from the database at most every `refresh_seconds` (the claim thread asks), and
    corrected at once by what this worker's own recorder opened or closed (the recording
    thread tells): another worker's change reaches this one within `refresh_seconds`.
    """

    def __init__(self, refresh_seconds: float | None = None) -> None:
        # Default: the scheduler tick, the bound already accepted for a due retry's start.
        self.refresh_seconds = (
            refresh_seconds
            if refresh_seconds is not None
            else float(settings.WEBHOOK_SCHEDULER_INTERVAL_SECONDS)
        )
        self._lock = threading.Lock()
        self._not_healthy: dict[uuid.UUID, datetime | None] = {}
        self._refreshed_at = float("-inf")

    def refresh_if_stale(self) -> None:
        if time.monotonic() - self._refreshed_at < self.refresh_seconds:
            return
        current = circuits_not_healthy()
        with self._lock:
            self._not_healthy = current
            self._refreshed_at = time.monotonic()

    def blocked(self) -> frozenset[uuid.UUID]:
        with self._lock:
            return frozenset(self._not_healthy)

    def probes_due(self, now: datetime) -> list[uuid.UUID]:
        """Subscriptions whose probe may be due; each is offered once per refresh (whoever
        wins it, the refresh brings the new probe time)."""
        with self._lock:
            due = [
                webhook_id
                for webhook_id, probe_at in self._not_healthy.items()
                if probe_at is not None and probe_at <= now
            ]
            for webhook_id in due:
                self._not_healthy[webhook_id] = None
            return due

    def note(self, changes: CircuitChanges, *, now: datetime) -> None:
        with self._lock:
            for webhook_id in changes.closed:
                self._not_healthy.pop(webhook_id, None)
            for webhook_id in changes.opened:
                self._not_healthy[webhook_id] = now + timedelta(seconds=_cooldown_after(0))


@dataclass(frozen=True)
class Health:
    """A subscription's endpoint health as the API and dashboard show it (SPEC 3)."""

    state: str
    since: datetime
    next_probe_at: datetime | None
    consecutive_failures: int


def webhook_health(webhook: Webhook) -> Health:
    """The health of `webhook` (its circuit, loaded with it by select_related("circuit")
    where many are shown). `next_probe_at` is null unless open: a half-open circuit's probe
    is out."""
    try:
        circuit = webhook.circuit
    except EndpointCircuit.DoesNotExist:
        return Health(EndpointCircuit.State.HEALTHY, webhook.created_at, None, 0)
    return Health(
        state=circuit.state,
        since=circuit.since,
        next_probe_at=circuit.next_probe_at
        if circuit.state == EndpointCircuit.State.OPEN
        else None,
        consecutive_failures=circuit.consecutive_failures,
    )
