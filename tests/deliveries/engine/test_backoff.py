import math

import pytest

from deliveries.engine.backoff import MAX_EXPONENT, backoff_cap, retry_delay

BASE = 30.0


def no_jitter(retry_number: int) -> float:
    return retry_delay(retry_number, base_seconds=BASE, jitter=0)


@pytest.mark.parametrize(
    ("retry_number", "expected_seconds"),
    [
        (1, 30.0),
        (2, 81.548),
        (3, 221.672),
        (4, 602.566),
        (5, 1637.945),
        (9, 89_428.740),
        (10, 243_092.518),
    ],
)
def test_retry_delay_follows_base_times_e_to_the_n_minus_one(
    retry_number: int, expected_seconds: float
) -> None:
    assert no_jitter(retry_number) == pytest.approx(expected_seconds, abs=0.001)


def test_retry_delay_is_close_to_the_spec_prose_figures() -> None:
    # The SPEC rounds its prose figures (89,317 s and 242,826 s); they are within 0.2 % of it.
    assert no_jitter(9) == pytest.approx(89_317, rel=0.002)
    assert no_jitter(10) == pytest.approx(242_826, rel=0.002)


def test_retry_delay_stops_growing_at_the_cap_from_the_tenth_retry_on() -> None:
    cap = backoff_cap(BASE)

    assert MAX_EXPONENT == 9
    assert cap == BASE * math.exp(9)
    assert no_jitter(9) < cap
    assert [no_jitter(n) for n in (10, 11, 50, 10_000)] == [cap] * 4


def test_retry_delay_grows_strictly_until_the_cap() -> None:
    delays = [no_jitter(n) for n in range(1, 11)]

    assert delays == sorted(delays)
    assert len(set(delays)) == 10


def test_jitter_spreads_the_delay_over_plus_minus_the_fraction() -> None:
    def with_fraction(fraction: float) -> float:
        return retry_delay(3, base_seconds=BASE, jitter=0.1, random_fraction=lambda: fraction)

    d = no_jitter(3)
    assert with_fraction(0.0) == pytest.approx(d * 0.9)
    assert with_fraction(0.5) == pytest.approx(d)
    assert with_fraction(0.999999) == pytest.approx(d * 1.1, rel=1e-6)
    assert with_fraction(0.999999) < d * 1.1


def test_jitter_with_the_real_random_source_stays_within_bounds() -> None:
    d = no_jitter(4)

    delays = [retry_delay(4, base_seconds=BASE, jitter=0.25) for _ in range(500)]

    assert all(d * 0.75 <= delay <= d * 1.25 for delay in delays)
    assert len(set(delays)) > 1


def test_zero_jitter_does_not_consult_the_random_source() -> None:
    def explode() -> float:
        raise AssertionError("random_fraction called with jitter=0")

    assert retry_delay(2, base_seconds=BASE, jitter=0, random_fraction=explode) == no_jitter(2)


def test_base_scales_the_whole_schedule() -> None:
    # Tests compress time through the base setting.
    assert retry_delay(3, base_seconds=0.01, jitter=0) == pytest.approx(0.01 * math.e**2)
    assert retry_delay(3, base_seconds=0, jitter=0.5, random_fraction=lambda: 0.3) == 0


@pytest.mark.parametrize(
    ("retry_number", "base_seconds", "jitter"),
    [(0, 30, 0), (-1, 30, 0), (1, -1, 0), (1, 30, -0.1), (1, 30, 1.5)],
)
def test_retry_delay_rejects_invalid_arguments(
    retry_number: int, base_seconds: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        retry_delay(retry_number, base_seconds=base_seconds, jitter=jitter)


def test_backoff_cap_rejects_a_negative_base() -> None:
    with pytest.raises(ValueError):
        backoff_cap(-1)
