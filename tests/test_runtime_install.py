"""The runtime dependencies alone (what the Dockerfile installs, no dev extra) run web, worker
and scheduler against PostgreSQL and Redis (issue 12 item 7)."""

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests

from tests.conftest import _test_database_url, wait_until
from tests.settings import TEST_ENVIRONMENT
from tests.support.web_server import WebServer

ROOT = Path(__file__).resolve().parent.parent
# Seconds each process must stay up: Kombu's Redis transport is imported, and a worker missing
# one of its dependencies dies, within the first second or two of start-up.
STAY_UP_SECONDS = 5


def _runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def _runtime_venv(folder: Path) -> Path:
    """A virtualenv with `[project].dependencies` only; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    bin_folder = folder / "bin"
    installed = subprocess.run(
        [str(bin_folder / "pip"), "install", "-q", *_runtime_dependencies()],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bin_folder


@pytest.mark.worker
@pytest.mark.timeout(420)
def test_runtime_dependencies_alone_run_web_worker_and_scheduler(db, tmp_path):
    # given: a virtualenv with the runtime dependencies only
    bin_folder = _runtime_venv(tmp_path / "venv")
    environment = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The code comes from the working tree, as the Dockerfile's WORKDIR provides it.
        "PYTHONPATH": str(ROOT),
        "VIRTUAL_ENV": str(tmp_path / "venv"),
    }
    for name in ("PYTHONHOME", "PYTHONSTARTUP"):
        environment.pop(name, None)
    assert TEST_ENVIRONMENT["REDIS_URL"].startswith("redis://")

    # when: web (the production command), worker and scheduler start from it
    web = WebServer({"DATABASE_URL": _test_database_url()}, bin_folder=bin_folder)
    celery = str(bin_folder / "celery")
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "scheduler")}
    commands = {
        "worker": [celery, "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        "scheduler": [
            celery,
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
    }
    processes = {}
    try:
        for name, command in commands.items():
            with open(logs[name], "wb") as log:
                processes[name] = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        wait_until(
            lambda: (
                "ready." in logs["worker"].read_text(errors="replace")
                or processes["worker"].poll() is not None
            ),
            timeout=60,
        )
        web.wait_until_serving(timeout=60)
        time.sleep(STAY_UP_SECONDS)

        # then: each is alive and the web answers, ready, on PostgreSQL and Redis
        for name, process in processes.items():
            assert process.poll() is None, f"{name} died:\n{logs[name].read_text()[-3000:]}"
        assert web.process.poll() is None, web.logs()
        ready = requests.get(f"{web.base_url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["broker"] is True
        # (beat's own INFO lines are silenced by LOGGING; its banner says it got going)
        assert "is starting." in logs["scheduler"].read_text(errors="replace")
    finally:
        web.close()
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
