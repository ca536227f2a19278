import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts.services import account_create
from tests.support.processes import CeleryProcesses
from tests.support.receivers import ScriptedReceiver


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


@pytest.fixture(scope="session")
def celery_processes(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryProcesses]:
    """Factory of real worker/scheduler processes for one test session (stopped at its end)."""
    with django_db_blocker.unblock():
        url = _test_database_url()
    processes = CeleryProcesses(url)
    yield processes
    processes.close()


@pytest.fixture(scope="session")
def delivery_stack(celery_processes: CeleryProcesses) -> CeleryProcesses:
    """One worker (two processes) and one scheduler, shared by the delivery tests."""
    celery_processes.start_worker("stack", concurrency=2)
    celery_processes.start_scheduler()
    return celery_processes
