"""The worker's delivery loop: claim due deliveries in batches, send them concurrently with
one async HTTP client, record the results in batches.

Every worker process runs this loop for its whole life on a thread of its own (DispatchRuntime);
Celery's dispatch_due task only wakes it. Database work runs on two threads
of its own (Django's ORM is synchronous), one claiming while the other records, so the event
loop keeps sending while either is under way. No transaction is open while a request is in
flight: claim (short transaction), send (none), record (short transaction).

A slow endpoint holds only its own requests: the loop keeps claiming and sending as long as
there is room, whatever is still waiting for an answer.
"""

import asyncio
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from deliveries.engine.backoff import backoff_cap
from deliveries.engine.http import DeliveryRequest, Sender
from deliveries.engine.limits import InProcessLimiter, Limiter, RedisLimiter, SaturationHolds
from deliveries.engine.outcome import classify
from deliveries.engine.signing import signature_header
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
# Seconds to wait before serving again after the dispatcher failed unexpectedly.
RESTART_DELAY_SECONDS = 1.0
# Seconds to wait after a database error before trying again (PostgreSQL restarting).
DATABASE_RETRY_SECONDS = 0.5
# Seconds a delivery held back by an unreachable limiter (Redis restarting) waits: the limits
# protect receivers, so without them nothing limited is sent.
LIMITER_UNAVAILABLE_RETRY_SECONDS = 1.0
# Seconds a subscription found at its in-flight cap is first left unclaimed (and its refused
# deliveries wait): most requests end well before the timeout. Doubles while it stays full
# (SaturationHolds), so an endpoint that hangs is not claimed and put back every second.
SATURATION_HOLD_SECONDS = 1.0
# While automatic collection is paused (see collector_paused): seconds between collections,
# and the count of objects left unexamined that brings one forward (far above what a thousand
# requests in flight hold: a bound on memory).
GC_INTERVAL_SECONDS = 10.0
GC_PAUSED_MAX_OBJECTS = 500_000


