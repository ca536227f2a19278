"""The reference receiver (`python manage.py receiver`): it takes Hookline's real deliveries and
refuses what a careful endpoint must refuse."""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from deliveries.engine.signing import signature_header
from deliveries.models import Delivery
from deliveries.services.publishing import event_publish
from deliveries.services.subscriptions import webhook_update
from events.envelope import compact_json, render_envelope
from tests.conftest import wait_until
from tests.settings import TEST_ENVIRONMENT
from tests.support.processes import CeleryProcesses
from webhooks.services import webhook_create

ROOT = Path(__file__).resolve().parents[2]
SECRET = "receiver-test-secret"
USERNAME, PASSWORD = "shop", "s3cret-pass"


def envelope(event_id: str | None = None, **changes: Any) -> bytes:
    """A proper delivery body; `changes` replace envelope fields (payload as a dict)."""
    entity_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "webhook_id": str(uuid.uuid4()),
        "event_id": event_id or str(uuid.uuid4()),
        "event_entity": "customer",
        "event_type": "create",
        "event_version": 0,
        "entity_instance_id": entity_id,
        "timestamp": datetime.now(UTC),
        "payload": {"id": entity_id, "firstname": "Jürgen"},
    }
    fields.update(changes)
    payload = fields.pop("payload")
    return render_envelope(**fields, payload_json=compact_json(payload))


def post(
    url: str,
    body: bytes,
    *,
    secret: str = SECRET,
    signed_at_ms: int | None = None,
    credentials: tuple[str, str] | None = (USERNAME, PASSWORD),
) -> requests.Response:
    """POST `body` with the headers Hookline sends, signed with `secret` at `signed_at_ms`."""
    signed_at_ms = signed_at_ms if signed_at_ms is not None else int(time.time() * 1000)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tillhub HTTP Connector/2.1.0",
        "Tillhub-Signature": signature_header([secret], signed_at_ms, body),
    }
    return requests.post(url, data=body, headers=headers, auth=credentials, timeout=10)


def stats_of(url: str) -> dict[str, Any]:
    return requests.get(url.rsplit("/", 1)[0] + "/stats", timeout=10).json()


