"""Reading delivery history and health: filtered querysets and aggregates done in the database."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Max, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from events.selectors import clean_event_and_range
from webhooks.models import Webhook

# Status filter words: the stored states, plus the dashboard's colours.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    **{state: (state,) for state in Delivery.State.values},
    "success": (Delivery.State.SUCCEEDED,),
    "failure": (Delivery.State.FAILED, Delivery.State.GAVE_UP, Delivery.State.EXPIRED),
    "waiting": (Delivery.State.PENDING, Delivery.State.SENDING, Delivery.State.PAUSED),
}


@dataclass(frozen=True)
class HistoryFilter:
    status: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clean(self) -> "HistoryFilter":
        """Validated and canonical; raises ValidationError naming the bad field."""
        event, errors = clean_event_and_range(self.event, self.since, self.until)
        if self.status and self.status not in STATUS_GROUPS:
            errors["status"] = f"Unknown status; use one of: {', '.join(STATUS_GROUPS)}."
        if errors:
            raise ValidationError(errors)
        return HistoryFilter(self.status or None, event, self.since, self.until)


def delivery_history(
    *, webhook: Webhook, filters: HistoryFilter | None = None
) -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first, narrowed by `filters` (already cleaned)."""
    deliveries = Delivery.objects.filter(webhook=webhook)
    if filters is not None:
        if filters.status:
            deliveries = deliveries.filter(state__in=STATUS_GROUPS[filters.status])
        if filters.event:
            deliveries = deliveries.filter(event_key=filters.event)
        if filters.since:
            deliveries = deliveries.filter(created_at__gte=filters.since)
        if filters.until:
            deliveries = deliveries.filter(created_at__lte=filters.until)
    return deliveries.order_by("-created_at", "-id")


def deliveries_for_account(*, account_id: object) -> QuerySet[Delivery]:
    """The account's deliveries (through their subscriptions); none for account_id None."""
    return Delivery.objects.filter(webhook__account_id=account_id)


def delivery_for_account(*, account_id: object, delivery_id: object) -> Delivery:
    """The account's delivery `delivery_id` with its subscription and event loaded.

    Raises Delivery.DoesNotExist for another account's, a missing or a malformed id.
    """
    try:
        return (
            deliveries_for_account(account_id=account_id)
            .select_related("webhook", "event")
            .get(id=delivery_id)
        )
    except (ValueError, TypeError, ValidationError) as error:
        raise Delivery.DoesNotExist(str(error)) from error


