"""`make run` in a fresh clone: the banner appears only when the web server answers, SIGINT to
`make`'s own PID stops every process it started, and no `control/` folder is left in the
repository root (SPEC 6)."""

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.services import free_port
from tests.test_readme_commands import fresh_clone, newcomer_environment

VENV = Path(sys.executable).parent.parent
# Seconds `make run` may take to migrate SQLite, create the demo data and start everything.
START_TIMEOUT_SECONDS = 180
# Seconds every process may take to stop after the signal (run_all gives its children 10).
STOP_TIMEOUT_SECONDS = 30


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc (children in sessions of their own too)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def healthz_status(port: int) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.mark.worker
def test_make_run_answers_at_the_banner_and_stops_on_sigint_to_make(tmp_path):
    # given: a fresh clone, run with this virtualenv (never reinstalled: -o) on free ports
    clone = fresh_clone(tmp_path / "hookline")
    web_port, receiver_port = free_port(), free_port()
    environment = {
        **newcomer_environment(),
        "WEB_PORT": str(web_port),
        "RECEIVER_PORT": str(receiver_port),
    }
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={VENV}", "-o", f"{VENV}/.installed"],
        cwd=clone,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started: set[int] = set()
    try:
        # when: the banner appears
        assert make.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        output = []
        while time.monotonic() < deadline:
            line = make.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Hookline is running"):
                break
        assert output and output[-1].startswith("Hookline is running"), "".join(output[-40:])

        # then: the web server answers at that moment
        assert healthz_status(web_port) == 200
        started = descendants(make.pid)
        assert len(started) >= 5  # run_all, web, worker, scheduler, receiver (and their workers)

        # when: SIGINT to make's own PID, not to its process group
        make.send_signal(signal.SIGINT)
        make.wait(timeout=STOP_TIMEOUT_SECONDS)
        rest = make.stdout.read()
        assert "is stopping; stopping" in rest
        assert "Hookline stopped." in rest

        # then: every process it started has ended, within the bound
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.2)
        assert not [pid for pid in started if alive(pid)]
        assert healthz_status(web_port) is None
        assert not (clone / "control").exists()
        assert (clone / "var" / "broker" / "control").is_dir()
        assert (clone / ".env").exists()
    finally:
        for pid in [make.pid, *started]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        make.wait(timeout=10)