class ReceiverCommand:
    """`python manage.py receiver` as its own process, on a port the system picks."""

    def __init__(self, *arguments: str) -> None:
        environment = {
            **os.environ,
            **TEST_ENVIRONMENT,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "receiver", "--port", "0", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self._read_line(timeout=30)
        assert line.startswith("receiver listening on http://127.0.0.1:"), line
        self.base_url = line.removeprefix("receiver listening on ").strip().rstrip("/")
        assert not self.base_url.endswith(":0")

    def _read_line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            raise AssertionError("the receiver printed nothing (is its output flushed?)")
        return self.process.stdout.readline()

    def url(self, path: str = "/webhooks") -> str:
        return self.base_url + path

    def stop(self, timeout: float = 15) -> dict[str, Any]:
        """Ctrl-C it; returns the final report it prints."""
        self.process.send_signal(signal.SIGINT)
        output, errors = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, errors
        return json.loads(output[output.index("{") :])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def strict_receiver() -> Iterator[ReceiverCommand]:
    """The command with every check switched on: secret, Basic auth, a 60 s tolerance."""
    command = ReceiverCommand(
        "--secret",
        SECRET,
        "--username",
        USERNAME,
        "--password",
        PASSWORD,
        "--tolerance-seconds",
        "60",
        "--quiet",
    )
    yield command
    command.kill()


# Hookline's own deliveries ---------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_accepts_every_delivery_hookline_sends(stack: CeleryProcesses, account, serve):
    # given: a webhook with Basic credentials, and a receiver that checks its secret and them
    keys = [
        "transactions.create.v0",
        "customers.create.v0",
        "customers.update.v0",
        "products.create.v0",
        "stocks.update.v0",
        "balances.create.v0",
    ]
    webhook = webhook_create(
        account=account,
        url="http://127.0.0.1:1/",
        events=keys,
        username=USERNAME,
        password=PASSWORD,
    )
    receiver = serve(
        secrets=[webhook.secret], username=USERNAME, password=PASSWORD, tolerance_seconds=60
    )
    webhook_update(webhook=webhook, url=receiver.url())

    # when
    published = [event_publish(account=account, key=key) for key in keys]

    # then
    wait_until(lambda: stats_of(receiver.url())["accepted"] == len(keys))
    stats = stats_of(receiver.url())
    assert stats["requests"] == stats["unique_events"] == len(keys)
    assert stats["rejected"] == {}
    assert stats["duplicates"] == stats["injected_failures"] == 0
    assert sum(stats["by_event"].values()) == len(keys)
    assert stats["by_event"]["customer.create"] == 1
    assert stats["by_event"]["stocks-book.update"] == 1
    states = wait_until(
        lambda: (
            {Delivery.objects.get(event_id=p.event.id).state for p in published} == {"succeeded"}
        )
    )
    assert states


# What it refuses ---------------------------------------------------------------------------------


def test_refuses_a_tampered_body(serve):
    # given
    receiver = serve(secrets=[SECRET])
    body = envelope()
    signed_at_ms = int(time.time() * 1000)
    header = signature_header([SECRET], signed_at_ms, body)
    tampered = body.replace("Jürgen".encode(), b"Juergen")
    assert tampered != body

    # when
    response = requests.post(
        receiver.url(), data=tampered, headers={"Tillhub-Signature": header}, timeout=10
    )

    # then
    assert response.status_code == 400
    assert response.json()["error"] == "signature"
    stats = stats_of(receiver.url())
    assert stats["rejected"] == {"signature": 1}
    assert stats["accepted"] == 0


def test_refuses_a_signature_with_another_secret_or_none(serve):
    receiver = serve(secrets=[SECRET])

    assert post(receiver.url(), envelope(), secret="another-secret").status_code == 400
    assert requests.post(receiver.url(), data=envelope(), timeout=10).status_code == 400
    assert stats_of(receiver.url())["rejected"] == {"signature": 2}


def test_accepts_any_live_secret_during_rotation(serve):
    receiver = serve(secrets=["old-secret", SECRET])
    body = envelope()
    header = signature_header(["brand-new", "old-secret"], int(time.time() * 1000), body)

    response = requests.post(
        receiver.url(), data=body, headers={"Tillhub-Signature": header}, timeout=10
    )

    assert response.status_code == 200


def test_command_refuses_a_stale_timestamp(strict_receiver: ReceiverCommand):
    # given: --tolerance-seconds 60
    two_minutes_ago = int(time.time() * 1000) - 120_000
    in_two_minutes = int(time.time() * 1000) + 120_000

    # when
    stale = post(strict_receiver.url(), envelope(), signed_at_ms=two_minutes_ago)
    future = post(strict_receiver.url(), envelope(), signed_at_ms=in_two_minutes)
    fresh = post(strict_receiver.url(), envelope(), signed_at_ms=int(time.time() * 1000) - 5000)

    # then
    assert (stale.status_code, stale.json()["error"]) == (400, "signature")
    assert future.status_code == 400
    assert fresh.status_code == 200


def test_command_refuses_wrong_or_missing_credentials(strict_receiver: ReceiverCommand):
    wrong = post(strict_receiver.url(), envelope(), credentials=(USERNAME, "guess"))
    missing = post(strict_receiver.url(), envelope(), credentials=None)
    right = post(strict_receiver.url(), envelope())

    assert (wrong.status_code, wrong.json()["error"]) == (401, "basic_auth")
    assert missing.status_code == 401
    assert right.status_code == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "malformed_json"),
        (b"[1, 2]", "envelope"),
        (b'{"event_id": "x"}', "envelope"),
        # the right keys in the wrong order
        (
            json.dumps(
                dict(reversed(list(json.loads(envelope()).items()))), separators=(",", ":")
            ).encode(),
            "envelope",
        ),
        (envelope(event_id="not-a-uuid"), "envelope"),
        (envelope(event_entity="customers"), "envelope"),
        (envelope(event_type="upsert"), "envelope"),
        (envelope(payload={"id": str(uuid.uuid4())}), "envelope"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "missing-keys",
        "key-order",
        "event-id",
        "entity",
        "action",
        "payload-id",
    ],
)
def test_command_refuses_a_malformed_envelope(strict_receiver, body, problem):
    response = post(strict_receiver.url(), body)

    assert response.status_code == 400
    assert response.json()["error"] == problem


