import asyncio
import logging

import pytest
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from deliveries.engine.limits import (
    FallbackLimiter,
    InProcessLimiter,
    Limits,
    RedisLimiter,
    SaturationHolds,
    process_share,
    spread_retries,
)
from tests.support.services import ThrowawayRedis


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admit(limiter, members, limits, **kwargs):
    return asyncio.run(
        limiter.admit("w", members, limits, lease_seconds=60, slot_seconds=1, **kwargs)
    )


def test_unlimited_admits_everything():
    admission = admit(InProcessLimiter(), ["a", "b"], Limits(None, None, None))
    assert admission.admitted == 2
    assert admission.retry_in == ()


def test_token_bucket_admits_the_burst_then_refills_at_the_rate():
    # given
    clock = FakeClock()
    limiter = InProcessLimiter(clock)
    limits = Limits(rate_per_second=2, burst=3, max_in_flight=None)

    # when / then: the burst goes at once, the rest come back one token interval apart
    first = admit(limiter, ["1", "2", "3", "4", "5"], limits)
    assert first.admitted == 3
    assert first.retry_in == pytest.approx((0.5, 1.0))
    clock.now += 1.0
    assert admit(limiter, ["4", "5", "6"], limits).admitted == 2


def test_in_flight_cap_frees_slots_on_release_or_lease_end():
    # given
    clock = FakeClock()
    limiter = InProcessLimiter(clock)
    limits = Limits(rate_per_second=None, burst=None, max_in_flight=2)

    # when
    first = admit(limiter, ["1", "2", "3"], limits)

    # then
    assert first.admitted == 2
    assert first.retry_in == (1.0,)
    assert admit(limiter, ["3"], limits).admitted == 0
    asyncio.run(limiter.release("w", ["1"]))
    assert admit(limiter, ["3"], limits).admitted == 1
    clock.now += 61  # the lease of "2" and "3" ended: a dead worker's slots free themselves
    assert admit(limiter, ["4", "5"], limits).admitted == 2


def test_refused_members_are_spread_by_in_flight_rounds():
    limits = Limits(rate_per_second=None, burst=None, max_in_flight=2)
    delays = spread_retries(5, tokens=0, limits=limits, in_flight_full=True, slot_seconds=0.5)
    assert delays == (0.5, 0.5, 1.0, 1.0, 1.5)


def test_default_bucket_is_one_seconds_worth_of_the_rate():
    assert Limits(rate_per_second=7.5, burst=None, max_in_flight=None).bucket_size == 8
    assert Limits(rate_per_second=0.2, burst=None, max_in_flight=None).bucket_size == 1


def test_a_full_subscription_is_held_for_the_base_time_first():
    holds = SaturationHolds(base_seconds=1.0)
    holds.found_full("hook", 100.0, ceiling_seconds=30)
    assert holds.held(100.5) == ["hook"]
    assert holds.held(101.0) == []


def test_the_hold_doubles_while_the_subscription_stays_full_up_to_its_timeout():
    holds = SaturationHolds(base_seconds=1.0)
    waits = []
    now = 0.0
    for _ in range(7):
        waits.append(holds.next_hold("hook", ceiling_seconds=30))
        holds.found_full("hook", now, ceiling_seconds=30)
        now += waits[-1]
    assert waits == [1, 2, 4, 8, 16, 30, 30]


def test_a_request_that_ends_lifts_the_hold_and_starts_over():
    holds = SaturationHolds(base_seconds=1.0)
    for now in (0.0, 1.0, 3.0):
        holds.found_full("hook", now, ceiling_seconds=30)
    holds.request_ended("hook")
    assert holds.held(3.5) == []
    assert holds.next_hold("hook", ceiling_seconds=30) == 1


def test_holds_are_kept_per_subscription():
    holds = SaturationHolds(base_seconds=0.5)
    holds.found_full("slow", 0.0, ceiling_seconds=10)
    holds.found_full("slow", 0.5, ceiling_seconds=10)
    holds.found_full("other", 0.5, ceiling_seconds=10)
    assert sorted(holds.held(0.9)) == ["other", "slow"]
    assert holds.held(1.2) == ["slow"]
    assert holds.next_hold("other", ceiling_seconds=10) == 1.0


def test_a_process_share_divides_the_limits_keeping_at_least_one():
    limits = Limits(rate_per_second=10, burst=3, max_in_flight=100)

    assert process_share(limits, 4) == Limits(rate_per_second=2.5, burst=1, max_in_flight=25)
    assert process_share(limits, 1) == limits
    assert process_share(Limits(None, None, 1), 8) == Limits(None, None, 1)


def test_without_redis_the_fallback_limits_in_process_with_its_share_and_comes_back(caplog):
    # given: a fallback limiter over a real Redis that goes away, for 4 worker processes
    redis_server = ThrowawayRedis()
    redis_server.start()
    limits = Limits(rate_per_second=None, burst=None, max_in_flight=8)

    async def scenario() -> tuple[list[int], list[bool]]:
        client = redis.asyncio.Redis.from_url(
            redis_server.url,
            socket_connect_timeout=1,
            socket_timeout=1,
            retry=Retry(NoBackoff(), 1),
        )
        limiter = FallbackLimiter(RedisLimiter(client), processes=4, probe_interval_seconds=0.1)
        admitted, degraded = [], []

        async def admit_now(members: list[str]) -> None:
            admission = await limiter.admit("w", members, limits, lease_seconds=60, slot_seconds=1)
            admitted.append(admission.admitted)
            degraded.append(limiter.degraded)

        # when: shared, then Redis gone, then back
        await admit_now([f"a{i}" for i in range(10)])
        redis_server.kill()
        await admit_now([f"b{i}" for i in range(10)])
        await admit_now([f"c{i}" for i in range(10)])
        redis_server.start()
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not limiter.degraded:
                break
        await limiter.release("w", [f"a{i}" for i in range(8)])
        await admit_now([f"d{i}" for i in range(10)])
        await limiter.close()
        return admitted, degraded

    try:
        with caplog.at_level(logging.WARNING, logger="deliveries.engine.limits"):
            admitted, degraded = asyncio.run(scenario())
    finally:
        redis_server.kill()

    # then: the shared cap of 8, then this process's quarter (2) while Redis is away, then the
    # shared cap again (a new, empty Redis); one log line each way
    assert admitted == [8, 2, 0, 8]
    assert degraded == [False, True, True, False]
    messages = [record.getMessage() for record in caplog.records]
    assert sum("shared limiter unreachable" in message for message in messages) == 1
    assert sum("limits are shared again" in message for message in messages) == 1
