"""`make run`: write the local `.env`, migrate, create the demo data, and run web, worker,
scheduler and a demo receiver until Ctrl-C (or SIGINT / SIGTERM to `make` or to this script),
which stops them all.

Without DATABASE_URL / REDIS_URL everything runs on the embedded default (SQLite, a filesystem
broker), so nothing but Python is needed. `--write-env-only` writes the `.env` and exits.
"""

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# How the README's commands name this interpreter.
PYTHON_HINT = ".venv/bin/python"
WEB_PORT = int(os.environ.get("WEB_PORT", "8000"))
RECEIVER_PORT = int(os.environ.get("RECEIVER_PORT", "8001"))
ENV_FILE = ROOT / ".env"
METRICS_FOLDER = ROOT / "var" / "metrics"
# The demo receiver also accepts this secret, and the README's walk-through creates its webhook
# with it, so a newcomer's first webhook verifies without copying a generated secret around.
WALKTHROUGH_SECRET = "hookline-walkthrough-secret"  # noqa: S105 (public by design, local demo)
# The key config.settings falls back to under DEBUG; a database made by `make run` before it
# wrote a `.env` holds secrets encrypted with a key derived from it.
BUILT_IN_DEVELOPMENT_KEY = "insecure-development-key-change-me"
# Seconds to wait for the web server's first answer on /healthz before giving up: migrations
# are done by then, so this is only gunicorn importing the project (a few seconds).
WEB_START_TIMEOUT_SECONDS = 120
# Seconds between polls, of /healthz while starting and of the children while running.
POLL_INTERVAL_SECONDS = 0.2
# Seconds the children get to stop gracefully (gunicorn and Celery finish what they hold).
STOP_TIMEOUT_SECONDS = 10
# Signals with which `make` (GNU make) ends: while it handles one it keeps it blocked and waits
# for its children without passing SIGINT on, so a child sees it only in make's blocked mask.
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of a `.env` file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def local_env_values(environ: Mapping[str, str], existing: Mapping[str, str]) -> dict[str, str]:
    """What `make run` leaves in `.env` for development: the environment's values first, then
    those already in the file, then the development defaults. Other keys in the file stay."""

    def pick(name: str, default: str | None) -> str | None:
        return environ.get(name) or existing.get(name) or default

    var_dir = Path(pick("HOOKLINE_VAR_DIR", None) or ROOT / "var")
    sqlite_path = var_dir / "hookline.sqlite3"
    database_url = pick("DATABASE_URL", f"sqlite:///{sqlite_path}")
    secret_key = pick("SECRET_KEY", None)
    if secret_key is None:
        # A SQLite database from a `make run` before `.env` existed was encrypted with the
        # built-in key: keep it, or its webhooks' secrets could no longer be read.
        legacy = database_url == f"sqlite:///{sqlite_path}" and sqlite_path.exists()
        secret_key = BUILT_IN_DEVELOPMENT_KEY if legacy else secrets.token_urlsafe(50)
    values = dict(existing)
    managed = {
        "DEBUG": pick("DEBUG", "true"),
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "REDIS_URL": pick("REDIS_URL", None),
        "HOOKLINE_VAR_DIR": pick("HOOKLINE_VAR_DIR", None),
        "WEBHOOK_ALLOW_HTTP_LOCAL": pick("WEBHOOK_ALLOW_HTTP_LOCAL", "true"),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": pick("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
    }
    values.update({name: value for name, value in managed.items() if value is not None})
    return values


