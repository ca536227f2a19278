import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from deliveries.engine.limits import Limits
from deliveries.engine.request import basic_authorization
from deliveries.engine.signing import SignatureScheme
from deliveries.models import Delivery
from deliveries.services.circuit import CircuitWatch, circuit_take_probe
from deliveries.storage import CLAIM_COLUMNS, Deferral, delivery_storage
from events.envelope import envelope_for_webhook, render_event_after_webhook_id
from events.models import Event
from webhooks.models import Webhook


@dataclass(frozen=True)
class DeliveryJob:
    """Everything a worker needs to make one attempt, loaded while the claim is fresh."""

    delivery_id: int
    claim_token: uuid.UUID
    attempt_number: int
    trigger: str
    webhook_id: uuid.UUID
    url: str
    body: bytes
    signing_secrets: tuple[str, ...]
    authorization: str | None
    connect_timeout_seconds: float
    total_timeout_seconds: float
    event_created_at: datetime
    limits: Limits
    # The event's id: the body's event_id, and the Standard Webhooks scheme's webhook-id.
    event_id: str = ""
    signature_scheme: str = SignatureScheme.TILLHUB
    # The subscription's own headers (SPEC 4), and their lowercase names: dropped on a
    # redirect that leaves the origin, and redacted where attempts are stored.
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_header_names: frozenset[str] = frozenset()
    # The subscription orders by entity: this delivery's success may release the next one
    # of its entity, so the worker claims again at once rather than at its idle interval.
    ordered: bool = False


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.WEBHOOK_EVENT_RETENTION_SECONDS)


def deliveries_claim_due(
    *,
    limit: int,
    now: datetime | None = None,
    exclude_webhook_ids: Collection[uuid.UUID] = (),
    circuits: CircuitWatch | None = None,
) -> list[DeliveryJob]:
    """Claim up to `limit` due deliveries for this worker and return what it needs to send them.

    Due means pending/failed with next_attempt_at reached, or sending with its lease run out
    (a worker died holding it). Claimed rows become `sending` under a new claim token with a
    lease of WEBHOOK_CLAIM_LEASE_SECONDS. Concurrent claimers skip each other's locked rows
    (PostgreSQL SKIP LOCKED); SQLite serialises claims instead. Automatic deliveries of events
    past retention are marked `expired` rather than returned. Deliveries to the subscriptions
    in `exclude_webhook_ids` (this worker knows they are at their in-flight cap) are left.

    With `circuits` (the worker's view of its circuit breakers), the automatic deliveries of
    subscriptions whose circuit is open or half-open are left too, except each due probe
    (see services.circuit), which this worker takes if it wins it. A delivery of a
    subscription with `ordering: "entity"` waits while an earlier one of its entity is
    unfinished.
    """
    now = now or timezone.now()
    lease_ends_at = now + timedelta(seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS)
    token = uuid.uuid4()
    rows: list[dict[str, Any]] = []
    blocked: Collection[uuid.UUID] = ()
    if circuits is not None:
        circuits.refresh_if_stale()
        for webhook_id in circuits.probes_due(now):
            if len(rows) < limit:
                rows += circuit_take_probe(
                    webhook_id=webhook_id, now=now, lease_ends_at=lease_ends_at, token=token
                )
        blocked = circuits.blocked()
    if len(rows) < limit:
        rows += delivery_storage().claim_due(
            limit=limit - len(rows),
            now=now,
            lease_ends_at=lease_ends_at,
            token=token,
            exclude_webhook_ids=exclude_webhook_ids,
            open_circuit_webhook_ids=blocked,
        )
    return _jobs_from_rows(rows, token, now)


def deliveries_load_jobs(ids: list[int], token: uuid.UUID, now: datetime) -> list[DeliveryJob]:
    """The jobs of deliveries already claimed under `token` (the task-per-delivery baseline
    claims one row its own way)."""
    return _jobs_from_rows(_claimed_rows(ids, token), token, now)


def _claimed_rows(ids: list[int], token: uuid.UUID) -> list[dict[str, Any]]:
    return list(Delivery.objects.filter(id__in=ids, claim_token=token).values(*CLAIM_COLUMNS))


