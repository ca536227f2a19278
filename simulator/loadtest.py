"""Load testing an integration: publish a mix of realistic events at a chosen rate to one
subscription for a while, then report what the endpoint did with them.

Events go through the real platform (database, broker, workers), so the report measures the
whole path a receiver sees in production: publish → worker → HTTP → 2xx.
"""

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, close_old_connections
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Account
from deliveries.models import Attempt, Delivery
from deliveries.services.publishing import events_publish_batch
from events.catalog import EVENT_TYPES, canonical_event_key
from events.models import Event
from events.payloads import PayloadGenerator
from webhooks.models import Webhook
from webhooks.services import webhook_create

# Seconds between publishing rounds: small enough for an even rate, large enough that each
# round is one bulk insert rather than many single ones.
PUBLISH_TICK_SECONDS = 0.05
# Seconds between progress reports (each one is a count query).
PROGRESS_INTERVAL_SECONDS = 0.5
# While the database is unreachable (restarting), seconds between tries, and how long the load
# test keeps trying before it gives up: a restart takes seconds, an outage of minutes is not
# something to measure through.
DATABASE_RETRY_SECONDS = 0.5
DATABASE_OUTAGE_LIMIT_SECONDS = 120.0
LOAD_TEST_ACCOUNT = "Load tests"
SETTLED_STATES = (
    Delivery.State.SUCCEEDED,
    Delivery.State.GAVE_UP,
    Delivery.State.EXPIRED,
    Delivery.State.PAUSED,
)

T = TypeVar("T")


@dataclass(frozen=True)
class LoadTestPlan:
    webhook: Webhook
    keys: list[str]
    rate: float  # events per second
    duration: float  # seconds of publishing
    drain_seconds: float = 30.0  # how long to wait for outstanding deliveries afterwards
    seed: int | None = None


@dataclass
class LoadTestProgress:
    elapsed: float
    published: int
    planned: int
    succeeded: int
    failed_attempts: int
    waiting: int  # deliveries not settled yet
    publishing: bool


@dataclass
class LoadTestReport:
    webhook_id: str
    url: str
    events_published: int
    publish_seconds: float
    publish_rate: float
    deliveries: int
    succeeded: int
    not_succeeded: dict[str, int]
    attempts: int
    retries: int
    failed_attempts: int
    failures_by_kind: dict[str, int]
    error_rate: float
    throughput_per_second: float
    latency_ms: dict[str, float | None]
    drained: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_keys(raw: str | None, *, webhook: Webhook | None = None) -> list[str]:
    """The event keys to publish: a comma-separated list (aliases allowed); without one, the
    types `webhook` subscribes to (so its history never contradicts its configuration), or
    every type of the catalog when there is no webhook yet. Raises UnknownEventKey."""
    if raw:
        return [canonical_event_key(part) for part in raw.split(",") if part.strip()]
    if webhook is not None and webhook.events:
        return [canonical_event_key(key) for key in webhook.events]
    return list(EVENT_TYPES)


def webhook_for_url(
    *, url: str, keys: list[str], username: str = "", password: str = ""
) -> Webhook:
    """A subscription of the load-test account for `url`, created on first use.

    Raises ValidationError when the URL breaks the target rules.
    """
    account, _ = Account.objects.get_or_create(name=LOAD_TEST_ACCOUNT)
    webhook = Webhook.objects.filter(account=account, url=url).first()
    if webhook is None:
        return webhook_create(
            account=account,
            url=url,
            events=keys,
            description="Created by manage.py loadtest",
            username=username,
            password=password,
        )
    return webhook


