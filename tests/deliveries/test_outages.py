"""Outages of the services Hookline stands on: a PostgreSQL restart under the web server, a
Redis outage under the workers, the database gone while held-back deliveries are put back.

Each test starts the servers it stops (its own PostgreSQL cluster from initdb, its own
redis-server); everything is bounded in time and stops by itself.
"""

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import _test_database_url, wait_until
from tests.deliveries.test_restarts import Supervised
from tests.support.processes import ROOT, CeleryProcesses
from tests.support.services import ThrowawayPostgres, ThrowawayRedis, free_port
from webhooks.services import webhook_create

pytestmark = [pytest.mark.worker]


@dataclass
class MigratedPostgres:
    postgres: ThrowawayPostgres
    processes: CeleryProcesses
    token: str


@pytest.fixture(scope="module")
def migrated_postgres() -> Iterator[MigratedPostgres]:
    """A PostgreSQL cluster of the module's own, migrated, with an account and its API token."""
    postgres = ThrowawayPostgres()
    postgres.start()
    processes = CeleryProcesses(postgres.url)
    try:
        processes.manage("migrate", "--noinput", "-v", "0")
        token = processes.manage(
            "shell",
            "-c",
            "from accounts.services import account_create;"
            "print(account_create(account_name='Outages', username='outages',"
            " password='pw-123456789').token)",
        ).split()[-1]
        yield MigratedPostgres(postgres, processes, token)
    finally:
        processes.close()
        postgres.remove()


def api_status(port: int, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/webhooks/", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def web_server_statuses_around_a_restart(
    database: MigratedPostgres, health_checks: str
) -> list[int]:
    """Start gunicorn (one sync worker: one persistent connection, reused by every request)
    on the database, make requests, restart PostgreSQL, and return the statuses of the first
    requests after it is back."""
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env={
            **database.processes.environment,
            "DATABASE_CONN_MAX_AGE": "60",
            "DATABASE_CONN_HEALTH_CHECKS": health_checks,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _answers(port, database.token), timeout=30, interval=0.2)
        assert [api_status(port, database.token) for _ in range(3)] == [200, 200, 200]
        database.postgres.stop("immediate")
        database.postgres.start()
        return [api_status(port, database.token) for _ in range(3)]
    finally:
        web.terminate()
        web.wait(timeout=10)


def _answers(port: int, token: str) -> bool:
    try:
        return api_status(port, token) == 200
    except OSError:
        return False


def test_the_first_requests_after_a_database_restart_succeed(migrated_postgres):
    # given a web server holding a persistent connection (CONN_MAX_AGE 60 s), health checks on
    # when PostgreSQL restarts under it
    statuses = web_server_statuses_around_a_restart(migrated_postgres, health_checks="true")

    # then no request fails because the old connection died
    assert statuses == [200, 200, 200]


def test_without_connection_health_checks_the_first_request_after_a_restart_fails(
    migrated_postgres,
):
    # The control: the same restart with CONN_HEALTH_CHECKS off answers 500, so the test above
    # does catch a web server that reuses a dead connection.
    statuses = web_server_statuses_around_a_restart(migrated_postgres, health_checks="false")

    assert statuses[0] == 500
    assert statuses[1:] == [200, 200]


def delivery_states(postgres: ThrowawayPostgres) -> dict[str, int]:
    with psycopg2.connect(postgres.url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM deliveries_delivery GROUP BY state")
        return dict(cursor.fetchall())


def test_held_back_deliveries_are_put_back_soon_after_the_database_returns(migrated_postgres):
    # given: ten claimed deliveries of a subscription limited to 1 request/s, and a lease of
    # 120 s (the production default), so a delivery left `sending` would wait two minutes
    database = migrated_postgres
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.deliveries.deferral_driver", "http://127.0.0.1:9/", "10"],
        cwd=ROOT,
        env={**database.processes.environment, "WEBHOOK_CLAIM_LEASE_SECONDS": "120"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert driver.stdout.readline().split() == ["claimed", "10"]

        # when: the database is gone at the moment the nine held back are put back
        database.postgres.stop("immediate")
        driver.stdin.write("admit\n")
        driver.stdin.flush()
        assert driver.stdout.readline().split() == ["admitted", "1"]
        assert delivery_states_when_up(database) is None
        database.postgres.start()

        # then: within seconds of its return they wait as `pending` again, no longer claimed
        wait_until(
            lambda: delivery_states(database.postgres) == {"sending": 1, "pending": 9},
            timeout=8,
            interval=0.2,
        )
    finally:
        if driver.poll() is None:
            driver.stdin.write("stop\n")
            driver.stdin.flush()
            try:
                driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                driver.kill()


def delivery_states_when_up(database: MigratedPostgres) -> dict[str, int] | None:
    """The states, or None while the database is down."""
    try:
        return delivery_states(database.postgres)
    except psycopg2.OperationalError:
        return None


OUTAGE_EVENT = "transactions.create.v0"
OUTAGE_EVENTS = 240
OUTAGE_RATE = 10  # events per second: a 24 s stream
OUTAGE_SECONDS = 15


def received_event_ids(receiver) -> set[str]:
    return {json.loads(request.body)["event_id"] for request in receiver.requests}


def published_ids(path: Path) -> set[str]:
    return set(path.read_text().split()) if path.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_deliveries_keep_flowing_while_redis_is_down(account, receiver):
    # given: workers, scheduler and a steady publisher on a Redis of the test's own (broker,
    # cache and limiter), and a subscription with the default in-flight cap (limited)
    redis = ThrowawayRedis()
    redis.start()
    processes = CeleryProcesses(
        _test_database_url(), REDIS_URL=redis.url, WEBHOOK_LIMITER_FALLBACK_PROCESSES="2"
    )
    outfile = Path(tempfile.mkdtemp()) / "published.txt"
    try:
        webhook = webhook_create(account=account, url=receiver.url(), events=[OUTAGE_EVENT])
        assert webhook.max_in_flight is not None
        worker = Supervised(processes, "redis-outage")
        processes.start_scheduler()
        processes.run_python(
            "-m",
            "tests.support.publisher",
            str(account.id),
            OUTAGE_EVENT,
            str(OUTAGE_EVENTS),
            str(OUTAGE_RATE),
            str(outfile),
        )
        wait_until(lambda: len(received_event_ids(receiver)) >= 20, timeout=30)

        # when: Redis is down for OUTAGE_SECONDS under the stream
        redis.kill()
        down_at = time.monotonic()
        wait_until(lambda: worker.check() or time.monotonic() - down_at > 3, timeout=10)
        received_early_in_outage = len(received_event_ids(receiver))
        wait_until(lambda: worker.check() or time.monotonic() - down_at > OUTAGE_SECONDS)
        received_late_in_outage = len(received_event_ids(receiver))
        redis.start()

        # then: deliveries kept arriving during the outage (wake-ups lost with the broker: the
        # dispatcher's own polling claimed them), and afterwards every event is delivered
        delivered_in_outage = received_late_in_outage - received_early_in_outage
        print(f"redis outage: {delivered_in_outage} events delivered while it was down")
        assert delivered_in_outage >= 50, processes.logs()
        wait_until(lambda: len(published_ids(outfile)) == OUTAGE_EVENTS, timeout=60)
        expected = published_ids(outfile)
        wait_until(lambda: worker.check() or expected <= received_event_ids(receiver), timeout=60)
        worker_log = (Path(processes.folder) / "redis-outage.log").read_text(errors="replace")
        assert "shared limiter unreachable" in worker_log
        assert "limits are shared again" in worker_log
    finally:
        processes.close()
        redis.kill()
