"""Where the machine's CPU went during a scenario, by role (PostgreSQL, workers, receiver, ...).

Reads every process's user + system time from /proc before and after, so a figure that misses
its target can say which process ate the cores. Processes that exit in between (short-lived
PostgreSQL backends) are counted up to their last reading only.
"""

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

# First match wins: (role, substring of the command line).
ROLES = (
    ("receiver", "bench/receiver.py"),
    ("raw baseline", "bench/baseline_raw.py"),
    ("task baseline", "bench.baseline_tasks"),
    ("embedded publisher", "bench/embedded.py"),
    ("hookline workers", "celery"),
    ("postgresql", "postgres"),
    ("redis", "redis-server"),
)


def _role(pid: int, command_line: str) -> str:
    if pid == os.getpid():
        return "publisher (bench)"
    for role, marker in ROLES:
        if marker in command_line:
            return role
    return "other"


def cpu_seconds_by_process() -> dict[int, tuple[str, float]]:
    readings: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # Fields after the parenthesised name: utime and stime are the 12th and 13th.
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
        pid = int(entry.name)
        readings[pid] = (_role(pid, command_line), seconds)
    return readings


class CpuMeter:
    """`with CpuMeter() as meter: ...` then `meter.shares()`: role -> cores used on average."""

    def __enter__(self) -> "CpuMeter":
        self.before = cpu_seconds_by_process()
        self.started = _uptime()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.after = cpu_seconds_by_process()
        self.elapsed = _uptime() - self.started

    def shares(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, (role, seconds) in self.after.items():
            earlier = self.before.get(pid, (role, 0.0))[1]
            used[role] = used.get(role, 0.0) + seconds - earlier
        return {
            role: seconds / self.elapsed
            for role, seconds in sorted(used.items(), key=lambda item: -item[1])
            if seconds > 0
        }


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def describe(shares: dict[str, float]) -> str:
    return ", ".join(f"{role} {cores:.2f}" for role, cores in shares.items() if cores >= 0.01)
