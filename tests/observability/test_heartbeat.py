"""docker-compose's worker and scheduler health checks: each process touches its HEARTBEAT_FILE
while it works, and the checks look at that file's age."""

import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.worker
def test_worker_and_scheduler_touch_their_heartbeat_files(transactional_db):
    # given: a worker and a scheduler, each with a heartbeat file of its own
    folder = Path(tempfile.mkdtemp(prefix="hookline-heartbeat-"))
    worker_file, scheduler_file = folder / "worker", folder / "scheduler"
    worker = CeleryProcesses(_test_database_url(), HEARTBEAT_FILE=str(worker_file))
    scheduler = CeleryProcesses(_test_database_url(), HEARTBEAT_FILE=str(scheduler_file))
    try:
        # when: the scheduler sends its ticks, the worker runs them
        worker.start_worker("heartbeat", concurrency=1)
        scheduler.start_scheduler()

        # then
        wait_until(lambda: worker_file.exists() and scheduler_file.exists(), timeout=30)
    finally:
        worker.close()
        scheduler.close()


def test_compose_health_checks_read_the_heartbeat_files():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("worker", "scheduler"):
        heartbeat = services[name]["environment"]["HEARTBEAT_FILE"]
        assert heartbeat in " ".join(services[name]["healthcheck"]["test"]), name
