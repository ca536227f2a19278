"""Reading delivery history and health: filtered querysets and aggregates done in the database."""

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone

from deliveries.engine.numbers import NumberRefused, is_ascii_digits, parse_int
from deliveries.models import Attempt, Delivery
from deliveries.storage import LatestAttemptTotals, delivery_storage
from events.catalog import EVENT_TYPES, UnknownEventKey, canonical_event_key
from events.models import Event
from events.selectors import clean_event_and_range
from webhooks.models import Webhook
from webhooks.selectors import webhooks_for_account

# Status filter words: the stored states, plus the dashboard's colours.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    **{state: (state,) for state in Delivery.State.values},
    "success": (Delivery.State.SUCCEEDED,),
    "failure": (Delivery.State.FAILED, Delivery.State.GAVE_UP, Delivery.State.EXPIRED),
    "waiting": (Delivery.State.PENDING, Delivery.State.SENDING, Delivery.State.PAUSED),
}


# A delivery whose latest attempt succeeded: a 2xx final response and no error recorded.
LAST_ATTEMPT_SUCCEEDED = Q(last_status_code__gte=200, last_status_code__lt=300, last_error_kind="")


@dataclass(frozen=True)
class HistoryFilter:
    status: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clean(self) -> "HistoryFilter":
        """Validated and canonical; raises ValidationError naming the bad field."""
        event, errors = _clean_history_fields(self.status, self.event, self.since, self.until)
        if errors:
            raise ValidationError(errors)
        return HistoryFilter(self.status or None, event, self.since, self.until)


def _clean_history_fields(
    status: str | None, event: str | None, since: datetime | None, until: datetime | None
) -> tuple[str | None, dict[str, str]]:
    """The canonical event key and a message per bad field of the filters the history and the
    account-wide search share."""
    event, errors = clean_event_and_range(event, since, until)
    if status and status not in STATUS_GROUPS:
        errors["status"] = f"Unknown status; use one of: {', '.join(STATUS_GROUPS)}."
    return event, errors


def _narrowed(
    deliveries: QuerySet[Delivery],
    *,
    status: str | None,
    event: str | None,
    since: datetime | None,
    until: datetime | None,
) -> QuerySet[Delivery]:
    """`deliveries` narrowed by the (cleaned) filters the history and the search share."""
    if status:
        deliveries = deliveries.filter(state__in=STATUS_GROUPS[status])
    if event:
        deliveries = deliveries.filter(event_key=event)
    if since:
        deliveries = deliveries.filter(created_at__gte=since)
    if until:
        deliveries = deliveries.filter(created_at__lte=until)
    return deliveries


def delivery_history(
    *, webhook: Webhook, filters: HistoryFilter | None = None
) -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first, narrowed by `filters` (already cleaned)."""
    deliveries = Delivery.objects.filter(webhook=webhook)
    if filters is not None:
        deliveries = _narrowed(
            deliveries,
            status=filters.status,
            event=filters.event,
            since=filters.since,
            until=filters.until,
        )
    return deliveries.order_by("-created_at", "-id")


def deliveries_for_account(*, account_id: object) -> QuerySet[Delivery]:
    """The account's deliveries (through their subscriptions); none for account_id None."""
    return Delivery.objects.filter(webhook__account_id=account_id)


# `status_code` filter of the account-wide search: a class (`4xx`) or an exact code (`503`).
_STATUS_CODE = re.compile(r"^([1-5])(xx|[0-9]{2})$")
# Delivery ids are positive 64-bit integers (BigAutoField).
_MAX_DELIVERY_ID = 2**63 - 1


