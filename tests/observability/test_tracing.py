"""Traces: the production web server and real worker processes export their spans to a file
(TRACING_EXPORT_FILE, the test's stand-in for an OTLP collector); one trace runs from the
publish request to each attempt, and each recorded batch links to the publishes in it."""

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests

from deliveries.models import Delivery
from tests.conftest import _test_database_url, wait_until
from tests.support.processes import CeleryProcesses
from tests.support.receivers import Reply, ScriptedReceiver
from tests.support.web_server import WebServer
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

KEY = "customers.create.v0"


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_name(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [span for span in spans if span["name"] == name]


def test_one_trace_from_the_publish_request_to_each_attempt(account_with_token):
    # given: web and worker tracing to one file; a receiver that fails the first request
    spans_file = Path(tempfile.mkdtemp(prefix="hookline-spans-")) / "spans.jsonl"
    tracing = {"TRACING_EXPORT_FILE": str(spans_file)}
    receiver = ScriptedReceiver()
    receiver.then(Reply(status=500))
    webhook_create(account=account_with_token.account, url=receiver.url(), events=[KEY])
    processes = CeleryProcesses(_test_database_url(), **tracing)
    server = WebServer({"DATABASE_URL": _test_database_url(), **tracing})
    try:
        processes.start_worker("tracing", concurrency=1)
        processes.start_scheduler()
        server.wait_until_serving()

        # when: an event is published through the API and delivered (a retry, then success)
        response = requests.post(
            f"{server.base_url}/api/v1/events/",
            json={"event": KEY},
            headers={"Authorization": f"Token {account_with_token.token}"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        event_id = response.json()["event_id"]
        wait_until(
            lambda: Delivery.objects.filter(event_id=event_id, state="succeeded").exists(),
            timeout=30,
        )
        delivery = Delivery.objects.get(event_id=event_id)
        attempts = wait_until(
            lambda: (
                found
                if len(found := by_name(read_spans(spans_file), "hookline.delivery.attempt")) == 2
                else None
            ),
            timeout=10,
        )
    finally:
        server.close()
        processes.close()
        receiver.close()

    # then: the request's span, the publish span under it, both attempts under that
    spans = read_spans(spans_file)
    (request,) = [
        span
        for span in spans
        if span["kind"] == "SpanKind.SERVER"
        and span["parent_id"] is None
        and "events" in span["name"]
    ]
    (publish,) = by_name(spans, "hookline.publish")
    trace_id = request["context"]["trace_id"]
    assert publish["context"]["trace_id"] == trace_id
    assert publish["parent_id"] == request["context"]["span_id"]
    assert publish["attributes"]["hookline.event.key"] == [KEY]
    assert publish["attributes"]["hookline.event.id"] == [event_id]
    attempts.sort(key=lambda span: span["attributes"]["hookline.attempt.number"])
    for attempt in attempts:
        assert attempt["context"]["trace_id"] == trace_id
        assert attempt["parent_id"] == publish["context"]["span_id"]
        assert attempt["attributes"]["hookline.delivery.id"] == delivery.id
        assert attempt["attributes"]["hookline.event.id"] == event_id
        assert attempt["attributes"]["hookline.event.key"] == KEY
    assert [a["attributes"]["hookline.attempt.outcome"] for a in attempts] == ["retry", "success"]
    assert attempts[0]["attributes"]["http.response.status_code"] == 500
    assert attempts[0]["status"]["status_code"] == "ERROR"
    # and: each attempt links to its recorded batch, which links to the publish
    batches = {
        span["context"]["span_id"]: span for span in by_name(spans, "hookline.dispatch.batch")
    }
    for attempt in attempts:
        (link,) = attempt["links"]
        batch = batches[link["context"]["span_id"]]
        assert {
            (linked["context"]["trace_id"], linked["context"]["span_id"])
            for linked in batch["links"]
        } == {(trace_id, publish["context"]["span_id"])}
    # the dispatcher's own polling queries make no traces of their own
    assert not [
        span for span in spans if span["kind"] == "SpanKind.CLIENT" and span["parent_id"] is None
    ]
