import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.test import TransactionTestCase

from accounts.services import account_create
from simulator.receiver import ReceiverConfig
from tests.support.processes import CeleryProcesses
from tests.support.receivers import ScriptedReceiver
from tests.support.reference_receiver import RunningReceiver

# Attempts at flushing the test database after a test that ran with real workers.
FLUSH_ATTEMPTS = 5


@pytest.fixture(scope="session", autouse=True)
def _flush_survives_a_worker_deadlock() -> Iterator[None]:
    """Retry the flush that ends a transactional test when PostgreSQL picks it as a deadlock's
    victim. A module's workers keep claiming while the test database is truncated between its
    tests; TRUNCATE takes its locks table by table, a claim's transaction takes them in another
    order, and PostgreSQL then aborts one of the two. The worker retries its claim by design;
    the flush did not, which left the next test a dirty database."""
    original = TransactionTestCase._fixture_teardown

    def teardown(self: TransactionTestCase) -> None:
        for attempt in range(FLUSH_ATTEMPTS):
            try:
                original(self)
                return
            except CommandError as error:
                if "deadlock" not in str(error.__cause__) or attempt == FLUSH_ATTEMPTS - 1:
                    raise
                time.sleep(0.2)

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]
    yield
    TransactionTestCase._fixture_teardown = original  # type: ignore[method-assign]


def wait_until(predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; return its value or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> None:
    # The tests' own Redis database: wake-up keys of an earlier run must not linger.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningReceiver]]:
    """Starts reference receivers (simulator.receiver) on 127.0.0.1 with the given config;
    stops them after the test."""
    started: list[RunningReceiver] = []

    def start(**config: Any) -> RunningReceiver:
        running = RunningReceiver(ReceiverConfig(**config))
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver()
    yield server
    server.close()


@pytest.fixture
def account_with_token(db: None) -> Any:
    return account_create(account_name="Acme Retail", username="acme", password="pw-123456789")


@pytest.fixture
def account(account_with_token: Any) -> Any:
    return account_with_token.account


def _test_database_url() -> str:
    params = connection.settings_dict
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    user = params.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryProcesses]:
    """A worker (two processes) and a scheduler on the test database, for one test module."""
    with django_db_blocker.unblock():
        processes = CeleryProcesses(_test_database_url())
    processes.start_worker("stack", concurrency=2)
    processes.start_scheduler()
    yield processes
    processes.close()