@dataclass(frozen=True)
class DeliverySearch:
    """The account-wide delivery search (SPEC 5 `GET /deliveries/`): the history filters plus
    the subscription, the last response's status code and `q`, a delivery id, an event id or
    an entity instance id."""

    webhook_id: uuid.UUID | None = None
    status: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status_code: str | None = None
    q: str | None = None

    def clean(self) -> "DeliverySearch":
        """Validated and canonical; raises ValidationError naming the bad field."""
        event, errors = _clean_history_fields(self.status, self.event, self.since, self.until)
        status_code = (self.status_code or "").strip().lower()
        if status_code and not _STATUS_CODE.match(status_code):
            errors["status_code"] = "Use a class such as 4xx or a code such as 503."
        q = (self.q or "").strip()
        if q and _search_term(q) is None:
            errors["q"] = "Enter a delivery id (digits), an event id or an entity instance id."
        if errors:
            raise ValidationError(errors)
        return DeliverySearch(
            self.webhook_id,
            self.status or None,
            event,
            self.since,
            self.until,
            status_code or None,
            q or None,
        )

    @property
    def narrowed(self) -> bool:
        return any(
            (
                self.webhook_id,
                self.status,
                self.event,
                self.since,
                self.until,
                self.status_code,
                self.q,
            )
        )


def _search_term(q: str) -> int | uuid.UUID | None:
    """`q` as a delivery id (ASCII digits) or a UUID; None when it is neither."""
    if is_ascii_digits(q):
        try:
            return parse_int(q, low=1, high=_MAX_DELIVERY_ID)
        except NumberRefused:
            return None
    try:
        return uuid.UUID(q)
    except ValueError:
        return None


def delivery_search(*, account_id: object, search: DeliverySearch) -> QuerySet[Delivery]:
    """Every delivery of the account matching `search` (already cleaned), newest first.

    Read along delivery_created_idx (newest first) or, for one subscription, its history
    indexes; `q` narrows to a handful of rows through the primary key or the event.
    """
    webhook_ids = webhooks_for_account(account_id=account_id).values("id")
    if search.webhook_id:
        webhook_ids = webhook_ids.filter(id=search.webhook_id)
    deliveries = _narrowed(
        Delivery.objects.filter(webhook_id__in=webhook_ids),
        status=search.status,
        event=search.event,
        since=search.since,
        until=search.until,
    )
    if search.status_code:
        match = _STATUS_CODE.match(search.status_code)
        assert match is not None  # cleaned
        if match.group(2) == "xx":
            low = int(match.group(1)) * 100
            deliveries = deliveries.filter(last_status_code__range=(low, low + 99))
        else:
            deliveries = deliveries.filter(last_status_code=int(search.status_code))
    if search.q:
        term = _search_term(search.q)
        if isinstance(term, int):
            deliveries = deliveries.filter(id=term)
        else:
            event_ids = Event.objects.filter(account_id=account_id).filter(
                Q(id=term) | Q(entity_instance_id=term)
            )
            deliveries = deliveries.filter(event_id__in=event_ids.values("id"))
    return deliveries.order_by("-created_at", "-id")


def bounded_count(queryset: QuerySet[Any], *, limit: int) -> int:
    """How many rows `queryset` has, counting no further than `limit` (so a page of a
    million-row history costs a bounded index scan, not a full count)."""
    return queryset.order_by()[:limit].count()


def account_events(*, account_id: object, event: str | None = None) -> QuerySet[Event]:
    """The account's published events, newest first, of one key when `event` (canonical) is
    given; no delivery count here, so a page reads only its own rows (see
    events_with_deliveries)."""
    events = Event.objects.filter(account_id=account_id)
    if event:
        events = events.filter(key=event)
    return events.order_by("-created_at", "-id")


def events_with_deliveries(*, events: list[Event]) -> dict[uuid.UUID, list[Delivery]]:
    """The deliveries of each of `events` (a page of them), oldest first, in one query."""
    by_event: dict[uuid.UUID, list[Delivery]] = {event.id: [] for event in events}
    rows = Delivery.objects.filter(event_id__in=list(by_event)).order_by("created_at", "id")
    for delivery in rows.select_related("webhook"):
        by_event[delivery.event_id].append(delivery)
    return by_event


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


