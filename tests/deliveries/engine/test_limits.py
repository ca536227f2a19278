import asyncio

import pytest

from deliveries.engine.limits import InProcessLimiter, Limits, SaturationHolds, spread_retries


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
