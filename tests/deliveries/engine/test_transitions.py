"""The pure rule for a delivery's state after an attempt (SPEC section 3)."""

import datetime

import pytest

from deliveries.engine.outcome import AttemptOutcome, Verdict
from deliveries.engine.transitions import NextState, Transition, next_state

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
WEEK = 7 * 86400.0


def after(outcome: AttemptOutcome, *, attempt: int = 1, age_seconds: float = 0, retry_after=None):
    return next_state(
        Verdict(outcome, retry_after),
        attempt_number=attempt,
        now=NOW,
        event_created_at=NOW - datetime.timedelta(seconds=age_seconds),
        retention_seconds=WEEK,
        backoff_base_seconds=30,
        backoff_jitter=0,
    )


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        (AttemptOutcome.SUCCESS, NextState.SUCCEEDED),
        (AttemptOutcome.GIVE_UP, NextState.GAVE_UP),
        (AttemptOutcome.GONE, NextState.PAUSED),
    ],
)
def test_final_outcomes_schedule_nothing(outcome, state) -> None:
    assert after(outcome) == Transition(state, None)


def test_a_retry_waits_30_s_times_e_to_the_n() -> None:
    first = after(AttemptOutcome.RETRY, attempt=1)
    third = after(AttemptOutcome.RETRY, attempt=3)

    assert first == Transition(NextState.FAILED, NOW + datetime.timedelta(seconds=30))
    assert third.next_attempt_at == NOW + datetime.timedelta(seconds=30 * 2.718281828459045**2)


def test_retry_after_from_the_receiver_wins_over_the_backoff() -> None:
    transition = after(AttemptOutcome.RETRY, attempt=5, retry_after=7.0)

    assert transition == Transition(NextState.FAILED, NOW + datetime.timedelta(seconds=7))


def test_a_retry_past_the_events_retention_expires_the_delivery() -> None:
    # given: the event is a week old less 10 s; the next retry would be in 30 s
    transition = after(AttemptOutcome.RETRY, attempt=1, age_seconds=WEEK - 10)

    assert transition == Transition(NextState.EXPIRED, None)
