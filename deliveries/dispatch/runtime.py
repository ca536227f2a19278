"""The dispatcher's runtime in each worker process: an event loop on a thread of its own that
serves deliveries for the life of the process, its HTTP client, limiter and database threads,
and the garbage-collection policy that keeps the loop fast.
"""

import asyncio
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

import redis.asyncio
import uvloop
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from deliveries.dispatch.admission import SATURATION_HOLD_SECONDS
from deliveries.dispatch.loop import STOP_GRACE_SECONDS, Dispatcher, first_of
from deliveries.engine.http import Sender
from deliveries.engine.limits import (
    FallbackLimiter,
    InProcessLimiter,
    Limiter,
    RedisLimiter,
    SaturationHolds,
)

logger = logging.getLogger(__name__)

# Seconds to wait before serving again after the dispatcher failed unexpectedly.
RESTART_DELAY_SECONDS = 1.0
# While automatic collection is paused (see collector_paused): seconds between collections,
# and the count of objects left unexamined that brings one forward (far above what a thousand
# requests in flight hold: a bound on memory).
GC_INTERVAL_SECONDS = 10.0
GC_PAUSED_MAX_OBJECTS = 500_000
# Seconds the limiter waits for Redis to connect or answer before it limits in process
# instead: its admission script answers in well under a millisecond, so this is an outage,
# and the dispatcher must not stand still for long while it is found out.
LIMITER_REDIS_TIMEOUT_SECONDS = 1.0
# Seconds between probes of an unreachable Redis: how soon limits are shared again after it
# returns, at the cost of one failed connection attempt per interval meanwhile.
LIMITER_PROBE_INTERVAL_SECONDS = 2.0


class DispatchRuntime:
    """Per worker process: a dispatcher that serves for the life of the process on an event loop
    in a thread of its own, with one HTTP client (keep-alive) and two database threads.

    Celery's dispatch_due task only wakes it. Serving outside the task means nothing ever waits
    for a slow request to end before claiming more: a dispatch task that had to finish its
    requests before handing over kept a process idle for up to a hanging endpoint's timeout.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = uvloop.new_event_loop()
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
        if not settings.REDIS_URL:
            return InProcessLimiter()
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=LIMITER_REDIS_TIMEOUT_SECONDS,
            socket_timeout=LIMITER_REDIS_TIMEOUT_SECONDS,
            # One retry: a pooled connection that died with a Redis restart reconnects; the
            # library's default ten, with backoff, would stall admission for seconds.
            retry=Retry(NoBackoff(), 1),
        )
        return FallbackLimiter(
            RedisLimiter(client),
            processes=settings.WEBHOOK_LIMITER_FALLBACK_PROCESSES or os.cpu_count() or 1,
            probe_interval_seconds=LIMITER_PROBE_INTERVAL_SECONDS,
        )

    @property
    def limiter_degraded(self) -> bool:
        """True while Redis is unreachable and this process applies its share of the limits on
        its own (logged once when it starts and once when it ends)."""
        return bool(getattr(self.limiter, "degraded", False))

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
                sender=self.sender,
                database=self.database,
                limiter=self.limiter,
                holds=self.holds,
                collect_garbage=collect_when_due,
            )
            try:
                await dispatcher.serve(wake=self._wake, stopping=self._stopping)
            except Exception:
                logger.exception("the dispatcher failed; serving again shortly")
                await first_of(self._stopping, timeout=RESTART_DELAY_SECONDS)

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


def dispatch_limiter_degraded() -> bool:
    """True while this process's dispatcher limits on its own because Redis is unreachable;
    False in a process that runs no dispatcher (the web server)."""
    runtime = _runtime
    return runtime is not None and runtime.pid == os.getpid() and runtime.limiter_degraded
