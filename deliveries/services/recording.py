import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from deliveries.engine.http import SendResult
from deliveries.engine.outcome import Verdict
from deliveries.engine.transitions import NextState, next_state
from deliveries.models import Delivery
from deliveries.observability import attempts_recorded
from deliveries.observability.logs import delivery_log_fields
from deliveries.services.circuit import AttemptResult, CircuitChanges, circuits_record_results
from deliveries.services.claiming import DeliveryJob
from deliveries.services.health import (
    webhook_disabled_notify,
    webhooks_auto_deactivate,
    webhooks_mark_results,
)
from deliveries.services.operational import circuit_events_publish
from deliveries.services.subscriptions import webhook_deactivate
from deliveries.storage import StateChange, delivery_storage
from webhooks.models import Webhook

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
# The states after which an ordered delivery no longer holds back the next of its entity.
_ORDERING_RELEASED_BY = frozenset(
    {Delivery.State.SUCCEEDED.value, Delivery.State.GAVE_UP.value, Delivery.State.EXPIRED.value}
)


@dataclass(frozen=True)
class AttemptReport:
    """The outcome of one attempt, as the worker saw it, waiting to be recorded."""

    job: DeliveryJob
    started_at: datetime
    request_headers: dict[str, str]
    result: SendResult
    verdict: Verdict


