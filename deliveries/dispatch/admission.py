"""Admission: which claimed deliveries their subscriptions' limits let out now.

Rate (token bucket) and in-flight caps are counted by a limiter shared by all workers (Redis),
or in-process without Redis. A subscription found at its in-flight cap is left unclaimed for
a while (SaturationHolds), so an endpoint that hangs is not claimed and put back every second.
Deliveries held back are deferred (not an attempt): they wait as `pending` until their turn.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from django.utils import timezone

from deliveries.engine.limits import Limiter, SaturationHolds
from deliveries.services.claiming import DeliveryJob

logger = logging.getLogger(__name__)

# Seconds a delivery held back by an unreachable limiter (Redis restarting) waits: the limits
# protect receivers, so without them nothing limited is sent.
LIMITER_UNAVAILABLE_RETRY_SECONDS = 1.0
# Seconds a subscription found at its in-flight cap is first left unclaimed (and its refused
# deliveries wait): most requests end well before the timeout. Doubles while it stays full
# (SaturationHolds), so an endpoint that hangs is not claimed and put back every second.
SATURATION_HOLD_SECONDS = 1.0
# Seconds before putting back held-back deliveries is tried again when the database refused it
# (PostgreSQL restarting), doubling up to the ceiling: they are due again within the ceiling of
# the database's return instead of waiting, claimed, for their whole lease.
DEFER_RETRY_FIRST_SECONDS = 0.25
DEFER_RETRY_MAX_SECONDS = 2.0

Deferrals = list[tuple[DeliveryJob, datetime]]


class Admission:
    def __init__(
        self,
        *,
        limiter: Limiter,
        holds: SaturationHolds,
        lease_seconds: float,
        defer: Callable[[Deferrals], Awaitable[None]],
    ) -> None:
        self.limiter = limiter
        # Subscriptions at their in-flight cap (all workers' requests count) that this worker
        # leaves unclaimed for now; kept by the runtime for the life of the process.
        self.holds = holds
        self.lease_seconds = lease_seconds
        self._defer = defer
        # Deferrals the database refused, tried again in the background until it takes them.
        self._undeferred: Deferrals = []
        self._redeferring: asyncio.Task[None] | None = None

    def held(self, now: float) -> set[uuid.UUID]:
        """The subscriptions not to claim for at loop time `now`."""
        return self.holds.held(now)

    def request_ended(self, webhook_id: uuid.UUID) -> None:
        self.holds.request_ended(webhook_id)

    async def admit(self, jobs: list[DeliveryJob]) -> list[DeliveryJob]:
        """The jobs their subscriptions' limits let through now; the others are deferred."""
        by_webhook: dict[uuid.UUID, list[DeliveryJob]] = {}
        for job in jobs:
            by_webhook.setdefault(job.webhook_id, []).append(job)
        admitted: list[DeliveryJob] = []
        deferrals: Deferrals = []
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
                # Not with FallbackLimiter (it limits in process when Redis is away).
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
                await self._defer(deferrals)
            except Exception:
                logger.exception(
                    "deferring %d throttled deliveries failed; trying again shortly",
                    len(deferrals),
                )
                self._retry_deferral(deferrals)
        return admitted

    def _retry_deferral(self, deferrals: Deferrals) -> None:
        self._undeferred.extend(deferrals)
        if self._redeferring is None or self._redeferring.done():
            self._redeferring = asyncio.create_task(self._defer_again())

    async def _defer_again(self) -> None:
        """Put the refused deferrals back, retrying with a doubling pause; runs beside the
        loop, so sending goes on meanwhile. Gives up once their leases have ended: by then
        they are due anyway and claimed again."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.lease_seconds
        pause = DEFER_RETRY_FIRST_SECONDS
        while self._undeferred:
            await asyncio.sleep(pause)
            deferrals, self._undeferred = self._undeferred, []
            try:
                await self._defer(deferrals)
            except Exception as error:
                self._undeferred[:0] = deferrals
                if loop.time() >= give_up_at:
                    logger.error(
                        "could not defer %d throttled deliveries for %.0f s; their leases end",
                        len(self._undeferred),
                        self.lease_seconds,
                    )
                    self._undeferred = []
                    return
                logger.warning(
                    "deferring %d throttled deliveries failed again (%s); next try in %.2f s",
                    len(deferrals),
                    type(error).__name__,
                    min(2 * pause, DEFER_RETRY_MAX_SECONDS),
                )
                pause = min(2 * pause, DEFER_RETRY_MAX_SECONDS)
            else:
                logger.info("deferred %d throttled deliveries on a later try", len(deferrals))

    async def release(self, jobs: list[DeliveryJob]) -> None:
        """Free the in-flight slots of finished jobs."""
        by_webhook: dict[uuid.UUID, list[str]] = {}
        for job in jobs:
            if job.limits.max_in_flight is not None:
                by_webhook.setdefault(job.webhook_id, []).append(str(job.delivery_id))
        for webhook_id, members in by_webhook.items():
            try:
                await self.limiter.release(str(webhook_id), members)
            except Exception:
                # The slots free themselves when their lease ends.
                logger.warning("could not release in-flight slots", exc_info=True)