def write_local_env(path: Path = ENV_FILE, environ: Mapping[str, str] = os.environ) -> Path:
    """Write (or bring up to date) the development `.env` that manage.py, Celery and gunicorn
    read, so every README command works outside `make run` too. Returns its path."""
    values = local_env_values(environ, read_env_file(path))
    lines = [
        "# Written by `make run` (scripts/run_all.py) for local development; git-ignored.",
        "# Environment variables win over these. Production sets its own environment.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # it holds SECRET_KEY
    return path


def parent_is_stopping(parent: int) -> bool:
    """Whether `parent` (make) is handling a stopping signal: GNU make blocks SIGINT while it
    waits for its children after one, and never passes it on. Linux only (/proc)."""
    try:
        status = Path(f"/proc/{parent}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigBlk:"):
            blocked = int(line.split()[1], 16)
            return any(blocked & (1 << (signum - 1)) for signum in STOPPING_SIGNALS)
    return False


def web_answers(port: int) -> bool:
    """Whether the web server on 127.0.0.1:`port` answers /healthz with 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument(
        "--write-env-only", action="store_true", help="write the local .env and exit"
    )
    if arguments.parse_args().write_env_only:
        print(f"wrote {write_local_env()}")
        return 0
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    # Before anything starts, so a signal during set-up still stops what was started.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    write_local_env()
    env = {
        **os.environ,
        # The children import this checkout's code, whichever checkout the venv was made in.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        # prometheus-client's multiprocess directory, shared by web and worker processes so
        # /metrics shows them all; emptied at each start (the values of processes gone).
        "PROMETHEUS_MULTIPROC_DIR": str(METRICS_FOLDER),
    }
    shutil.rmtree(METRICS_FOLDER, ignore_errors=True)
    METRICS_FOLDER.mkdir(parents=True)
    (ROOT / "var" / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    demo = subprocess.run(
        [*manage, "demo", "--receiver-url", f"http://127.0.0.1:{RECEIVER_PORT}/webhooks"],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    credentials = json.loads(demo.stdout.strip().splitlines()[-1])
    if stopping:
        print("Hookline stopped before it started.", flush=True)
        return 1
    processes = {
        "receiver": [
            *manage,
            "receiver",
            "--port",
            str(RECEIVER_PORT),
            "--secret",
            credentials["secret"],
            "--secret",
            WALKTHROUGH_SECRET,
        ],
        # As in production (docker-compose.yml): uvicorn workers under gunicorn, so a slow
        # client holds a socket, not a worker.
        "web": [
            str(BIN / "gunicorn"),
            "config.asgi",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            "2",
            "--timeout",
            "120",
            "--keep-alive",
            "5",
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
        ],
        "scheduler": [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(ROOT / "var" / "celerybeat-schedule"),
        ],
    }
    children = {
        name: subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
        for name, command in processes.items()
    }
    web = f"http://127.0.0.1:{WEB_PORT}"
    exit_code = 0
    # `make run` starts this script. SIGTERM to make alone is passed on to us; SIGINT to make
    # alone is not (make waits for us with it blocked), and when make is gone this process is
    # handed to another parent: each of these is the signal to stop too.
    parent = os.getppid()

    def check_children() -> None:
        nonlocal stopping, exit_code
        if os.getppid() != parent:
            print("the process that started Hookline has ended; stopping", flush=True)
            stopping = True
        elif parent_is_stopping(parent):
            print("the process that started Hookline is stopping; stopping", flush=True)
            stopping = True
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with status {child.returncode}; stopping", flush=True)
                stopping, exit_code = True, 1

    # The banner only once the web server answers, so its addresses work when it appears.
    started_deadline = time.monotonic() + WEB_START_TIMEOUT_SECONDS
    while not stopping and not web_answers(WEB_PORT):
        check_children()
        if time.monotonic() > started_deadline:
            print(f"web did not answer within {WEB_START_TIMEOUT_SECONDS} s; stopping", flush=True)
            stopping, exit_code = True, 1
        time.sleep(POLL_INTERVAL_SECONDS)
    if not stopping:
        print(
            f"""
Hookline is running (Ctrl-C stops everything).
  Dashboard   {web}/   user {credentials["username"]} / password {credentials["password"]}
  API         {web}/api/v1/   Authorization: Token {credentials["token"]}
  API docs    {web}/api/docs/
  Receiver    http://127.0.0.1:{RECEIVER_PORT}/stats
              (the demo webhook {credentials["webhook_id"]} points here; it also verifies
              webhooks whose secret is {WALKTHROUGH_SECRET}, as in the README)
  Health      {web}/healthz
  Commands    {PYTHON_HINT} manage.py <command>   (settings from .env)
""",
            flush=True,
        )
    while not stopping:
        check_children()
        time.sleep(POLL_INTERVAL_SECONDS)
    for child in children.values():
        if child.poll() is None:
            # The main process only: gunicorn and Celery stop their own workers gracefully.
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    print("Hookline stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
