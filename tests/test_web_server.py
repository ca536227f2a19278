"""The web tier as production runs it (docker-compose.yml's web command) stays responsive while
many clients hold connections open with requests they send a byte at a time."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import _test_database_url
from tests.support.web_server import WebServer

SLOW_CLIENTS = 200
# Seconds between the header lines each slow client trickles: slower than any request takes,
# faster than a keep-alive or idle timeout would drop it.
TRICKLE_INTERVAL_SECONDS = 1.0
# What "still answers" means (issue 12 item 1).
ANSWER_WITHIN_SECONDS = 1.0


@pytest.fixture
def production_web(transactional_db: None) -> Iterator[WebServer]:
    server = WebServer({"DATABASE_URL": _test_database_url()})
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.close()


class SlowClients:
    """Opens connections that send a request line and then one header line per interval,
    never finishing the request, until closed (bounded by `limit_seconds`)."""

    def __init__(self, port: int, count: int, limit_seconds: float = 30) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.sockets.append(connection)
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_seconds
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        line = 0
        while not self._stop.wait(TRICKLE_INTERVAL_SECONDS) and time.monotonic() < self._deadline:
            line += 1
            for connection in self.sockets:
                # A server may close a connection it finds too slow: that is fine.
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{line}: a\r\n".encode())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.sockets:
            connection.close()


def _timed_get(url: str, **kwargs: Any) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=ANSWER_WITHIN_SECONDS * 5, **kwargs)
    return response.status_code, time.monotonic() - started


@pytest.mark.worker
def test_slow_clients_do_not_delay_health_or_the_api(production_web, account_with_token):
    # given: 200 connections that trickle a header line every second and never finish
    slow = SlowClients(production_web.port, SLOW_CLIENTS)
    try:
        time.sleep(TRICKLE_INTERVAL_SECONDS * 2)  # every slow client is mid-request now

        # when: the liveness probe and an authenticated API call come in, a few times over
        answers = []
        for _ in range(3):
            answers.append(("healthz", *_timed_get(f"{production_web.base_url}/healthz")))
            answers.append(
                (
                    "api",
                    *_timed_get(
                        f"{production_web.base_url}/api/v1/webhooks/",
                        headers={"Authorization": f"Token {account_with_token.token}"},
                    ),
                )
            )
            time.sleep(TRICKLE_INTERVAL_SECONDS / 2)
    except requests.Timeout as timeout:
        raise AssertionError(f"no answer while slow clients were connected: {timeout}") from None
    finally:
        slow.close()

    # then
    assert all(status == 200 for _, status, _ in answers), answers
    slowest = max(seconds for _, _, seconds in answers)
    assert slowest < ANSWER_WITHIN_SECONDS, answers
