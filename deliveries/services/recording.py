import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from config.bulk import bulk_insert_rows
from deliveries.engine.backoff import retry_delay
from deliveries.engine.http import SendResult
from deliveries.engine.outcome import AttemptOutcome, Verdict
from deliveries.models import Attempt, Delivery
from deliveries.services.claiming import DeliveryJob
from deliveries.services.health import webhooks_auto_deactivate, webhooks_mark_results
from webhooks.models import Webhook

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"


@dataclass(frozen=True)
class AttemptReport:
    """The outcome of one attempt, as the worker saw it, waiting to be recorded."""

    job: DeliveryJob
    started_at: datetime
    request_headers: dict[str, str]
    result: SendResult
    verdict: Verdict


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as stored: the Basic-auth credentials never reach the database in clear."""
    return {
        name: (f"{value.split(' ', 1)[0]} {REDACTED}" if name.lower() == "authorization" else value)
        for name, value in headers.items()
    }


def attempts_record(reports: list[AttemptReport], *, now: datetime | None = None) -> None:
    """Store the attempts and move each delivery to its next state, in one short transaction.

    A delivery whose claim was taken over meanwhile (its lease ran out) keeps the newer
    claim's state; its attempt is recorded all the same. A 410 deactivates the subscription.
    Deliveries deleted meanwhile (their subscription was deleted) are skipped.
    """
    if not reports:
        return
    now = now or timezone.now()
    try:
        _record_in_one_transaction(reports, now)
    except (IntegrityError, DataError):
        if len(reports) == 1:
            _drop_refused(reports[0])
            return
        # One attempt the database refuses (its subscription deleted at that very moment) must
        # not hold back the others: kept for a retry, the whole batch would fail for ever.
        for report in reports:
            try:
                _record_in_one_transaction([report], now)
            except (IntegrityError, DataError):
                _drop_refused(report)


def _drop_refused(report: AttemptReport) -> None:
    logger.warning(
        "the database refused the attempt of delivery %s (a constraint or a value it cannot "
        "store; or its subscription was deleted meanwhile); dropped, sent again after its lease",
        report.job.delivery_id,
    )


def _record_in_one_transaction(reports: list[AttemptReport], now: datetime) -> None:
    with transaction.atomic():
        _insert_attempts(reports)
        _write_delivery_states(
            [(report.job.claim_token, _next_delivery_state(report, now)) for report in reports]
        )
        gone_webhooks = {
            r.job.webhook_id: r.job.url for r in reports if r.verdict.outcome == AttemptOutcome.GONE
        }
        for webhook_id, url in gone_webhooks.items():
            from webhooks.services import webhook_deactivate

            webhook = Webhook.objects.filter(id=webhook_id, active=True).first()
            if webhook is not None:
                webhook_deactivate(
                    webhook=webhook,
                    reason=f"The endpoint answered 410 Gone ({url}); deliveries are paused.",
                )
        webhooks_mark_results(
            succeeded={r.job.webhook_id for r in reports if r.verdict.outcome == "success"},
            failed={r.job.webhook_id for r in reports if r.verdict.outcome != "success"},
            now=now,
        )
        webhooks_auto_deactivate(
            webhook_ids={r.job.webhook_id for r in reports if r.verdict.outcome != "success"},
            now=now,
        )
        # Failures to a subscription deactivated while they were in flight wait as paused.
        failed_ids = [r.job.delivery_id for r in reports if r.verdict.outcome != "success"]
        if failed_ids:
            Delivery.objects.filter(
                id__in=failed_ids, state=Delivery.State.FAILED, webhook__active=False
            ).update(state=Delivery.State.PAUSED, next_attempt_at=None)


# Attempts of deliveries that still exist (their subscription may have been deleted while they
# were in flight), checked in the INSERT itself rather than by a query before it.
_INSERT_ATTEMPTS_SQL = f"""
INSERT INTO {Attempt._meta.db_table} (%(columns)s)
SELECT * FROM (VALUES %%s) AS v(%(columns)s)
WHERE EXISTS (
    SELECT 1 FROM {Delivery._meta.db_table} AS d
    WHERE d.id = v.delivery_id AND d.webhook_id = v.webhook_id
)
"""  # noqa: S608 - the names come from our model; every value is bound
_INSERT_ATTEMPTS_TEMPLATE = (
    "(%s, %s::uuid, %s, %s, %s::timestamptz, %s::float8, %s, %s, %s::jsonb, %s::smallint, "
    "%s::jsonb, %s, %s, %s, %s::jsonb)"
)


def _insert_attempts(reports: list[AttemptReport]) -> None:
    if connection.vendor != "postgresql":
        existing = set(
            Delivery.objects.filter(id__in=[r.job.delivery_id for r in reports]).values_list(
                "id", flat=True
            )
        )
        rows = [_attempt_row(r) for r in reports if r.job.delivery_id in existing]
        bulk_insert_rows(Attempt, _ATTEMPT_COLUMNS, rows)
        return
    rows = [_attempt_row(report, json_as_text=True) for report in reports]
    columns = ", ".join(Attempt._meta.get_field(name).column for name in _ATTEMPT_COLUMNS)
    with connection.cursor() as cursor:
        execute_values(
            cursor,
            _INSERT_ATTEMPTS_SQL % {"columns": columns},
            rows,
            template=_INSERT_ATTEMPTS_TEMPLATE,
            page_size=1000,
        )


_STATE_COLUMNS = (
    "state",
    "attempt_count",
    "next_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_error_kind",
    "last_duration_ms",
    "succeeded_at",
)
# Each delivery's new state, joined from a VALUES list: one statement for a whole batch. The
# claim token in the join means a claim taken over meanwhile (lease ran out) is left alone.
# A success stamps succeeded_at; a later failure leaves it as it was.
_UPDATE_STATES_SQL = f"""
UPDATE {Delivery._meta.db_table} AS d SET
    state = v.state, attempt_count = v.attempt_count, next_attempt_at = v.next_attempt_at,
    last_attempt_at = v.last_attempt_at, last_status_code = v.last_status_code,
    last_error_kind = v.last_error_kind, last_duration_ms = v.last_duration_ms,
    succeeded_at = COALESCE(v.succeeded_at, d.succeeded_at),
    claim_token = NULL, next_trigger = 'automatic'
