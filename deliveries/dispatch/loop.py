"""The worker's delivery loop: claim due deliveries in batches, send them concurrently with
one async HTTP client, record the results in batches.

Every worker process runs this loop for its whole life on a thread of its own (runtime.py);
Celery's dispatch_due task only wakes it. Database work runs on two threads
of its own (Django's ORM is synchronous), one claiming while the other records, so the event
loop keeps sending while either is under way. No transaction is open while a request is in
flight: claim (short transaction), send (none), record (short transaction).

A slow endpoint holds only its own requests: the loop keeps claiming and sending as long as
there is room, whatever is still waiting for an answer.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections

from deliveries.dispatch.admission import Admission, Deferrals
from deliveries.engine.backoff import backoff_cap
from deliveries.engine.http import DeliveryRequest, Sender
from deliveries.engine.limits import Limiter, SaturationHolds
from deliveries.engine.outcome import classify
from deliveries.engine.request import delivery_headers
from deliveries.services.circuit import CircuitWatch
from deliveries.services.claiming import DeliveryJob, deliveries_claim_due, deliveries_defer
from deliveries.services.recording import AttemptReport, attempts_record
from deliveries.wakeup import clear_wakeup
from webhooks.rules import target_policy

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds between claims while requests are still in flight but the last claim found nothing
# (a publish wakes the loop at once; this catches retries coming due).
IDLE_CLAIM_INTERVAL_SECONDS = 0.1
# Seconds a stopping worker waits for its requests in flight before it leaves them to their
# leases (they are sent again by another worker: at least once).
STOP_GRACE_SECONDS = 10.0
# Seconds to wait after a database error before trying again (PostgreSQL restarting).
DATABASE_RETRY_SECONDS = 0.5


class Dispatcher:
    def __init__(
        self,
        *,
        sender: Sender,
        database: ThreadPoolExecutor,
        limiter: Limiter,
        holds: SaturationHolds,
        collect_garbage: Callable[[float, float], float],
    ) -> None:
        self.sender = sender
        self.database = database
        self.lease_seconds = settings.WEBHOOK_CLAIM_LEASE_SECONDS
        self.admission = Admission(
            limiter=limiter, holds=holds, lease_seconds=self.lease_seconds, defer=self._defer
        )
        self.batch_size = settings.WEBHOOK_DISPATCH_BATCH_SIZE
        self.max_in_flight = settings.WEBHOOK_DISPATCH_MAX_IN_FLIGHT
        self.record_interval = settings.WEBHOOK_RECORD_INTERVAL_SECONDS
        self.user_agent = settings.WEBHOOK_USER_AGENT
        self.max_redirects = settings.WEBHOOK_MAX_REDIRECTS
        self.retry_client_errors = settings.WEBHOOK_RETRY_CLIENT_ERRORS
        self.retry_after_cap = backoff_cap(settings.WEBHOOK_BACKOFF_BASE_SECONDS)
        self.poll_interval = settings.WEBHOOK_SCHEDULER_INTERVAL_SECONDS
        self.policy = target_policy()
        # This worker's view of the subscriptions whose circuit is open (shared state in the
        # database): the claim leaves them alone except for their probes.
        self.circuits = CircuitWatch()
        # The runtime's collection rule (runtime.collect_when_due): called between records.
        self.collect_garbage = collect_garbage

    async def _in_database(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            # Drops a connection that broke (database restart) or outlived CONN_MAX_AGE.
            close_old_connections()
            return function(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.database, call)

    async def _defer(self, deferrals: Deferrals) -> None:
        await self._in_database(deliveries_defer, deferrals=deferrals)

    async def serve(self, *, wake: asyncio.Event, stopping: asyncio.Event) -> None:
        """Deliver due work until `stopping` is set, then finish what is in flight (for at most
        STOP_GRACE_SECONDS: what is still out after that is sent again when its lease ends).

        Claims as long as work is due and there is room; when nothing is due, waits for `wake`
        (a publish, a scheduler tick) or WEBHOOK_SCHEDULER_INTERVAL_SECONDS. It never stops to
        wait for slow requests: a hanging endpoint holds only its own deliveries.

        Claiming and recording run side by side, each on its own database connection, so
        neither waits for the other and the HTTP client is never starved while a batch of
        results is being written.
        """
        self._in_flight: set[asyncio.Task[AttemptReport]] = set()
        self._finished: list[AttemptReport] = []
        self._slot_freed = asyncio.Event()
        self._claiming = True
        self._wake = wake
        recorder = asyncio.create_task(self._record_continuously())
        try:
            await self._claim_continuously(wake, stopping)
            if self._in_flight:
                _, still_out = await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE_SECONDS)
                for task in still_out:
                    task.cancel()
        finally:
            self._claiming = False
            await recorder

    async def _claim_continuously(self, wake: asyncio.Event, stopping: asyncio.Event) -> None:
        # Claim when at least half a batch fits, so claims stay batched under load.
        minimum_room = max(1, min(self.batch_size, self.max_in_flight) // 2)
        while not stopping.is_set():
            room = self.max_in_flight - len(self._in_flight)
            if room < minimum_room:
                self._slot_freed.clear()
                await first_of(self._slot_freed, stopping, timeout=None)
                continue
            wanted = min(room, self.batch_size)
            wake.clear()
            jobs = await self._claim(wanted)
            if jobs is None:
                await first_of(stopping, timeout=DATABASE_RETRY_SECONDS)
                continue
            for job in await self.admission.admit(jobs):
                task = asyncio.create_task(self._attempt(job))
                self._in_flight.add(task)
                task.add_done_callback(self._attempt_done)
            if len(jobs) < wanted:
                # Nothing more is due right now: look again when woken, shortly while
                # requests are out (their retries may come due), at the next tick otherwise.
                idle = IDLE_CLAIM_INTERVAL_SECONDS if self._in_flight else self.poll_interval
                await first_of(wake, stopping, timeout=idle)

    def _attempt_done(self, task: "asyncio.Task[AttemptReport]") -> None:
        self._in_flight.discard(task)
        if task.cancelled():  # stopping: its lease ends and it is sent again
            return
        report = task.result()
        self._finished.append(report)
        self.admission.request_ended(report.job.webhook_id)
        self._slot_freed.set()

    async def _record_continuously(self) -> None:
        """Write finished attempts in groups, every WEBHOOK_RECORD_INTERVAL_SECONDS at most."""
        failing_since: float | None = None
        loop = asyncio.get_running_loop()
        collected_at = loop.time()
        while self._claiming or self._in_flight or self._finished:
            collected_at = self.collect_garbage(collected_at, loop.time())
            if not self._finished:
                await asyncio.sleep(self.record_interval)
                continue
            reports, self._finished = self._finished, []
            await self.admission.release([report.job for report in reports])
            if await self._record(reports):
                failing_since = None
                if any(r.job.ordered and r.verdict.outcome == "success" for r in reports):
                    # The next deliveries of these entities are due now: claim them without
                    # waiting for the idle interval (a chain of one entity's events moves
                    # one record interval per step, not one idle interval more).
                    self._wake.set()
                await asyncio.sleep(self.record_interval)
                continue
            failing_since = failing_since or loop.time()
            if not self._claiming and loop.time() - failing_since > self.lease_seconds:
                # Their leases have ended: other workers send them again (at least once).
                logger.error(
                    "dropping %d unrecorded attempts after %.0f s of database errors",
                    len(reports),
                    self.lease_seconds,
                )
                continue
            self._finished[:0] = reports
            await asyncio.sleep(DATABASE_RETRY_SECONDS)

    async def _claim(self, limit: int) -> list[DeliveryJob] | None:
        now = asyncio.get_running_loop().time()
        saturated = self.admission.held(now)

        def claim() -> list[DeliveryJob]:
            clear_wakeup()
            return deliveries_claim_due(
                limit=limit, exclude_webhook_ids=saturated, circuits=self.circuits
            )

        try:
            return await self._in_database(claim)
        except Exception:
            logger.exception("claiming due deliveries failed; trying again")
            return None

    async def _record(self, reports: list[AttemptReport]) -> bool:
        try:
            changes = await self._in_database(attempts_record, reports)
            if changes:
                self.circuits.note(changes, now=datetime.now(UTC))
        except Exception:
            # The deliveries stay claimed: recorded on a later try, or, if this worker dies
            # first, sent again when their lease ends (at least once, never lost).
            logger.exception("recording %d attempts failed; keeping them to retry", len(reports))
            return False
        return True

    async def _attempt(self, job: DeliveryJob) -> AttemptReport:
        # Not timezone.now(): its settings lookup showed at 3 % of a worker's time here.
        started_at = datetime.now(UTC)
        headers = delivery_headers(
            body=job.body,
            signing_secrets=job.signing_secrets,
            user_agent=self.user_agent,
            authorization=job.authorization,
            signed_at_ms=int(time.time() * 1000),
            signature_scheme=job.signature_scheme,
            event_id=job.event_id,
            extra_headers=job.extra_headers,
        )
        result = await self.sender.send(
            DeliveryRequest(
                url=job.url,
                body=job.body,
                headers=headers,
                connect_timeout_seconds=job.connect_timeout_seconds,
                total_timeout_seconds=job.total_timeout_seconds,
                max_redirects=self.max_redirects,
                policy=self.policy,
                origin_only_headers=job.extra_header_names,
            )
        )
        verdict = classify(
            result,
            retry_client_errors=self.retry_client_errors,
            retry_after_cap_seconds=self.retry_after_cap,
        )
        return AttemptReport(
            job=job,
            started_at=started_at,
            request_headers=headers,
            result=result,
            verdict=verdict,
        )


async def first_of(*events: asyncio.Event, timeout: float | None) -> None:
    """Wait until one of `events` is set, or `timeout` seconds pass."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
