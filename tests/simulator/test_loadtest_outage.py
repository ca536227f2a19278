"""The load tester through a database restart: it reconnects and still prints its report."""

import json
import subprocess
import sys
import time

import psycopg2
import pytest

from tests.conftest import wait_until
from tests.support.processes import ROOT, CeleryProcesses
from tests.support.services import ThrowawayPostgres

pytestmark = [pytest.mark.worker]

RATE = 20  # events per second
DURATION = 6  # seconds: the restart falls in the middle


def published_events(postgres: ThrowawayPostgres) -> int:
    try:
        with psycopg2.connect(postgres.url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events_event")
            return int(cursor.fetchone()[0])
    except psycopg2.Error:
        return 0


def test_a_database_restart_mid_run_still_ends_with_a_report():
    # given: a PostgreSQL cluster of the test's own, migrated (no worker: the report is what
    # is under test, not the deliveries)
    postgres = ThrowawayPostgres()
    postgres.start()
    processes = CeleryProcesses(postgres.url)
    try:
        processes.manage("migrate", "--noinput", "-v", "0")
        run = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "loadtest",
                "--url",
                "http://127.0.0.1:9/hooks",
                "--events",
                "products.create.v0",
                "--rate",
                str(RATE),
                "--duration",
                str(DURATION),
                "--drain-seconds",
                "1",
                "--json",
                "-",
            ],
            cwd=ROOT,
            env=processes.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

        # when: PostgreSQL stops hard once events are being published, and starts 1 s later
        wait_until(lambda: published_events(postgres) >= 10, timeout=30, interval=0.1)
        postgres.stop("immediate")
        time.sleep(1)
        postgres.start()
        try:
            stdout, stderr = run.communicate(timeout=90)
        finally:
            if run.poll() is None:
                run.kill()

        # then: it exits normally with its report, every planned event published
        assert run.returncode == 0, stderr[-3000:]
        assert "Load test report" in stderr
        assert "Traceback" not in stderr
        report = json.loads(stdout)
        assert report["events_published"] == RATE * DURATION
        assert report["extra"]["database_errors"] > 0
    finally:
        processes.close()
        postgres.remove()