FROM (VALUES %s) AS v(id, token, {", ".join(_STATE_COLUMNS)})
WHERE d.id = v.id AND d.claim_token = v.token
"""  # noqa: S608 - the names come from our model; every value is bound
_UPDATE_STATES_TEMPLATE = (
    "(%s, %s::uuid, %s, %s, %s::timestamptz, %s::timestamptz, %s::smallint, %s, %s::float8, "
    "%s::timestamptz)"
)


def _write_delivery_states(changes: list[tuple[uuid.UUID, "_DeliveryState"]]) -> None:
    """Apply the new states: one statement on PostgreSQL, one per row elsewhere (SQLite, the
    embedded default, serialises writers anyway)."""
    if connection.vendor == "postgresql":
        rows = [
            (delivery.id, str(token), *(getattr(delivery, column) for column in _STATE_COLUMNS))
            for token, delivery in changes
        ]
        with connection.cursor() as cursor:
            execute_values(
                cursor, _UPDATE_STATES_SQL, rows, template=_UPDATE_STATES_TEMPLATE, page_size=1000
            )
        return
    for token, delivery in changes:
        values = {column: getattr(delivery, column) for column in _STATE_COLUMNS}
        if values["succeeded_at"] is None:
            del values["succeeded_at"]
        Delivery.objects.filter(id=delivery.id, claim_token=token).update(
            **values, claim_token=None, next_trigger=Delivery.Trigger.AUTOMATIC
        )


_ATTEMPT_COLUMNS = (
    "delivery_id",
    "webhook_id",
    "number",
    "trigger",
    "started_at",
    "duration_ms",
    "outcome",
    "request_url",
    "request_headers",
    "response_status",
    "response_headers",
    "response_body",
    "error_kind",
    "error_message",
    "redirect_hops",
)


def _attempt_row(report: AttemptReport, *, json_as_text: bool = False) -> tuple[object, ...]:
    """The attempt as values for _ATTEMPT_COLUMNS (a tuple: this runs for every attempt)."""
    result = report.result
    encode = json.dumps if json_as_text else _unchanged
    return (
        report.job.delivery_id,
        report.job.webhook_id,
        report.job.attempt_number,
        report.job.trigger,
        report.started_at,
        result.duration_ms,
        report.verdict.outcome.value,
        report.job.url,
        encode(redact_headers(report.request_headers)),
        result.status,
        encode(result.response_headers),
        result.response_body,
        result.error_kind.value if result.error_kind else "",
        result.error_message or "",
        encode([{"url": hop.url, "status": hop.status} for hop in result.hops]),
    )


def _unchanged(value: object) -> object:
    return value


@dataclass
class _DeliveryState:
    """A delivery's columns after an attempt (see _STATE_COLUMNS)."""

    id: int
    state: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime
    last_status_code: int | None
    last_error_kind: str
    last_duration_ms: float
    succeeded_at: datetime | None


def _next_delivery_state(report: AttemptReport, now: datetime) -> _DeliveryState:
    job, result, verdict = report.job, report.result, report.verdict
    delivery = _DeliveryState(
        id=job.delivery_id,
        state=Delivery.State.FAILED,
        attempt_count=job.attempt_number,
        succeeded_at=None,
        last_attempt_at=report.started_at,
        last_status_code=result.status,
        last_error_kind=result.error_kind.value if result.error_kind else "",
        last_duration_ms=result.duration_ms,
        next_attempt_at=None,
    )
    if verdict.outcome == AttemptOutcome.SUCCESS:
        delivery.state = Delivery.State.SUCCEEDED
        delivery.succeeded_at = now
    elif verdict.outcome == AttemptOutcome.GIVE_UP:
        delivery.state = Delivery.State.GAVE_UP
    elif verdict.outcome == AttemptOutcome.GONE:
        delivery.state = Delivery.State.PAUSED
    else:
        delay = verdict.retry_after_seconds
        if delay is None:
            delay = retry_delay(
                job.attempt_number,
                base_seconds=settings.WEBHOOK_BACKOFF_BASE_SECONDS,
                jitter=settings.WEBHOOK_BACKOFF_JITTER,
            )
        due_at = now + timedelta(seconds=delay)
        expires_at = job.event_created_at + timedelta(
            seconds=settings.WEBHOOK_EVENT_RETENTION_SECONDS
        )
        if due_at > expires_at:
            delivery.state = Delivery.State.EXPIRED
        else:
            delivery.state = Delivery.State.FAILED
            delivery.next_attempt_at = due_at
    return delivery
