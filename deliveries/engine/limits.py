"""Per-subscription admission: a token bucket (rate_per_second, burst) and a cap on requests in
flight (max_in_flight), shared by every worker through Redis, or kept in process.

A throttled delivery is not sent now; the caller puts it back to wait for `retry_in` seconds.
Throttling is neither a failure nor an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    rate_per_second: float | None  # None: no rate limit
    burst: int | None  # bucket size; None: one second's worth of the rate (at least 1)
    max_in_flight: int | None  # None: no cap on concurrent requests

    @property
    def unlimited(self) -> bool:
        return self.rate_per_second is None and self.max_in_flight is None

    @property
    def bucket_size(self) -> float:
        if self.burst is not None:
            return float(self.burst)
        return float(max(1, math.ceil(self.rate_per_second or 1)))


@dataclass(frozen=True)
class Admission:
    admitted: int  # the first `admitted` of the requested members may be sent now
    # Seconds after which the i-th refused member (0-based) may try again.
    retry_in: tuple[float, ...]
    # True when the cap on requests in flight refused some: nothing more of this subscription
    # can go until one of its requests ends.
    in_flight_full: bool = False


def spread_retries(
    refused: int, *, tokens: float, limits: Limits, in_flight_full: bool, slot_seconds: float
) -> tuple[float, ...]:
    """When each refused member should come back: rate-limited ones one token interval apart,
    those waiting for an in-flight slot one `slot_seconds` per `max_in_flight` ahead of them.
    Spreading them keeps a throttled subscription's backlog from being claimed again at once."""
    delays = []
    for index in range(refused):
        delay = 0.0
        if limits.rate_per_second:
            delay = max(delay, (index + 1 - tokens) / limits.rate_per_second)
        if in_flight_full and limits.max_in_flight:
            delay = max(delay, slot_seconds * (index // limits.max_in_flight + 1))
        delays.append(max(delay, 0.01))
    return tuple(delays)


class Limiter(Protocol):
    async def admit(
        self,
        key: str,
        members: Sequence[str],
        limits: Limits,
        *,
        lease_seconds: float,
        slot_seconds: float,
    ) -> Admission: ...

    async def release(self, key: str, members: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Bucket:
    tokens: float
    updated: float
    in_flight: dict[str, float] = field(default_factory=dict)  # member -> lease end


class InProcessLimiter:
    """The limits within one process (the embedded default without Redis)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    async def admit(
        self,
        key: str,
        members: Sequence[str],
        limits: Limits,
        *,
        lease_seconds: float,
        slot_seconds: float,
    ) -> Admission:
        if limits.unlimited:
            return Admission(len(members), ())
        now = self.clock()
        bucket = self.buckets.setdefault(key, _Bucket(limits.bucket_size, now))
        bucket.in_flight = {m: end for m, end in bucket.in_flight.items() if end > now}
        admitted = len(members)
        in_flight_full = False
        if limits.max_in_flight is not None:
            free = max(0, limits.max_in_flight - len(bucket.in_flight))
            in_flight_full = free < admitted
            admitted = min(admitted, free)
        if limits.rate_per_second:
            elapsed = now - bucket.updated
            bucket.tokens = min(
                limits.bucket_size, bucket.tokens + elapsed * limits.rate_per_second
            )
            bucket.updated = now
            admitted = min(admitted, int(bucket.tokens))
            bucket.tokens -= admitted
        for member in members[:admitted]:
            bucket.in_flight[member] = now + lease_seconds
        retry_in = spread_retries(
            len(members) - admitted,
            tokens=bucket.tokens if limits.rate_per_second else 0.0,
            limits=limits,
            in_flight_full=in_flight_full,
            slot_seconds=slot_seconds,
        )
        return Admission(admitted, retry_in, in_flight_full)

    async def release(self, key: str, members: Sequence[str]) -> None:
        bucket = self.buckets.get(key)
        if bucket is not None:
            for member in members:
                bucket.in_flight.pop(member, None)

    async def close(self) -> None:
        self.buckets.clear()


# Atomic admission for one subscription. KEYS: bucket hash, in-flight sorted set.
# ARGV: rate (0 = none), bucket size, max in flight (-1 = none), lease seconds, members...
# In-flight members carry their lease end as score, so a dead worker's slots free themselves.
# Returns {admitted, tokens left (string), in-flight full (0/1)}.
_ADMIT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local size = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local wanted = #ARGV - 4
local admitted = wanted
local full = 0
if cap >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  local free = cap - redis.call('ZCARD', KEYS[2])
  if free < 0 then free = 0 end
  if free < admitted then admitted = free; full = 1 end
end
local tokens = 0
if rate > 0 then
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
  tokens = tonumber(state[1]) or size
  local updated = tonumber(state[2]) or now
  tokens = math.min(size, tokens + math.max(0, now - updated) * rate)
  if math.floor(tokens) < admitted then admitted = math.floor(tokens) end
  tokens = tokens - admitted
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil(size / rate) + 60)
end
if cap >= 0 and admitted > 0 then
  local entries = {}
  for i = 1, admitted do
    entries[#entries + 1] = now + lease
    entries[#entries + 1] = ARGV[4 + i]
  end
  redis.call('ZADD', KEYS[2], unpack(entries))
  redis.call('EXPIRE', KEYS[2], math.ceil(lease) + 60)
end
return {admitted, tostring(tokens), full}
"""


class RedisLimiter:
    """The limits across every worker, kept in Redis (one atomic script per admission)."""

    def __init__(self, client: Any, prefix: str = "hookline:limits") -> None:
        self.client = client  # a redis.asyncio.Redis
        self.prefix = prefix
        self.script = client.register_script(_ADMIT_SCRIPT)

    def _keys(self, key: str) -> list[str]:
        return [f"{self.prefix}:{key}:bucket", f"{self.prefix}:{key}:in_flight"]

    async def admit(
        self,
        key: str,
        members: Sequence[str],
        limits: Limits,
        *,
        lease_seconds: float,
        slot_seconds: float,
    ) -> Admission:
        if limits.unlimited or not members:
            return Admission(len(members), ())
        admitted, tokens, full = await self.script(
            keys=self._keys(key),
            args=[
                limits.rate_per_second or 0,
                limits.bucket_size,
                limits.max_in_flight if limits.max_in_flight is not None else -1,
                lease_seconds,
                *members,
            ],
        )
        admitted = int(admitted)
        retry_in = spread_retries(
            len(members) - admitted,
            tokens=float(tokens),
            limits=limits,
            in_flight_full=bool(int(full)),
            slot_seconds=slot_seconds,
        )
        return Admission(admitted, retry_in, bool(int(full)))

    async def release(self, key: str, members: Sequence[str]) -> None:
        if members:
            await self.client.zrem(self._keys(key)[1], *members)

    async def ping(self) -> None:
        """Return when Redis answers; raise when it does not."""
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class SharedLimiter(Limiter, Protocol):
    async def ping(self) -> None: ...


def process_share(limits: Limits, processes: int) -> Limits:
    """One process's share of a subscription's limits when `processes` limit it each on their
    own: rate, burst and in-flight cap divided among them, burst and cap at least 1."""
    if processes <= 1:
        return limits
    return Limits(
        rate_per_second=(
            limits.rate_per_second / processes if limits.rate_per_second is not None else None
        ),
        burst=max(1, limits.burst // processes) if limits.burst is not None else None,
        max_in_flight=(
            max(1, limits.max_in_flight // processes) if limits.max_in_flight is not None else None
        ),
    )


class FallbackLimiter:
    """The shared limiter while it answers; while it does not (Redis down or restarting), the
    limits kept in this process, with this process's share of each subscription's limits.

    Without it, a Redis outage held back every subscription with a cap, so all delivery
    stopped. The switch is logged once each way. While degraded, the shared limiter is probed
    every `probe_interval_seconds` in the background (never on the sending path); the first
    answer switches back. Requests admitted in process are released in process, whichever
    limiter is in use when they end.
    """

    def __init__(
        self,
        shared: SharedLimiter,
        *,
        processes: int,
        probe_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.local = InProcessLimiter(clock)
        self.processes = max(1, processes)
        self.probe_interval_seconds = probe_interval_seconds
        self.clock = clock
        self._degraded_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def degraded(self) -> bool:
        """True while the shared limiter is unreachable and this process limits on its own."""
        return self._degraded_since is not None

    async def admit(
        self,
        key: str,
        members: Sequence[str],
        limits: Limits,
        *,
        lease_seconds: float,
        slot_seconds: float,
    ) -> Admission:
        if self._degraded_since is None:
            try:
                return await self.shared.admit(
                    key, members, limits, lease_seconds=lease_seconds, slot_seconds=slot_seconds
                )
            except Exception as error:
                self._degrade(error)
        return await self.local.admit(
            key,
            members,
            process_share(limits, self.processes),
            lease_seconds=lease_seconds,
            slot_seconds=slot_seconds,
        )

    async def release(self, key: str, members: Sequence[str]) -> None:
        # A dictionary lookup when nothing was admitted in process.
        await self.local.release(key, members)
        if self._degraded_since is None:
            await self.shared.release(key, members)

    def _degrade(self, error: Exception) -> None:
        self._degraded_since = self.clock()
        logger.warning(
            "shared limiter unreachable (%s: %s); limiting in this process with 1/%d of each "
            "subscription's limits until it answers again",
            type(error).__name__,
            error,
            self.processes,
        )
        self._probe = asyncio.get_running_loop().create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval_seconds)
            try:
                await self.shared.ping()
            except Exception as error:  # still away: keep limiting in process
                logger.debug("shared limiter still unreachable: %s", error)
                continue
            degraded_for = self.clock() - (self._degraded_since or self.clock())
            self._degraded_since = None
            logger.warning(
                "shared limiter reachable again after %.1f s; limits are shared again",
                degraded_for,
            )
            return

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.local.close()
        await self.shared.close()


class SaturationHolds:
    """The subscriptions whose in-flight cap a worker found full, left unclaimed for a while.

    Claiming their deliveries now would only put them back: churn that an endpoint that hangs
    would otherwise cause on every claim. A subscription found full is held `base_seconds`;
    found full again with none of its requests ended meanwhile, twice as long each time, up to
    `ceiling_seconds` (its request timeout: by then one of its requests has ended one way or
    the other). One of its requests ending lifts the hold at once.
    """

    def __init__(self, *, base_seconds: float) -> None:
        self.base_seconds = base_seconds
        self._until: dict[Any, float] = {}
        self._hold: dict[Any, float] = {}

    def held(self, now: float) -> list[Any]:
        """The subscriptions to leave unclaimed at monotonic time `now`."""
        return [key for key, until in self._until.items() if until > now]

    def next_hold(self, key: Any, *, ceiling_seconds: float) -> float:
        """Seconds `key` would be held if found full now; deferred deliveries wait as long."""
        return min(max(2 * self._hold.get(key, 0.0), self.base_seconds), ceiling_seconds)

    def found_full(self, key: Any, now: float, *, ceiling_seconds: float) -> None:
        hold = self.next_hold(key, ceiling_seconds=ceiling_seconds)
        self._hold[key] = hold
        self._until[key] = now + hold

    def request_ended(self, key: Any) -> None:
        self._until.pop(key, None)
        self._hold.pop(key, None)