def redact_headers(
    headers: dict[str, str], extra_header_names: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Headers as stored: the Basic-auth credentials and the values of the subscription's own
    headers (`extra_header_names`, lowercase: often API keys, stored encrypted with the
    subscription) never reach the database in clear; their names do."""
    stored = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            value = f"{value.split(' ', 1)[0]} {REDACTED}"
        elif lowered in extra_header_names:
            value = REDACTED
        stored[name] = value
    return stored


def attempts_record(reports: list[AttemptReport], *, now: datetime | None = None) -> CircuitChanges:
    """Store the attempts and move each delivery to its next state, in one short transaction;
    then, once that has committed, act on what the results mean for their subscriptions.

    A delivery whose claim was taken over meanwhile (its lease ran out) keeps the newer
    claim's state; its attempt is recorded all the same. Deliveries deleted meanwhile (their
    subscription was deleted) are skipped. After the commit, a 410 deactivates the
    subscription and failing subscriptions are checked against the auto-deactivation rules
    (their e-mails go out from a worker): none of that holds the recording transaction.

    The same transaction counts the results into their subscriptions' circuit breakers;
    returns the circuits it opened or closed (their operational events are published after
    the commit).
    """
    if not reports:
        return CircuitChanges()
    now = now or timezone.now()
    recorded = reports
    try:
        changes = _record_in_one_transaction(reports, now)
    except (IntegrityError, DataError):
        # One attempt the database refuses (its subscription deleted at that very moment) must
        # not hold back the others: kept for a retry, the whole batch would fail for ever.
        recorded = []
        changes = CircuitChanges()
        for report in reports:
            try:
                one = _record_in_one_transaction([report], now)
            except (IntegrityError, DataError):
                _drop_refused(report)
            else:
                recorded.append(report)
                changes.opened.update(one.opened)
                changes.closed.update(one.closed)
    _act_on_results(recorded, now, changes)
    attempts_recorded(recorded)
    return changes


def _drop_refused(report: AttemptReport) -> None:
    logger.warning(
        "the database refused the attempt of delivery %s (a constraint or a value it cannot "
        "store; or its subscription was deleted meanwhile); dropped, sent again after its lease",
        report.job.delivery_id,
        extra=delivery_log_fields(report),
    )


def _record_in_one_transaction(reports: list[AttemptReport], now: datetime) -> CircuitChanges:
    storage = delivery_storage()
    with transaction.atomic():
        storage.insert_attempts([_attempt_row(report) for report in reports])
        state_changes = [_state_change(report, now) for report in reports]
        storage.write_states(state_changes)
        # An ordered delivery that is done lets the next one of its entity go at once.
        storage.release_next_ordered(
            finished_ids=[
                change.delivery_id
                for report, change in zip(reports, state_changes, strict=True)
                if report.job.ordered and change.values[0] in _ORDERING_RELEASED_BY
            ],
            now=now,
        )
        webhooks_mark_results(
            succeeded={r.job.webhook_id for r in reports if r.verdict.outcome == "success"},
            failed={r.job.webhook_id for r in reports if r.verdict.outcome != "success"},
            now=now,
        )
        # Failures to a subscription deactivated while they were in flight wait as paused.
        failed_ids = [r.job.delivery_id for r in reports if r.verdict.outcome != "success"]
        if failed_ids:
            Delivery.objects.filter(
                id__in=failed_ids, state=Delivery.State.FAILED, webhook__active=False
            ).update(state=Delivery.State.PAUSED, next_attempt_at=None)
        return circuits_record_results(
            [
                AttemptResult(
                    webhook_id=r.job.webhook_id,
                    delivery_id=r.job.delivery_id,
                    succeeded=r.verdict.outcome == "success",
                )
                for r in reports
            ],
            now=now,
        )


def _act_on_results(reports: list[AttemptReport], now: datetime, changes: CircuitChanges) -> None:
    """What recorded results mean for their subscriptions, after the recording committed.

    A failure here is logged and not retried: the attempts are stored, and the rules look
    again at the subscription's next failed attempt.
    """
    try:
        if changes:
            circuit_events_publish(changes=changes, now=now)
        gone = {r.job.webhook_id: r.job.url for r in reports if r.verdict.outcome == "gone"}
        for webhook_id, url in gone.items():
            with transaction.atomic():
                webhook = Webhook.objects.filter(id=webhook_id, active=True).first()
                if webhook is not None:
                    reason = f"The endpoint answered 410 Gone ({url}); deliveries are paused."
                    webhook_deactivate(webhook=webhook, reason=reason)
                    webhook_disabled_notify(webhook=webhook, reason=reason, now=now)
        webhooks_auto_deactivate(
            webhook_ids={r.job.webhook_id for r in reports if r.verdict.outcome != "success"},
            now=now,
        )
    except Exception:
        logger.exception("acting on %d recorded attempts failed", len(reports))


def _attempt_row(report: AttemptReport) -> tuple[object, ...]:
    """The attempt as values for storage.ATTEMPT_COLUMNS (a tuple: this runs for every attempt)."""
    result = report.result
    return (
        report.job.delivery_id,
        report.job.webhook_id,
        report.job.attempt_number,
        report.job.trigger,
        report.started_at,
        result.duration_ms,
        report.verdict.outcome.value,
        report.job.url,
        redact_headers(report.request_headers, report.job.extra_header_names),
        result.status,
        result.response_headers,
        result.response_body,
        result.error_kind.value if result.error_kind else "",
        result.error_message or "",
        [{"url": hop.url, "status": hop.status} for hop in result.hops],
    )


def _state_change(report: AttemptReport, now: datetime) -> StateChange:
    """The delivery's columns after the attempt (storage.STATE_COLUMNS), by the engine's rule."""
    job, result = report.job, report.result
    transition = next_state(
        report.verdict,
        attempt_number=job.attempt_number,
        now=now,
        event_created_at=job.event_created_at,
        retention_seconds=settings.WEBHOOK_EVENT_RETENTION_SECONDS,
        backoff_base_seconds=settings.WEBHOOK_BACKOFF_BASE_SECONDS,
        backoff_jitter=settings.WEBHOOK_BACKOFF_JITTER,
    )
    return StateChange(
        delivery_id=job.delivery_id,
        claim_token=job.claim_token,
        values=(
            transition.state.value,
            job.attempt_number,
            transition.next_attempt_at,
            report.started_at,
            result.status,
            result.error_kind.value if result.error_kind else "",
            result.duration_ms,
            now if transition.state == NextState.SUCCEEDED else None,
        ),
    )
