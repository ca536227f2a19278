"""`make run`: migrate, create the demo data, and run web, worker, scheduler and a demo receiver
until Ctrl-C, which stops them all.

Without DATABASE_URL / REDIS_URL everything runs on the embedded default (SQLite, a filesystem
broker), so nothing but Python is needed.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
WEB_PORT = int(os.environ.get("WEB_PORT", "8000"))
RECEIVER_PORT = int(os.environ.get("RECEIVER_PORT", "8001"))


def main() -> int:
    env = {
        **os.environ,
        "DEBUG": os.environ.get("DEBUG", "true"),
        "WEBHOOK_ALLOW_HTTP_LOCAL": os.environ.get("WEBHOOK_ALLOW_HTTP_LOCAL", "true"),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": os.environ.get("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        "PYTHONUNBUFFERED": "1",
    }
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
    processes = {
        "receiver": [
            *manage,
            "receiver",
            "--port",
            str(RECEIVER_PORT),
            "--secret",
            credentials["secret"],
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
    print(
        f"""
Hookline is running (Ctrl-C stops everything).
  Dashboard   {web}/   user {credentials["username"]} / password {credentials["password"]}
  API         {web}/api/v1/   Authorization: Token {credentials["token"]}
  API docs    {web}/api/docs/
  Receiver    http://127.0.0.1:{RECEIVER_PORT}/stats
              (the demo webhook {credentials["webhook_id"]} points here)
  Health      {web}/healthz
""",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    # `make run` starts this script; a SIGTERM sent to make alone ends make without passing it
    # on, and this process is then handed to another parent: that is the signal to stop too.
    parent = os.getppid()
    while not stopping:
        if os.getppid() != parent:
            print("the process that started Hookline has ended; stopping", flush=True)
            stopping = True
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with status {child.returncode}; stopping", flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            # The main process only: gunicorn and Celery stop their own workers gracefully.
            child.terminate()
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    print("Hookline stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
