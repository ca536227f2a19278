"""LOG_FORMAT=json: worker processes write one JSON object per line; every delivery record
carries the delivery, event and subscription ids and the outcome; no secret reaches a line
(the log-capture test of tests/deliveries/test_delivery_path.py, in JSON mode)."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from deliveries.models import Delivery
from deliveries.services.publishing import event_publish
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from webhooks.services import webhook_create, webhook_regenerate_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

KEY = "customers.create.v0"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_delivery_records_carry_the_ids_and_no_secret(account_with_token):
    # given: workers logging JSON at DEBUG; a failure, a retry, a success and a rotation
    processes = CeleryProcesses(_test_database_url(), LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    receiver = ScriptedReceiver()
    receiver.then(Reply(status=500))
    webhook = webhook_create(
        account=account_with_token.account,
        url=receiver.url(),
        events=[KEY],
        username="loguser",
        password="never-log-this-password",
    )
    old_secret = webhook.secret
    webhook_regenerate_secret(webhook=webhook, grace_seconds=30)
    webhook.refresh_from_db()
    try:
        processes.start_worker("json-logs", concurrency=1)
        processes.start_scheduler()

        # when
        published = event_publish(account=account_with_token.account, key=KEY, payload={})
        delivery = wait_until(
            lambda: Delivery.objects.filter(
                event_id=published.event.id, state=Delivery.State.SUCCEEDED
            ).first(),
            timeout=30,
        )

        def delivery_records() -> list[dict[str, Any]]:
            text = Path(processes.folder, "json-logs.log").read_text(errors="replace")
            records = [r for r in json_lines(text) if r.get("logger") == "deliveries.attempts"]
            return records if len(records) >= 2 else []

        records = wait_until(delivery_records, timeout=10)
    finally:
        processes.close()
        receiver.close()

    # then: one record per attempt, with the ids and outcome as fields
    assert [(r["outcome"], r["level"]) for r in records] == [
        ("retry", "INFO"),
        ("success", "DEBUG"),
    ]
    for record in records:
        assert record["delivery_id"] == delivery.id
        assert record["event_id"] == str(published.event.id)
        assert record["subscription_id"] == str(webhook.id)
        assert {"time", "message", "attempt", "status_code", "duration_ms"} <= set(record)
    assert records[0]["error_kind"] == "http_status"
    # and: never a secret, on any line of any process
    logs = "\n".join(
        path.read_text(errors="replace") for path in Path(processes.folder).glob("*.log")
    )
    assert json_lines(logs)
    token = base64.b64encode(b"loguser:never-log-this-password").decode()
    for secret in (webhook.secret, old_secret, "never-log-this-password", token):
        assert secret not in logs
