"""Real Celery worker and scheduler processes for tests of the delivery path."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.settings import TEST_ENVIRONMENT

CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parents[2]


class CeleryProcesses:
    """Starts workers and a scheduler against the test database; stops them all at close."""

    def __init__(self, database_url: str, **environment: str) -> None:
        # prometheus-client's multiprocess directory, new and empty for these processes; a
        # test reads their metrics by pointing a web process at it (README "Operations").
        self.metrics_folder = environment.pop(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hookline-metrics-")
        )
        self.environment = {
            **os.environ,
            **TEST_ENVIRONMENT,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROMETHEUS_MULTIPROC_DIR": self.metrics_folder,
            **environment,
        }
        self.folder = tempfile.mkdtemp(prefix="hookline-celery-")
        self.processes: list[subprocess.Popen[bytes]] = []

    def _start(self, arguments: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.folder) / log_name, "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [CELERY, "-A", "config", *arguments],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 1) -> subprocess.Popen[bytes]:
        return self._start(
            [
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}-{len(self.processes)}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            f"{name}.log",
        )

    def run_python(self, *arguments: str) -> subprocess.Popen[bytes]:
        """Another Python process of ours (e.g. tests.support.publisher) in the same settings."""
        log = open(Path(self.folder) / "python.log", "ab")  # noqa: SIM115 - closed with it
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def manage(self, *arguments: str) -> str:
        """Run a management command to completion; returns its standard output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def start_scheduler(self) -> subprocess.Popen[bytes]:
        return self._start(
            [
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(Path(self.folder) / "beat-schedule"),
                "--pidfile",
                "",
            ],
            "scheduler.log",
        )

    @staticmethod
    def kill(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
        """Kill the process group: a prefork worker's children die with their parent."""
        if process.poll() is None:
            os.killpg(process.pid, signum)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in Path(self.folder).glob("*.log")
        )

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
