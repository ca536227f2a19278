"""A file touched while a Celery process does its work, for container health checks that
must not load the application (`celery inspect ping` imports all of it on every probe)."""

import contextlib
import time
from pathlib import Path

# Seconds between touches at most: each is a system call on the task path, and the health
# checks (docker-compose.yml) want one within the last minute.
HEARTBEAT_INTERVAL_SECONDS = 5.0

_last_touch = 0.0


def heartbeat_touch(path: str) -> None:
    """Touch `path` (create it if missing) unless that was done within the interval; a
    process that cannot write it carries on (the check then reports it)."""
    global _last_touch
    now = time.monotonic()
    if not path or now - _last_touch < HEARTBEAT_INTERVAL_SECONDS:
        return
    _last_touch = now
    with contextlib.suppress(OSError):
        Path(path).touch()