def test_command_deduplicates_by_event_id_and_reports_on_exit():
    # given
    command = ReceiverCommand("--secret", SECRET, "--quiet")
    try:
        event_id = str(uuid.uuid4())
        body = envelope(event_id=event_id)

        # when: the same delivery twice (each attempt signed afresh), and another event
        first = post(command.url(), body, credentials=None)
        time.sleep(0.002)  # a different t=, so a different signature
        again = post(command.url(), body, credentials=None)
        other = post(command.url(), envelope(), credentials=None)
        report = command.stop()
    finally:
        command.kill()

    # then
    assert first.status_code == again.status_code == other.status_code == 200
    assert report["requests"] == 3
    assert report["accepted"] == report["unique_events"] == 2
    assert report["duplicates"] == 1
    assert report["rejected"] == {}


def test_command_with_several_secrets_accepts_a_signature_under_any_of_them():
    # given: the demo receiver's shape, the demo webhook's secret and the walk-through's
    command = ReceiverCommand("--secret", "demo-webhook-secret", "--secret", SECRET, "--quiet")
    try:
        # when
        with_first = post(command.url(), envelope(), secret="demo-webhook-secret", credentials=None)
        with_second = post(command.url(), envelope(), secret=SECRET, credentials=None)
        with_neither = post(command.url(), envelope(), secret="a-third-secret", credentials=None)
        report = command.stop()
    finally:
        command.kill()

    # then: a refusal says what to do about it
    assert with_first.status_code == with_second.status_code == 200
    assert with_neither.status_code == 400
    assert with_neither.json()["error"] == "signature"
    assert "--secret" in with_neither.json()["detail"]
    assert report["accepted"] == 2
    assert report["rejected"] == {"signature": 1}


def test_command_stops_promptly_while_a_request_hangs():
    # given: --hang holds every delivery; one is in flight
    command = ReceiverCommand("--hang", "--quiet")
    body = envelope()

    def hang() -> None:
        with contextlib.suppress(requests.RequestException):
            requests.post(command.url(), data=body, timeout=30)

    threading.Thread(target=hang, daemon=True).start()
    try:
        wait_until(lambda: stats_of(command.url())["requests"] == 1)

        # when
        started = time.monotonic()
        report = command.stop(timeout=15)

        # then: not aiohttp's default 60 s wait for the hanging request
        assert time.monotonic() - started < 10
        assert report["requests"] == 1
    finally:
        command.kill()


# The knobs ----------------------------------------------------------------------------------------


def test_fail_rate_one_fails_every_request(serve):
    receiver = serve(fail_rate=1.0)

    statuses = [post(receiver.url(), envelope()).status_code for _ in range(5)]

    assert statuses == [500] * 5
    stats = stats_of(receiver.url())
    assert stats["injected_failures"] == 5
    assert stats["accepted"] == 0


def test_fail_rate_fails_about_that_fraction(serve):
    receiver = serve(fail_rate=0.3, seed=11)

    statuses = [post(receiver.url(), envelope()).status_code for _ in range(100)]

    assert 15 <= statuses.count(500) <= 45
    assert statuses.count(500) + statuses.count(200) == 100


def test_status_knob_answers_that_status(serve):
    receiver = serve(status=503)

    response = post(receiver.url(), envelope())

    assert response.status_code == 503
    assert stats_of(receiver.url())["injected_failures"] == 1


def test_latency_knob_delays_the_answer(serve):
    receiver = serve(latency_ms=300)

    started = time.monotonic()
    response = post(receiver.url(), envelope())

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fail-rate", "2"], "--fail-rate"),
        (["--fail-rate", "-0.1"], "--fail-rate"),
        (["--status", "42"], "--status"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--tolerance-seconds", "0"], "--tolerance-seconds"),
        (["--username", "shop"], "go together"),
    ],
)
def test_command_rejects_bad_arguments(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("receiver", "--port", "0", *arguments)
