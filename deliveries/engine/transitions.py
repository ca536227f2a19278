"""What state a delivery moves to after an attempt (SPEC section 3): the pure rule.

The services store the result; this decides it, from the verdict, the attempt's number and the
event's age, with no database and no clock of its own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from deliveries.engine.backoff import retry_delay
from deliveries.engine.outcome import AttemptOutcome, Verdict


class NextState(StrEnum):
    """The delivery states an attempt can lead to (the values of the Delivery.State column)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a retry is scheduled at next_attempt_at
    GAVE_UP = "gave_up"
    PAUSED = "paused"  # 410 Gone: the subscription is deactivated, its deliveries wait
    EXPIRED = "expired"  # the next retry would fall past the event's retention


@dataclass(frozen=True)
class Transition:
    state: NextState
    next_attempt_at: datetime.datetime | None


def next_state(
    verdict: Verdict,
    *,
    attempt_number: int,
    now: datetime.datetime,
    event_created_at: datetime.datetime,
    retention_seconds: float,
    backoff_base_seconds: float,
    backoff_jitter: float,
) -> Transition:
    """The delivery's state after attempt ``attempt_number`` (1-based) with ``verdict``.

    A retry waits the receiver's Retry-After when it gave one, else the backoff; a retry that
    would fall after ``event_created_at + retention_seconds`` expires the delivery instead.
    """
    if verdict.outcome == AttemptOutcome.SUCCESS:
        return Transition(NextState.SUCCEEDED, None)
    if verdict.outcome == AttemptOutcome.GIVE_UP:
        return Transition(NextState.GAVE_UP, None)
    if verdict.outcome == AttemptOutcome.GONE:
        return Transition(NextState.PAUSED, None)
    delay = verdict.retry_after_seconds
    if delay is None:
        delay = retry_delay(
            attempt_number, base_seconds=backoff_base_seconds, jitter=backoff_jitter
        )
    due_at = now + datetime.timedelta(seconds=delay)
    if due_at > event_created_at + datetime.timedelta(seconds=retention_seconds):
        return Transition(NextState.EXPIRED, None)
    return Transition(NextState.FAILED, due_at)
