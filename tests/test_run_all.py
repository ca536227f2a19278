"""`make run` in a fresh clone: the banner appears only when the web server answers, SIGINT to
`make`'s own PID stops every process it started, and no `control/` folder is left in the
repository root (SPEC 6)."""

import http.client
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.support.services import free_port
from tests.test_readme_commands import fresh_clone, newcomer_environment

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent
# Seconds `make run` may take to migrate SQLite, create the demo data and start everything.
START_TIMEOUT_SECONDS = 180
# Seconds every process may take to stop after the signal (run_all gives its children 10).
STOP_TIMEOUT_SECONDS = 30
# Seconds the README's curl walk-through may take (a dozen requests, a pre-flight check).
WALKTHROUGH_TIMEOUT_SECONDS = 90


def run_all_module():
    """scripts/run_all.py as a module (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "scripts" / "run_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_env_file_keeps_its_secret_key_and_remembers_what_the_environment_gave(tmp_path):
    # given: a first `make run` with PostgreSQL and Redis given in the environment
    run_all = run_all_module()
    env_file = tmp_path / ".env"
    given = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/shop", "REDIS_URL": "redis://x/1"}
    run_all.write_local_env(env_file, given)
    first = run_all.read_env_file(env_file)

    # when: the next `make run` with nothing in the environment, and one with DEBUG given
    run_all.write_local_env(env_file, {})
    second = run_all.read_env_file(env_file)
    run_all.write_local_env(env_file, {"DEBUG": "false"})
    third = run_all.read_env_file(env_file)

    # then: one SECRET_KEY for good (secrets at rest are encrypted with a key derived from
    # it), the database and broker remembered, the environment's value written
    assert len(first["SECRET_KEY"]) >= 50
    assert second["SECRET_KEY"] == third["SECRET_KEY"] == first["SECRET_KEY"]
    assert second["DATABASE_URL"] == given["DATABASE_URL"]
    assert second["REDIS_URL"] == given["REDIS_URL"]
    assert (second["DEBUG"], third["DEBUG"]) == ("true", "false")
    assert second["WEBHOOK_ALLOW_PRIVATE_TARGETS"] == "true"


def test_env_file_keeps_a_database_made_before_it_readable(tmp_path):
    # given: a SQLite database from a `make run` that wrote no .env (the built-in key)
    run_all = run_all_module()
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "hookline.sqlite3").write_bytes(b"")

    # when
    values = run_all.local_env_values({"HOOKLINE_VAR_DIR": str(var_dir)}, {})

    # then
    assert values["SECRET_KEY"] == run_all.BUILT_IN_DEVELOPMENT_KEY
    assert values["DATABASE_URL"] == f"sqlite:///{var_dir}/hookline.sqlite3"


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


def run_walkthrough(
    clone: Path, token: str, web_port: int, receiver_port: int
) -> subprocess.CompletedProcess[str]:
    """The README's REST API walk-through (its first shell block after "A walk-through with
    curl") run by bash in `clone`, with the token `make run` printed and this run's ports."""
    readme = (clone / "README.md").read_text()
    block = re.search(r"A walk-through with curl.*?```sh\n(.*?)```", readme, flags=re.DOTALL)
    assert block, "the README has no curl walk-through any more"
    script = (
        block[1]
        .replace("TOKEN=...", f"TOKEN={token}")
        .replace("127.0.0.1:8000", f"127.0.0.1:{web_port}")
        .replace("127.0.0.1:8001", f"127.0.0.1:{receiver_port}")
    )
    # `make run` makes .venv in the clone; this test lends it the suite's virtualenv.
    (clone / ".venv").symlink_to(VENV)
    return subprocess.run(
        ["bash", "-e", "-c", script + '\necho "walked through $WEBHOOK $DELIVERY"\n'],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=WALKTHROUGH_TIMEOUT_SECONDS,
    )


def api_get(port: int, token: str, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {token}"})
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def settled(delivery: dict) -> dict | None:
    """`delivery` once it has been sent and nothing more is due (the README resends it once)."""
    waiting = delivery.get("state") in ("pending", "sending") or not delivery.get("attempt_count")
    return None if waiting else delivery


@pytest.mark.worker
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_make_run_answers_at_the_banner_and_stops_on_a_signal_to_make(tmp_path, stop_signal):
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
        banner = "".join(make.stdout.readline() for _ in range(9))

        # when: the README's curl walk-through, as written, with the printed token
        token = re.search(r"Authorization: Token (\w+)", banner)
        assert token, banner
        walkthrough = run_walkthrough(clone, token[1], web_port, receiver_port)

        # then: the first webhook's delivery succeeded at the demo receiver, every time
        assert '"errors"' not in walkthrough.stdout, walkthrough.stdout
        webhook_id, delivery_id = walkthrough.stdout.split("walked through ")[1].split()
        delivery = wait_until(
            lambda: settled(api_get(web_port, token[1], f"/api/v1/deliveries/{delivery_id}/")),
            timeout=60,
        )
        assert delivery["webhook_id"] == webhook_id
        assert delivery["state"] == "succeeded", delivery
        assert {attempt["response_status"] for attempt in delivery["attempts"]} == {200}

        # when: the signal to make's own PID, not to its process group
        make.send_signal(stop_signal)
        make.wait(timeout=STOP_TIMEOUT_SECONDS)
        assert "Hookline stopped." in make.stdout.read()

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