def _jobs_from_rows(
    rows: list[dict[str, Any]], token: uuid.UUID, now: datetime
) -> list[DeliveryJob]:
    if not rows:
        return []
    rows.sort(key=lambda row: row["id"])
    cutoff = retention_cutoff(now)
    expired = {
        row["id"]
        for row in rows
        if row["event_created_at"] < cutoff and row["next_trigger"] == Delivery.Trigger.AUTOMATIC
    }
    if expired:
        Delivery.objects.filter(id__in=expired, claim_token=token).update(
            state=Delivery.State.EXPIRED, next_attempt_at=None, claim_token=None
        )
        rows = [row for row in rows if row["id"] not in expired]
    # Each webhook and event is loaded (and its secrets decrypted, its envelope rendered) once
    # per claim, however many of the claimed deliveries share it.
    webhooks = Webhook.objects.in_bulk({row["webhook_id"] for row in rows})
    events = Event.objects.filter(id__in={row["event_id"] for row in rows}).values_list(
        "id", "key", "entity", "entity_instance_id", "payload_json", "created_at", named=True
    )
    after_webhook_id = {event.id: render_event_after_webhook_id(event) for event in events}
    endpoints = {webhook_id: _endpoint(webhook, now) for webhook_id, webhook in webhooks.items()}
    jobs = []
    for row in rows:
        endpoint = endpoints[row["webhook_id"]]
        jobs.append(
            DeliveryJob(
                delivery_id=row["id"],
                claim_token=token,
                attempt_number=row["attempt_count"] + 1,
                trigger=row["next_trigger"],
                webhook_id=row["webhook_id"],
                url=endpoint.url,
                body=envelope_for_webhook(endpoint.webhook_id, after_webhook_id[row["event_id"]]),
                signing_secrets=endpoint.signing_secrets,
                authorization=endpoint.authorization,
                connect_timeout_seconds=endpoint.connect_timeout_seconds,
                total_timeout_seconds=endpoint.total_timeout_seconds,
                event_created_at=row["event_created_at"],
                limits=endpoint.limits,
                event_id=str(row["event_id"]),
                signature_scheme=endpoint.signature_scheme,
                extra_headers=endpoint.extra_headers,
                extra_header_names=endpoint.extra_header_names,
                ordered=endpoint.ordered,
            )
        )
    return jobs


@dataclass(frozen=True)
class _Endpoint:
    webhook_id: str
    url: str
    signing_secrets: tuple[str, ...]
    authorization: str | None
    connect_timeout_seconds: float
    total_timeout_seconds: float
    limits: Limits
    signature_scheme: str
    extra_headers: Mapping[str, str]
    extra_header_names: frozenset[str]
    ordered: bool


def _endpoint(webhook: Webhook, now: datetime) -> _Endpoint:
    return _Endpoint(
        webhook_id=str(webhook.id),
        url=webhook.url,
        signing_secrets=tuple(webhook.signing_secrets(now)),
        authorization=basic_authorization(webhook.username, webhook.password),
        connect_timeout_seconds=webhook.connect_timeout_ms / 1000,
        total_timeout_seconds=webhook.request_timeout_ms / 1000,
        limits=Limits(
            rate_per_second=webhook.rate_per_second,
            burst=webhook.burst,
            max_in_flight=webhook.max_in_flight,
        ),
        signature_scheme=webhook.signature_scheme,
        extra_headers=webhook.headers,
        extra_header_names=frozenset(name.lower() for name in webhook.headers),
        ordered=webhook.ordering == Webhook.Ordering.ENTITY,
    )


def deliveries_defer(*, deferrals: list[tuple[DeliveryJob, datetime]]) -> None:
    """Put claimed deliveries that their subscription's limits held back to wait until the
    given times. Not an attempt: nothing is counted, the state goes back to `pending`. A
    delivery whose claim was taken over meanwhile is left alone."""
    delivery_storage().defer(
        [Deferral(job.delivery_id, job.claim_token, due_at) for job, due_at in deferrals]
    )
