"""The fake world's clock: milliseconds since the epoch, and their ISO 8601 text.

Seeded generators run on a simulated clock that starts at a fixed moment and moves forward a
random step per event, so the same seed gives the same timestamps on any machine, any day.
Unseeded generators follow the wall clock.
"""

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# 2026-01-12 16:30:00 UTC (17:30 in Berlin), a Monday afternoon: the simulated stream starts
# with the shop open since the morning, so the first balance closes a full day.
SEEDED_START_MS = int(datetime(2026, 1, 12, 16, 30, tzinfo=UTC).timestamp() * 1000)

try:
    SHOP_TIMEZONE: timezone | ZoneInfo = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # no tz database (e.g. Windows without tzdata): winter time
    SHOP_TIMEZONE = timezone(timedelta(hours=1), "CET")

# Simulated time between two events, in milliseconds: 4 s to 90 s, so 1,000 events span about
# half a day and shifts, deliveries and price changes spread out like they would in a shop.
STEP_MIN_MS = 4_000
STEP_MAX_MS = 90_000

DAY_MS = 86_400_000


class Clock:
    """Returns non-decreasing millisecond timestamps, simulated when seeded."""

    def __init__(self, rng: random.Random, *, simulated: bool) -> None:
        self._rng = rng
        self._simulated = simulated
        self.now_ms = SEEDED_START_MS if simulated else time.time_ns() // 1_000_000

    def tick(self) -> int:
        """Moves to the moment of the next event and returns it (ms since the epoch)."""
        if self._simulated:
            self.now_ms += self._rng.randint(STEP_MIN_MS, STEP_MAX_MS)
        else:
            self.now_ms = max(self.now_ms + 1, time.time_ns() // 1_000_000)
        return self.now_ms


def iso(ms: int) -> str:
    """Returns `2026-01-12T08:00:00.000Z` for a millisecond timestamp."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def date_and_time(ms: int) -> dict[str, object]:
    """Returns the schemas' `{iso, unix}` pair used by transactions and their parts."""
    return {"iso": iso(ms), "unix": ms}


def compact_stamp(ms: int) -> str:
    """Returns `yyyyMMddHHmmssSSS`, the tail of a POS guid."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds)) + f"{millis:03d}"


def opening_time_before(ms: int) -> int:
    """Returns the last 08:00 shop time at least half an hour before `ms` (when a register
    that booked nothing yet was opened)."""
    moment = datetime.fromtimestamp(ms / 1000, SHOP_TIMEZONE)
    opening = moment.replace(hour=8, minute=0, second=0, microsecond=0)
    if opening > moment - timedelta(minutes=30):
        opening -= timedelta(days=1)
    return int(opening.timestamp() * 1000)


def receipt_stamp(ms: int) -> str:
    """Returns `12.01.2026 08:00:04`, the shop's local time as printed on a receipt."""
    moment = datetime.fromtimestamp(ms // 1000, SHOP_TIMEZONE)
    return moment.strftime("%d.%m.%Y %H:%M:%S")
