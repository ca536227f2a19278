"""/healthz (liveness), /readyz (readiness) and the bearer token on /metrics (SPEC 6)."""

import os
from collections.abc import Iterator

import pytest
import requests
from django.test import Client, override_settings

from tests.conftest import _test_database_url
from tests.support.services import ThrowawayPostgres, ThrowawayRedis
from tests.support.web_server import WebServer


def test_healthz_answers_without_touching_the_database(client: Client):
    # No database fixture: any query here would fail the test.
    for path in ("/healthz", "/healthz/"):
        response = client.get(path)

        assert response.status_code == 200, path
        assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency_and_the_queue_depth(client: Client):
    for path in ("/readyz", "/readyz/"):
        response = client.get(path)

        assert response.status_code == 200, path
        assert response.json() == {
            "status": "ok",
            "database": True,
            "broker": True,
            "limiter": True,
            "queue_depth": 0,
        }


@pytest.mark.django_db
def test_metrics_are_open_without_a_token_setting(client: Client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert "hookline_deliveries_due 0" in response.content.decode()


@pytest.mark.django_db
@override_settings(WEBHOOK_METRICS_TOKEN="metrics-token-123")
def test_metrics_want_the_bearer_token_when_one_is_set(client: Client):
    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}),
        client.get("/metrics", headers={"Authorization": "Token metrics-token-123"}),
        client.get("/metrics", headers={"Authorization": "Bearer metrics-token-12"}),
    ]
    accepted = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-123"})

    for response in refused:
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "metrics-token-123" not in response.content.decode()
    assert accepted.status_code == 200
    assert "hookline_deliveries_due" in accepted.content.decode()


def _readyz(server: WebServer) -> tuple[int, dict[str, object]]:
    response = requests.get(f"{server.base_url}/readyz", timeout=10)
    return response.status_code, response.json()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    postgres = ThrowawayPostgres()
    postgres.start()
    yield postgres
    postgres.remove()


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    redis_server = ThrowawayRedis()
    redis_server.start()
    yield redis_server
    redis_server.kill()


@pytest.mark.worker
def test_readyz_is_503_when_the_broker_or_the_database_is_down(throwaway_postgres, throwaway_redis):
    # given: the production web server on a database and a Redis of the test's own
    server = WebServer(
        {"DATABASE_URL": throwaway_postgres.url, "REDIS_URL": throwaway_redis.url},
    )
    try:
        server.wait_until_serving()
        status, body = _readyz(server)
        assert (status, body["status"], body["database"], body["broker"]) == (200, "ok", True, True)

        # when: Redis (broker and limiter) goes away
        throwaway_redis.kill()
        status, body = _readyz(server)

        # then
        assert status == 503
        assert body["status"] == "unavailable"
        assert (body["database"], body["broker"], body["limiter"]) == (True, False, False)

        # when: the database goes away too
        throwaway_postgres.stop()
        status, body = _readyz(server)

        # then: still alive, not ready
        assert status == 503
        assert (body["database"], body["queue_depth"]) == (False, None)
        assert requests.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
    finally:
        server.close()


@pytest.mark.worker
def test_an_unreachable_limiter_degrades_but_keeps_the_service_ready(db, throwaway_redis):
    # given: the broker on the tests' Redis, the shared limiter on a Redis of the test's own
    server = WebServer(
        {
            "DATABASE_URL": _test_database_url(),
            "CELERY_BROKER_URL": os.environ["REDIS_URL"],
            "REDIS_URL": throwaway_redis.url,
        },
    )
    try:
        server.wait_until_serving()
        assert _readyz(server)[1]["limiter"] is True

        # when
        throwaway_redis.kill()
        status, body = _readyz(server)

        # then
        assert status == 200
        assert body["status"] == "ok"
        assert (body["database"], body["broker"], body["limiter"]) == (True, True, False)
    finally:
        server.close()