_WINDOW = re.compile(r"^(\d{1,4})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest window metrics look back over: retention (7 days) is all there is.
MAX_WINDOW = timedelta(days=30)


def parse_window(text: str) -> timedelta:
    """`90s`, `15m`, `24h`, `7d` → timedelta; ValidationError on anything else."""
    match = _WINDOW.match(text.strip()) if text else None
    if not match or int(match.group(1)) == 0:
        raise ValidationError({"window": "Use a number and a unit: 15m, 24h, 7d."})
    window = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if window > MAX_WINDOW:
        raise ValidationError({"window": "At most 30d."})
    return window


def _bucket(window: timedelta) -> tuple[Any, timedelta]:
    if window <= timedelta(hours=2):
        return TruncMinute, timedelta(minutes=1)
    if window <= timedelta(days=3):
        return TruncHour, timedelta(hours=1)
    return TruncDay, timedelta(days=1)


def webhook_metrics(
    *, webhook: Webhook, window: timedelta, now: datetime | None = None
) -> dict[str, Any]:
    """Health of a subscription over `window`, aggregated in the database.

    Rates are over attempts; response times over attempts that got a response; retries per
    event over deliveries created in the window; volume counts successful and failed attempts
    per time bucket (minute, hour or day, by window size).
    """
    now = now or timezone.now()
    start = now - window
    attempts = Attempt.objects.filter(webhook=webhook, started_at__gte=start)
    totals = attempts.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(outcome="success")),
        average_ms=Avg("duration_ms", filter=Q(response_status__isnull=False)),
    )
    total = totals["total"]
    answered = attempts.filter(response_status__isnull=False)
    answered_count = answered.count()
    p95_ms = None
    if answered_count:
        rank = max(0, -(-answered_count * 95 // 100) - 1)  # nearest-rank percentile
        p95_ms = answered.order_by("duration_ms").values_list("duration_ms", flat=True)[rank]
    deliveries = Delivery.objects.filter(webhook=webhook, created_at__gte=start)
    delivery_totals = deliveries.filter(attempt_count__gt=0).aggregate(
        events=Count("id"), attempts=Avg("attempt_count")
    )
    retries_per_event = (
        round(delivery_totals["attempts"] - 1, 3) if delivery_totals["events"] else None
    )
    truncate, step = _bucket(window)
    volume_rows = (
        attempts.annotate(bucket=truncate("started_at"))
        .values("bucket")
        .annotate(
            succeeded=Count("id", filter=Q(outcome="success")),
            failed=Count("id", filter=~Q(outcome="success")),
        )
        .order_by("bucket")
    )
    volume = [
        {"start": row["bucket"], "succeeded": row["succeeded"], "failed": row["failed"]}
        for row in volume_rows
    ]
    return {
        "window_seconds": int(window.total_seconds()),
        "since": start,
        "until": now,
        "attempts": total,
        "succeeded": totals["succeeded"],
        "failed": total - totals["succeeded"],
        "success_rate": round(totals["succeeded"] / total, 4) if total else None,
        "error_rate": round((total - totals["succeeded"]) / total, 4) if total else None,
        # `is not None`: an average of exactly 0 ms is a measurement, not missing data.
        "average_response_ms": (
            round(totals["average_ms"], 2) if totals["average_ms"] is not None else None
        ),
        "p95_response_ms": round(p95_ms, 2) if p95_ms is not None else None,
        "retries_per_event": retries_per_event,
        "bucket_seconds": int(step.total_seconds()),
        "volume": volume,
    }


@dataclass(frozen=True)
class WebhookHealth:
    webhook: Webhook
    success_rate: float | None  # over the last day's attempts
    last_delivery_at: datetime | None


def webhooks_overview(*, account_id: object, now: datetime | None = None) -> list[WebhookHealth]:
    """Every subscription of the account with its last day's success rate and last attempt,
    in two aggregate queries whatever the number of subscriptions."""
    now = now or timezone.now()
    webhooks = list(Webhook.objects.filter(account_id=account_id).order_by("-created_at"))
    rates = {
        row["webhook_id"]: row
        for row in Attempt.objects.filter(
            webhook__account_id=account_id, started_at__gte=now - timedelta(days=1)
        )
        .values("webhook_id")
        .annotate(total=Count("id"), succeeded=Count("id", filter=Q(outcome="success")))
    }
    last = dict(
        Delivery.objects.filter(webhook__account_id=account_id, last_attempt_at__isnull=False)
        .values("webhook_id")
        .annotate(last=Max("last_attempt_at"))
        .values_list("webhook_id", "last")
    )
    overview = []
    for webhook in webhooks:
        row = rates.get(webhook.id)
        rate = round(row["succeeded"] / row["total"], 4) if row and row["total"] else None
        overview.append(WebhookHealth(webhook, rate, last.get(webhook.id)))
    return overview


def deliveries_due_count() -> int:
    """Deliveries waiting for an attempt that is due now (all accounts)."""
    return Delivery.objects.filter(
        state__in=(Delivery.State.PENDING, Delivery.State.FAILED),
        next_attempt_at__lte=timezone.now(),
    ).count()


def delivery_counts_by_state() -> dict[str, int]:
    """How many deliveries are in each state (all accounts; states with none are left out)."""
    return dict(
        Delivery.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )


# --- one webhook's events in Tillhub's terms (SPEC 8 `WebhookEventQuery`, /api/v0) -----------


@dataclass(frozen=True)
class WebhookEventFilter:
    """Which deliveries of one subscription a `WebhookEventQuery` selects (SPEC 8).

    Every given criterion narrows the result; the key criteria (`event_keys`, `entities`,
    `actions`, `version`) are matched against the catalog entry of each delivery's event key.
    """

    sent_successfully: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_keys: tuple[str, ...] = ()
    event_ids: tuple[object, ...] = ()  # UUIDs
    entities: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    version: int | None = None
    deleted: bool | None = None
    webhook_active: bool | None = None

    def clean(self) -> "WebhookEventFilter":
        """Validated and canonical (event keys and entities); ValidationError naming the field."""
        from dataclasses import replace

        from events.catalog import EVENT_TYPES, UnknownEventKey, canonical_event_key

        errors: dict[str, list[str]] = {}
        keys: list[str] = []
        for raw in self.event_keys:
            try:
                keys.append(canonical_event_key(raw))
            except UnknownEventKey as error:
                errors.setdefault("event", []).append(str(error))
        known_entities = {
            name: key.split(".", 1)[0]
            for key, entry in EVENT_TYPES.items()
            for name in (key.split(".", 1)[0], entry.entity)
        }
        entities: list[str] = []
        for raw in self.entities:
            entity = known_entities.get(raw.strip().lower())
            if entity is None:
                errors.setdefault("entity", []).append(
                    f"Unknown entity {raw!r}; use one of: {', '.join(sorted(known_entities))}."
                )
            else:
                entities.append(entity)
        known_actions = sorted({entry.action for entry in EVENT_TYPES.values()})
        for action in self.actions:
            if action not in known_actions:
                errors.setdefault("eventType", []).append(
                    f"Unknown event type {action!r}; use one of: {', '.join(known_actions)}."
                )
        if self.since and self.until and self.since > self.until:
            errors.setdefault("end", []).append("Must not be before start.")
        if errors:
            raise ValidationError(errors)
        return replace(self, event_keys=tuple(keys), entities=tuple(entities))

    def allowed_keys(self) -> set[str] | None:
        """The catalog keys the key criteria leave, or None when none was given."""
        from events.catalog import EVENT_TYPES

        if not (self.event_keys or self.entities or self.actions or self.version is not None):
            return None
        return {
            key
            for key, entry in EVENT_TYPES.items()
            if (not self.event_keys or key in self.event_keys)
            and (not self.entities or key.split(".", 1)[0] in self.entities)
            and (not self.actions or entry.action in self.actions)
            and (self.version is None or entry.version == self.version)
        }


def webhook_events(
    *, webhook: Webhook, filters: WebhookEventFilter, with_attempts: bool = False
) -> QuerySet[Delivery]:
    """The subscription's deliveries selected by `filters` (already cleaned), newest first,
    with their event loaded (and their attempts, oldest first, when `with_attempts`)."""
    from django.db.models import Prefetch

    deliveries = delivery_history(webhook=webhook).select_related("event", "webhook")
    if filters.deleted or (
        filters.webhook_active is not None and filters.webhook_active != webhook.active
    ):
        # Nothing is ever soft-deleted, and the subscription is either active or not.
        return deliveries.none()
    keys = filters.allowed_keys()
    if keys is not None:
        deliveries = deliveries.filter(event_key__in=keys)
    if filters.event_ids:
        deliveries = deliveries.filter(event_id__in=filters.event_ids)
    if filters.since:
        deliveries = deliveries.filter(created_at__gte=filters.since)
    if filters.until:
        deliveries = deliveries.filter(created_at__lte=filters.until)
    if filters.sent_successfully is True:
        deliveries = deliveries.filter(succeeded_at__isnull=False)
    elif filters.sent_successfully is False:
        deliveries = deliveries.filter(succeeded_at__isnull=True, attempt_count__gt=0)
    if with_attempts:
        deliveries = deliveries.prefetch_related(
            Prefetch("attempts", queryset=Attempt.objects.order_by("started_at", "id"))
        )
    return deliveries


def delivery_sent_successfully(delivery: Delivery) -> bool | None:
    """SPEC 3 `sent_successfully`: true once a 2xx came back, false after an error, None
    before any attempt."""
    if delivery.succeeded_at is not None:
        return True
    return False if delivery.attempt_count else None


def delivery_last_response_type(delivery: Delivery) -> str | None:
    """SPEC 3 `last_response_type`: "success" or "error" for the latest attempt, None before
    any attempt."""
    if not delivery.attempt_count:
        return None
    return "error" if delivery.last_error_kind else "success"