class LoadTest:
    def __init__(
        self, plan: LoadTestPlan, on_progress: Callable[[LoadTestProgress], None] | None = None
    ) -> None:
        self.plan = plan
        self.on_progress = on_progress or (lambda progress: None)
        self.generator = PayloadGenerator(plan.seed)
        self.planned = max(1, math.ceil(plan.rate * plan.duration))
        self.published = 0
        self.started_at: datetime | None = None
        self.database_errors = 0  # queries that failed on a lost connection and were run again

    def _run_deliveries(self) -> Any:
        assert self.started_at is not None
        return Delivery.objects.filter(
            webhook=self.plan.webhook,
            event_created_at__gte=self.started_at - timedelta(milliseconds=1),
            event__source=Event.Source.LOADTEST,
        )

    def _progress(self, clock_start: float, publishing: bool) -> LoadTestProgress:
        counts = self._run_deliveries().aggregate(
            succeeded=Count("id", filter=Q(state=Delivery.State.SUCCEEDED)),
            waiting=Count("id", filter=~Q(state__in=SETTLED_STATES)),
        )
        failed_attempts = (
            Attempt.objects.filter(delivery__in=self._run_deliveries())
            .exclude(outcome="success")
            .count()
        )
        progress = LoadTestProgress(
            elapsed=time.monotonic() - clock_start,
            published=self.published,
            planned=self.planned,
            succeeded=counts["succeeded"],
            failed_attempts=failed_attempts,
            waiting=counts["waiting"],
            publishing=publishing,
        )
        self.on_progress(progress)
        return progress

    def _in_database(self, step: Callable[[], T]) -> T:
        """Run `step`; when the database connection is lost (a restart), reconnect and run it
        again every DATABASE_RETRY_SECONDS. Raises the database error once it has been away
        for DATABASE_OUTAGE_LIMIT_SECONDS."""
        away_since: float | None = None
        while True:
            try:
                return step()
            except (OperationalError, InterfaceError):
                # Drops the broken connection; the next query opens a new one.
                close_old_connections()
                now = time.monotonic()
                away_since = away_since or now
                if now - away_since > DATABASE_OUTAGE_LIMIT_SECONDS:
                    raise
                self.database_errors += 1
                time.sleep(DATABASE_RETRY_SECONDS)

    def run(self) -> LoadTestReport:
        plan = self.plan
        account = plan.webhook.account
        self.started_at = timezone.now()
        clock_start = time.monotonic()
        next_progress = clock_start
        while self.published < self.planned:
            elapsed = time.monotonic() - clock_start
            due = min(self.planned, math.floor(plan.rate * elapsed) + 1)
            if due > self.published:
                items = [
                    (key, self.generator.payload(key))
                    for key in (
                        plan.keys[(self.published + index) % len(plan.keys)]
                        for index in range(due - self.published)
                    )
                ]
                self._in_database(
                    partial(
                        events_publish_batch,
                        account=account,
                        items=items,
                        source=Event.Source.LOADTEST,
                        only_webhook=plan.webhook,
                    )
                )
                self.published = due
            if time.monotonic() >= next_progress:
                self._in_database(lambda: self._progress(clock_start, publishing=True))
                next_progress = time.monotonic() + PROGRESS_INTERVAL_SECONDS
            time.sleep(max(0.0, PUBLISH_TICK_SECONDS - (time.monotonic() - clock_start - elapsed)))
        publish_seconds = time.monotonic() - clock_start
        drain_deadline = time.monotonic() + plan.drain_seconds
        drained = False
        while time.monotonic() < drain_deadline:
            progress = self._in_database(lambda: self._progress(clock_start, publishing=False))
            if progress.waiting == 0:
                drained = True
                break
            time.sleep(PROGRESS_INTERVAL_SECONDS)
        return self._in_database(lambda: self._report(publish_seconds, drained))

    def _report(self, publish_seconds: float, drained: bool) -> LoadTestReport:
        deliveries = self._run_deliveries()
        states = Counter(dict(deliveries.values_list("state").annotate(n=Count("id"))))
        attempts = Attempt.objects.filter(delivery__in=deliveries)
        # Every attempt count comes from this one grouped query, a single snapshot: workers
        # still record while the report is read (a run that did not drain), and a total and
        # its failures counted by separate queries once gave an error rate of 110 %.
        attempt_count = 0
        failures = Counter[str]()
        for outcome, error_kind, status, n in (
            attempts.values_list("outcome", "error_kind", "response_status")
            .annotate(n=Count("id"))
            .order_by()
        ):
            attempt_count += n
            if outcome != "success":
                failures[failure_kind(error_kind, status)] += n
        failed_attempts = sum(failures.values())
        successes = list(
            attempts.filter(outcome="success").values_list(
                "started_at", "duration_ms", "delivery__event_created_at"
            )
        )
        latencies = sorted(
            (started - published).total_seconds() * 1000 + duration
            for started, duration, published in successes
        )
        first_publish = self.started_at
        last_success = max(
            (started + timedelta(milliseconds=duration) for started, duration, _ in successes),
            default=None,
        )
        span = (last_success - first_publish).total_seconds() if last_success else 0
        succeeded = states.get(Delivery.State.SUCCEEDED, 0)
        attempted = deliveries.filter(attempt_count__gt=0).count()
        return LoadTestReport(
            webhook_id=str(self.plan.webhook.id),
            url=self.plan.webhook.url,
            events_published=self.published,
            publish_seconds=round(publish_seconds, 3),
            publish_rate=round(self.published / publish_seconds, 1) if publish_seconds else 0,
            deliveries=sum(states.values()),
            succeeded=succeeded,
            not_succeeded={state: count for state, count in states.items() if state != "succeeded"},
            attempts=attempt_count,
            retries=max(0, attempt_count - attempted),
            failed_attempts=failed_attempts,
            failures_by_kind=dict(failures),
            error_rate=round(failed_attempts / attempt_count, 4) if attempt_count else 0.0,
            throughput_per_second=round(succeeded / span, 1) if span > 0 else 0.0,
            latency_ms={
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "p99": percentile(latencies, 99),
                "max": round(latencies[-1], 1) if latencies else None,
            },
            drained=drained,
            extra={"database_errors": self.database_errors},
        )


def failure_kind(error_kind: str, status: int | None) -> str:
    """A failed attempt's kind for the report: the status class, or what went wrong."""
    if error_kind == "http_status" and status is not None:
        return f"{status // 100}xx"
    if error_kind in ("timeout", "connect_timeout"):
        return "timeout"
    if error_kind in ("connection_refused", "connection_reset", "connection_error", "dns"):
        return "connection"
    return error_kind or "other"


def percentile(sorted_values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile of already sorted values, rounded to 0.1."""
    if not sorted_values:
        return None
    index = max(0, math.ceil(rank / 100 * len(sorted_values)) - 1)
    return round(sorted_values[index], 1)