# `[0-9]`, not `\d`: `\d` also matches Unicode digits such as `٢٤` (SPEC 5: ASCII only).
_WINDOW = re.compile(r"^([0-9]{1,4})([smhd])$")
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


def _nearest_rank_percentile(values: QuerySet[Any], count: int, percent: int) -> float | None:
    """The nearest-rank `percent`-th percentile of the single-column queryset `values`
    (`count` rows), read as one row at its rank; None for no rows."""
    if not count:
        return None
    rank = max(0, -(-count * percent // 100) - 1)
    return values.order_by("duration_ms").values_list("duration_ms", flat=True)[rank]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def webhook_metrics(
    *, webhook: Webhook, window: timedelta, now: datetime | None = None
) -> dict[str, Any]:
    """Health of a subscription over `window` by the seed's definitions (SPEC 3), aggregated
    in the database.

    Deliveries attempted in the window (any attempt started in it) are the base of the rates:
    success rate = those whose latest attempt succeeded / all of them; error rate = those whose
    latest attempt errored / the same. Response times are over successful attempts only;
    retries per event is the mean of attempts - 1 over the same deliveries; failure patterns
    count the window's error attempts by error kind and by HTTP status. Attempt-level rates
    (what auto-deactivation judges) come beside them, and the volume counts successful and
    failed attempts per time bucket (minute, hour or day, by window size).
    """
    now = now or timezone.now()
    start = now - window
    attempts = Attempt.objects.filter(webhook=webhook, started_at__gte=start)
    truncate, step = _bucket(window)
    # One pass over the window's attempts, grouped finely enough (bucket, outcome, error kind,
    # status: a few hundred groups at most) that every attempt-level figure is summed here.
    groups = (
        attempts.annotate(bucket=truncate("started_at"))
        .values("bucket", "outcome", "error_kind", "response_status")
        .annotate(count=Count("id"), duration=Sum("duration_ms"))
        .order_by()
    )
    attempt_total = attempt_succeeded = 0
    success_duration = 0.0
    volume_by_bucket: dict[datetime, dict[str, Any]] = {}
    failures_by_kind: dict[str, int] = {}
    failures_by_status: dict[str, int] = {}
    for group in groups:
        count = group["count"]
        bucket = volume_by_bucket.setdefault(
            group["bucket"], {"start": group["bucket"], "succeeded": 0, "failed": 0}
        )
        attempt_total += count
        if group["outcome"] == "success":
            attempt_succeeded += count
            success_duration += group["duration"]
            bucket["succeeded"] += count
            continue
        bucket["failed"] += count
        kind = group["error_kind"]
        failures_by_kind[kind] = failures_by_kind.get(kind, 0) + count
        if group["response_status"] is not None:
            status = str(group["response_status"])
            failures_by_status[status] = failures_by_status.get(status, 0) + count
    average_ms = success_duration / attempt_succeeded if attempt_succeeded else None
    p95_ms = _nearest_rank_percentile(attempts.filter(outcome="success"), attempt_succeeded, 95)
    latest = delivery_storage().latest_attempt_totals(webhook_ids=[webhook.id], since=start)
    delivery_totals = latest.get(webhook.id, LatestAttemptTotals(0, 0, 0.0))
    delivery_total = delivery_totals.deliveries
    delivery_succeeded = delivery_totals.succeeded
    volume = [volume_by_bucket[key] for key in sorted(volume_by_bucket)]
    return {
        "window_seconds": int(window.total_seconds()),
        "since": start,
        "until": now,
        "deliveries": delivery_total,
        "deliveries_succeeded": delivery_succeeded,
        "deliveries_failed": delivery_total - delivery_succeeded,
        "success_rate": _rate(delivery_succeeded, delivery_total),
        "error_rate": _rate(delivery_total - delivery_succeeded, delivery_total),
        # `is not None`: an average of exactly 0 ms is a measurement, not missing data.
        "average_response_ms": round(average_ms, 2) if average_ms is not None else None,
        "p95_response_ms": round(p95_ms, 2) if p95_ms is not None else None,
        "retries_per_event": (round(delivery_totals.mean_retries, 3) if delivery_total else None),
        "attempts": attempt_total,
        "succeeded": attempt_succeeded,
        "failed": attempt_total - attempt_succeeded,
        "attempt_success_rate": _rate(attempt_succeeded, attempt_total),
        "attempt_error_rate": _rate(attempt_total - attempt_succeeded, attempt_total),
        "failures_by_kind": dict(sorted(failures_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))),
        "failures_by_status": dict(sorted(failures_by_status.items())),
        "bucket_seconds": int(step.total_seconds()),
        "volume": volume,
    }


@dataclass(frozen=True)
class WebhookHealth:
    webhook: Webhook
    success_rate: float | None  # over the deliveries attempted in the last day (SPEC 3)
    last_delivery_at: datetime | None


def webhooks_overview(*, account_id: object, now: datetime | None = None) -> list[WebhookHealth]:
    """Every subscription of the account with its last day's success rate (deliveries whose
    latest attempt succeeded / deliveries attempted) and last attempt, in two queries
    whatever the number of subscriptions."""
    now = now or timezone.now()
    # The last attempt per subscription read from the end of attempt_webhook_time_idx: one
    # index probe each, however long the history.
    last_attempt = (
        Attempt.objects.filter(webhook=OuterRef("id"))
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    webhooks = list(
        webhooks_for_account(account_id=account_id)
        .select_related("circuit")  # the health column (circuit breaker), in the same query
        .annotate(last_attempt_at=Subquery(last_attempt))
        .order_by("-created_at")
    )
    latest = delivery_storage().latest_attempt_totals(
        webhook_ids=[webhook.id for webhook in webhooks], since=now - timedelta(days=1)
    )
    overview = []
    for webhook in webhooks:
        totals = latest.get(webhook.id)
        rate = _rate(totals.succeeded, totals.deliveries) if totals else None
        overview.append(WebhookHealth(webhook, rate, webhook.last_attempt_at))
    return overview


def deliveries_due_count() -> int:
    """Deliveries waiting for an attempt that is due now (all accounts)."""
    return Delivery.objects.filter(
        state__in=(Delivery.State.PENDING, Delivery.State.FAILED),
        next_attempt_at__lte=timezone.now(),
    ).count()


# Most due deliveries counted by the metrics scrape: beyond this the count reads the cap (the
# age of the oldest due delivery says how far behind delivery is). 10,000 entries of the due
# index read in a few milliseconds, so a scrape costs the same at any backlog or table size.
DUE_COUNT_CAP = 10_000


def deliveries_due_bounded_count(*, now: datetime, cap: int = DUE_COUNT_CAP) -> int:
    """Deliveries due for an attempt at `now`, counted up to `cap` (all accounts).

    Due as the claim sees it: pending or failed with their time reached, or `sending` with
    the lease run out (the worker holding it died). The filter is delivery_due_idx's own
    condition, so this reads that index only, and at most `cap` entries of it.
    """
    due = Delivery.objects.filter(
        state__in=(Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.SENDING),
        next_attempt_at__lte=now,
    )
    return due.order_by().values("id")[:cap].count()


def delivery_oldest_due_at(*, now: datetime) -> datetime | None:
    """When the delivery that has waited longest since it became due became due; None when
    nothing is due. The first entry of delivery_due_idx (one index row read)."""
    return (
        Delivery.objects.filter(
            state__in=(Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.SENDING),
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def subscription_counts_by_health() -> dict[tuple[str, bool], int]:
    """How many subscriptions there are per (circuit state, active), all accounts; one
    grouped scan of the (small) subscriptions table. No circuit row means healthy."""
    rows = (
        Webhook.objects.order_by().values_list("circuit__state", "active").annotate(n=Count("id"))
    )
    counts: dict[tuple[str, bool], int] = {}
    for state, active, n in rows:
        key = (state or "healthy", active)
        counts[key] = counts.get(key, 0) + n
    return counts


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