class Dispatcher:
    def __init__(
        self,
        *,
        sender: Sender,
        database: ThreadPoolExecutor,
        limiter: Limiter,
        holds: SaturationHolds,
    ) -> None:
        self.sender = sender
        self.database = database
        self.limiter = limiter
        # Subscriptions at their in-flight cap (all workers' requests count) that this worker
        # leaves unclaimed for now; kept by the runtime for the life of the process.
        self.holds = holds
        self.lease_seconds = settings.WEBHOOK_CLAIM_LEASE_SECONDS
        self.batch_size = settings.WEBHOOK_DISPATCH_BATCH_SIZE
        self.max_in_flight = settings.WEBHOOK_DISPATCH_MAX_IN_FLIGHT
        self.record_interval = settings.WEBHOOK_RECORD_INTERVAL_SECONDS
        self.user_agent = settings.WEBHOOK_USER_AGENT
        self.max_redirects = settings.WEBHOOK_MAX_REDIRECTS
        self.retry_client_errors = settings.WEBHOOK_RETRY_CLIENT_ERRORS
        self.retry_after_cap = backoff_cap(settings.WEBHOOK_BACKOFF_BASE_SECONDS)
        self.poll_interval = settings.WEBHOOK_SCHEDULER_INTERVAL_SECONDS
        self.policy = target_policy()

    async def _in_database(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            # Drops a connection that broke (database restart) or outlived CONN_MAX_AGE.
            close_old_connections()
            return function(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.database, call)

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
                await _first_of(self._slot_freed, stopping, timeout=None)
                continue
            wanted = min(room, self.batch_size)
            wake.clear()
            jobs = await self._claim(wanted)
            if jobs is None:
                await _first_of(stopping, timeout=DATABASE_RETRY_SECONDS)
                continue
            for job in await self._admit(jobs):
                task = asyncio.create_task(self._attempt(job))
                self._in_flight.add(task)
                task.add_done_callback(self._attempt_done)
            if len(jobs) < wanted:
                # Nothing more is due right now: look again when woken, shortly while
                # requests are out (their retries may come due), at the next tick otherwise.
                idle = IDLE_CLAIM_INTERVAL_SECONDS if self._in_flight else self.poll_interval
                await _first_of(wake, stopping, timeout=idle)

    def _attempt_done(self, task: "asyncio.Task[AttemptReport]") -> None:
        self._in_flight.discard(task)
        if task.cancelled():  # stopping: its lease ends and it is sent again
            return
        report = task.result()
        self._finished.append(report)
        self.holds.request_ended(report.job.webhook_id)
        self._slot_freed.set()

    async def _record_continuously(self) -> None:
        """Write finished attempts in groups, every WEBHOOK_RECORD_INTERVAL_SECONDS at most."""
        failing_since: float | None = None
        loop = asyncio.get_running_loop()
        collected_at = loop.time()
        while self._claiming or self._in_flight or self._finished:
            collected_at = collect_when_due(collected_at, loop.time())
            if not self._finished:
                await asyncio.sleep(self.record_interval)
                continue
            reports, self._finished = self._finished, []
            await self._release([report.job for report in reports])
            if await self._record(reports):
                failing_since = None
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
        saturated = self.holds.held(now)

        def claim() -> list[DeliveryJob]:
            clear_wakeup()
            return deliveries_claim_due(limit=limit, exclude_webhook_ids=saturated)

        try:
            return await self._in_database(claim)
        except Exception:
            logger.exception("claiming due deliveries failed; trying again")
            return None

    async def _admit(self, jobs: list[DeliveryJob]) -> list[DeliveryJob]:
        """The jobs their subscriptions' limits let through now; the others are deferred."""
        by_webhook: dict[object, list[DeliveryJob]] = {}
        for job in jobs:
            by_webhook.setdefault(job.webhook_id, []).append(job)
        admitted: list[DeliveryJob] = []
        deferrals: list[tuple[DeliveryJob, Any]] = []
        now = timezone.now()
        for webhook_id, group in by_webhook.items():
            limits = group[0].limits
            if limits.unlimited:
                admitted.extend(group)
                continue
            try:
                admission = await self.limiter.admit(
                    str(webhook_id),
                    [str(job.delivery_id) for job in group],
                    limits,
                    lease_seconds=self.lease_seconds,
                    slot_seconds=self.holds.next_hold(
                        webhook_id, ceiling_seconds=group[0].total_timeout_seconds
                    ),
                )
            except Exception:
                logger.warning(
                    "limiter unavailable; holding back limited deliveries", exc_info=True
                )
                retry_in = (LIMITER_UNAVAILABLE_RETRY_SECONDS,) * len(group)
                admission_count = 0
            else:
                retry_in, admission_count = admission.retry_in, admission.admitted
                if admission.in_flight_full:
                    self.holds.found_full(
                        webhook_id,
                        asyncio.get_running_loop().time(),
                        ceiling_seconds=group[0].total_timeout_seconds,
                    )
            admitted.extend(group[:admission_count])
            deferrals.extend(
                (job, now + timedelta(seconds=delay))
                for job, delay in zip(group[admission_count:], retry_in, strict=True)
            )
        if deferrals:
            try:
                await self._in_database(deliveries_defer, deferrals=deferrals)
            except Exception:
                # They stay claimed and come back when their lease ends.
                logger.exception("deferring %d throttled deliveries failed", len(deferrals))
        return admitted

    async def _release(self, jobs: list[DeliveryJob]) -> None:
        by_webhook: dict[object, list[str]] = {}
        for job in jobs:
            if job.limits.max_in_flight is not None:
                by_webhook.setdefault(job.webhook_id, []).append(str(job.delivery_id))
        for webhook_id, members in by_webhook.items():
            try:
                await self.limiter.release(str(webhook_id), members)
            except Exception:
                # The slots free themselves when their lease ends.
                logger.warning("could not release in-flight slots", exc_info=True)

    async def _record(self, reports: list[AttemptReport]) -> bool:
        try:
            await self._in_database(attempts_record, reports)
        except Exception:
            # The deliveries stay claimed: recorded on a later try, or, if this worker dies
            # first, sent again when their lease ends (at least once, never lost).
            logger.exception("recording %d attempts failed; keeping them to retry", len(reports))
            return False
        return True

    async def _attempt(self, job: DeliveryJob) -> AttemptReport:
        # Not timezone.now(): its settings lookup showed at 3 % of a worker's time here.
        started_at = datetime.now(UTC)
        signed_at_ms = int(time.time() * 1000)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
        }
        if job.authorization:
            headers["Authorization"] = job.authorization
        headers["Tillhub-Signature"] = signature_header(job.signing_secrets, signed_at_ms, job.body)
        result = await self.sender.send(
            DeliveryRequest(
                url=job.url,
                body=job.body,
                headers=headers,
                connect_timeout_seconds=job.connect_timeout_seconds,
                total_timeout_seconds=job.total_timeout_seconds,
                max_redirects=self.max_redirects,
                policy=self.policy,
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


async def _first_of(*events: asyncio.Event, timeout: float | None) -> None:
    """Wait until one of `events` is set, or `timeout` seconds pass."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class DispatchRuntime:
    """Per worker process: a dispatcher that serves for the life of the process on an event loop
    in a thread of its own, with one HTTP client (keep-alive) and two database threads.

    Celery's dispatch_due task only wakes it. Serving outside the task means nothing ever waits
    for a slow request to end before claiming more: a dispatch task that had to finish its
    requests before handing over kept a process idle for up to a hanging endpoint's timeout.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        try:
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop is a pinned dependency
            self.loop = asyncio.new_event_loop()
        # Two threads, two connections: one claims while the other records.
        self.database = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dispatch-db")
        self.sender = self.loop.run_until_complete(self._open_sender())
        self.limiter = self.loop.run_until_complete(self._open_limiter())
        self.holds = SaturationHolds(base_seconds=SATURATION_HOLD_SECONDS)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._thread = threading.Thread(target=self._serve_forever, name="dispatcher", daemon=True)
        self._thread.start()

    async def _open_sender(self) -> Sender:
        return Sender(
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
            max_connections=settings.WEBHOOK_DISPATCH_MAX_IN_FLIGHT,
            response_body_limit=settings.WEBHOOK_RESPONSE_BODY_LIMIT,
        )

    async def _open_limiter(self) -> Limiter:
        if settings.REDIS_URL:
            import redis.asyncio

            return RedisLimiter(redis.asyncio.Redis.from_url(settings.REDIS_URL))
        return InProcessLimiter()

    def _serve_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        # What is loaded by now (Django, Celery, the app) lives as long as the process: frozen,
        # it is left out of every collection the dispatcher makes.
        gc.collect()
        gc.freeze()
        try:
            with collector_paused():
                self.loop.run_until_complete(self._serve())
        finally:
            self.loop.run_until_complete(self.sender.close())
            self.loop.run_until_complete(self.limiter.close())
            self.loop.close()
            self.database.shutdown(wait=True)

    async def _serve(self) -> None:
        while not self._stopping.is_set():
            dispatcher = Dispatcher(
                sender=self.sender, database=self.database, limiter=self.limiter, holds=self.holds
            )
            try:
                await dispatcher.serve(wake=self._wake, stopping=self._stopping)
            except Exception:
                logger.exception("the dispatcher failed; serving again shortly")
                await _first_of(self._stopping, timeout=RESTART_DELAY_SECONDS)

    @property
    def serving(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        """Look for due work now (thread-safe)."""
        self._call_in_loop(self._wake.set)

    def stop(self, *, timeout: float) -> None:
        """Stop claiming, finish what is in flight (STOP_GRACE_SECONDS at most), record it."""
        self._call_in_loop(self._stopping.set)
        self._thread.join(timeout)

    def _call_in_loop(self, callback: Callable[[], object]) -> None:
        # RuntimeError: the loop has closed, the dispatcher has stopped.
        with suppress(RuntimeError):
            self.loop.call_soon_threadsafe(callback)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection while the block runs, then collect.

    Measured under the throughput benchmark: the objects of up to a thousand requests in flight
    pushed the allocation count past the collector's threshold again and again, so it walked
    them some 200 times a second, 8.5 of a worker's ~20 CPU-seconds in one run; yet a dispatch
    leaves almost nothing behind (a few dozen objects, no cycles). Reference counting frees
    everything else as before; the dispatcher collects every GC_INTERVAL_SECONDS, and sooner if
    the count of uncollected objects passes GC_PAUSED_MAX_OBJECTS (collect_when_due).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def collect_when_due(last_collected: float, now: float) -> float:
    """Collect if GC_INTERVAL_SECONDS have passed since `last_collected` or too much is left
    unexamined; return the time of the last collection."""
    if now - last_collected >= GC_INTERVAL_SECONDS or gc.get_count()[0] > GC_PAUSED_MAX_OBJECTS:
        gc.collect()
        return now
    return last_collected


_runtime: DispatchRuntime | None = None


def dispatch_runtime() -> DispatchRuntime:
    """This process's runtime, started on first use (after a prefork worker has forked)."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid() or not _runtime.serving:
        _runtime = DispatchRuntime()
    return _runtime


def stop_dispatch_runtime() -> None:
    if _runtime is not None and _runtime.pid == os.getpid():
        _runtime.stop(timeout=STOP_GRACE_SECONDS + 5)
