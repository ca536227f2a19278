"""When the n-th retry of a delivery is due (SPEC section 3).

The n-th retry (n = 1, 2, ...) waits ``base x e^min(n-1, MAX_EXPONENT)`` seconds after the failed
attempt. With the default base of 30 s that is 30 s, 81.5 s, 221.7 s, 602.6 s, ... 89,428.7 s for
the 9th retry and 243,092.5 s (about 2.8 days) for the 10th and every later one. The SPEC's prose
figures (89,317 s, 242,826 s) are rounded approximations; the formula is the contract.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

# Dimensionless; the SPEC fixes it. Growth stops at the 10th retry (n - 1 = 9) because e^9 x 30 s
# is already about 2.8 days, over a third of the 7-day retention: waiting longer would only make a
# recovered endpoint wait days for its backlog. It is also the bound we put on a Retry-After.
MAX_EXPONENT = 9


def retry_delay(
    retry_number: int,
    *,
    base_seconds: float,
    jitter: float,
    random_fraction: Callable[[], float] = random.random,
) -> float:
    """Return the delay in seconds before retry ``retry_number`` (1 for the first retry).

    ``jitter`` j spreads the delay d uniformly over ``[d*(1-j), d*(1+j)]`` using
    ``random_fraction()``, a number in [0, 1); j = 0 gives exactly d and does not call it.
    Spreading keeps endpoints that failed together from being retried together.

    Raises ``ValueError`` for ``retry_number < 1``, a negative base, or a jitter outside [0, 1].
    """
    if retry_number < 1:
        raise ValueError(f"retry_number must be 1 or more, got {retry_number}")
    if base_seconds < 0:
        raise ValueError(f"base_seconds must not be negative, got {base_seconds}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be a fraction between 0 and 1, got {jitter}")
    delay = base_seconds * math.exp(min(retry_number - 1, MAX_EXPONENT))
    if jitter == 0:
        return delay
    return delay * (1 - jitter + 2 * jitter * random_fraction())


def backoff_cap(base_seconds: float) -> float:
    """Return the longest un-jittered delay, ``base x e^MAX_EXPONENT`` seconds.

    Bounds a receiver's ``Retry-After``: a receiver may ask us to wait, not to wait forever.
    Raises ``ValueError`` for a negative base.
    """
    if base_seconds < 0:
        raise ValueError(f"base_seconds must not be negative, got {base_seconds}")
    return base_seconds * math.exp(MAX_EXPONENT)
