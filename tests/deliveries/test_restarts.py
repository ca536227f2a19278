"""Fault tests: under a steady stream of events, restart Redis, restart PostgreSQL; afterwards
every event is delivered at least once, and the duplicates are counted and bounded.

Each test starts the servers it kills (its own redis-server, its own PostgreSQL cluster from
initdb) and a publisher process; everything is bounded in time and stops by itself.
"""

import json
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.services import ThrowawayPostgres, ThrowawayRedis
from webhooks.services import webhook_create

pytestmark = [pytest.mark.worker]

EVENT = "transactions.create.v0"
EVENTS = 60
RATE = 20  # events per second: the stream lasts three seconds


class Supervised:
    """Restarts a worker that exited, as docker-compose's `restart: unless-stopped` or systemd
    would in production. Kombu can end a worker on a broker connection loss (an acknowledgement
    sent over a connection already torn down: "Unrecoverable error ... 'hostname'"); the
    guarantee under test is that nothing is lost when that happens, not that it never does."""

    def __init__(self, processes: CeleryProcesses, name: str) -> None:
        self.processes = processes
        self.name = name
        self.restarts = 0
        self.worker = processes.start_worker(name, concurrency=2)

    def check(self) -> None:
        if self.worker.poll() is not None:
            self.restarts += 1
            self.worker = self.processes.start_worker(self.name, concurrency=2)


def received_counts(receiver) -> tuple[set[str], int]:
    ids = [json.loads(r.body)["event_id"] for r in receiver.requests]
    return set(ids), len(ids) - len(set(ids))


def published_ids(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.django_db(transaction=True)
def test_redis_restart_under_load_loses_no_event(account, receiver):
    # given: workers, scheduler and publisher on a Redis of the test's own
    redis = ThrowawayRedis()
    redis.start()
    processes = CeleryProcesses(_test_database_url(), REDIS_URL=redis.url)
    outfile = Path(tempfile.mkdtemp()) / "published.txt"
    try:
        webhook_create(account=account, url=receiver.url(), events=[EVENT])
        worker = Supervised(processes, "redis-fault")
        processes.start_scheduler()
        publisher = processes.run_python(
            "-m",
            "tests.support.publisher",
            str(account.id),
            EVENT,
            str(EVENTS),
            str(RATE),
            str(outfile),
        )

        # when: Redis dies once the stream runs and comes back a second later, empty
        wait_until(lambda: len(published_ids(outfile)) >= 10)
        redis.kill()
        time.sleep(1)
        redis.start()
        publisher.wait(timeout=60)

        # then
        expected = set(published_ids(outfile))
        assert len(expected) == EVENTS, processes.logs()
        wait_until(lambda: worker.check() or expected <= received_counts(receiver)[0], timeout=60)
        _, duplicates = received_counts(receiver)
        print(
            f"redis restart: {EVENTS} events, {duplicates} duplicate deliveries, "
            f"{worker.restarts} worker restarts"
        )
        assert duplicates <= 10
    finally:
        processes.close()
        redis.kill()


def test_postgres_restart_under_load_loses_no_event(receiver):
    # given: a PostgreSQL cluster of the test's own, migrated, with an account and a webhook
    postgres = ThrowawayPostgres()
    postgres.start()
    processes = CeleryProcesses(postgres.url)
    outfile = Path(tempfile.mkdtemp()) / "published.txt"
    try:
        processes.manage("migrate", "--noinput", "-v", "0")
        processes.manage("createaccount", "Faults", "faults", "--password", "pw-123456789")
        account_id = processes.manage(
            "shell",
            "-c",
            "from accounts.models import Account; from webhooks.services import webhook_create;"
            "a = Account.objects.get(name='Faults');"
            f"webhook_create(account=a, url='{receiver.url()}', events=['{EVENT}']);"
            "print(a.id)",
        ).split()[-1]
        worker = Supervised(processes, "pg-fault")
        processes.start_scheduler()
        publisher = processes.run_python(
            "-m",
            "tests.support.publisher",
            account_id,
            EVENT,
            str(EVENTS),
            str(RATE),
            str(outfile),
        )

        # when: PostgreSQL stops hard once the stream runs and starts again 1.5 s later
        wait_until(lambda: len(published_ids(outfile)) >= 10)
        postgres.stop("immediate")
        time.sleep(1.5)
        postgres.start()
        publisher.wait(timeout=60)

        # then: every committed event reaches the receiver and is recorded as succeeded
        expected = set(published_ids(outfile))
        assert len(expected) == EVENTS, processes.logs()
        wait_until(lambda: worker.check() or expected <= received_counts(receiver)[0], timeout=60)

        def succeeded() -> int:
            with psycopg2.connect(postgres.url) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM deliveries_delivery WHERE state = 'succeeded'")
                return cursor.fetchone()[0]

        wait_until(lambda: succeeded() == EVENTS, timeout=60)
        _, duplicates = received_counts(receiver)
        print(
            f"postgres restart: {EVENTS} events, {duplicates} duplicate deliveries, "
            f"{worker.restarts} worker restarts"
        )
        assert duplicates <= 10
    finally:
        processes.close()
        postgres.remove()
