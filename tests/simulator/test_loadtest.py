"""The load tester against the reference receiver, through real workers."""

import json

import pytest
from django.core.management import CommandError, call_command

from events.models import Event
from simulator.loadtest import LoadTest, LoadTestPlan, failure_kind, percentile
from simulator.receiver import ReceiverConfig
from tests.support.reference_receiver import RunningReceiver
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.worker
def test_report_counts_match_what_the_receiver_saw(stack, account):
    # given: a receiver that verifies signatures and fails a fifth of the requests
    webhook = webhook_create(
        account=account, url="http://127.0.0.1:1/", events=["products.create.v0"]
    )
    receiver = RunningReceiver(ReceiverConfig(secrets=[webhook.secret], fail_rate=0.2, seed=7))
    try:
        webhook.url = receiver.url()
        webhook.save()
        plan = LoadTestPlan(
            webhook=webhook,
            keys=["products.create.v0", "transactions.create.v0", "customers.update.v0"],
            rate=30,
            duration=2,
            drain_seconds=30,
            seed=42,
        )

        # when
        report = LoadTest(plan).run()

        # then
        stats = receiver.stats
        assert report.events_published == 60
        assert report.deliveries == 60
        assert report.drained
        assert report.succeeded == stats["accepted"] == stats["unique_events"] == 60
        assert report.attempts == stats["requests"]
        assert report.failures_by_kind == {"5xx": stats["injected_failures"]}
        assert report.retries == stats["injected_failures"]
        assert stats["rejected"] == {}
        assert report.latency_ms["p50"] <= report.latency_ms["p99"] <= report.latency_ms["max"]
    finally:
        receiver.close()


@pytest.mark.worker
def test_command_writes_json_and_fails_above_the_error_rate(stack, account, tmp_path):
    # given: an endpoint that always answers 500
    receiver = RunningReceiver(ReceiverConfig(status=500))
    output = tmp_path / "report.json"
    try:
        # when
        with pytest.raises(SystemExit) as exited:
            call_command(
                "loadtest",
                "--url",
                receiver.url(),
                "--rate",
                "10",
                "--duration",
                "0.5",
                "--events",
                "stocks.update.v0",
                "--drain-seconds",
                "1",
                "--max-error-rate",
                "0.5",
                "--json",
                str(output),
            )

        # then
        assert exited.value.code == 1
        report = json.loads(output.read_text())
        assert report["events_published"] == 5
        # Workers still retry while the report is read (it did not drain): the total and the
        # failures come from one snapshot, so the rate is exactly 100 %, never above.
        assert report["error_rate"] == 1.0
        assert report["failed_attempts"] == report["attempts"] > 0
        assert report["succeeded"] == 0
        assert report["latency_ms"]["p50"] is None
        assert set(report["failures_by_kind"]) == {"5xx"}
    finally:
        receiver.close()


def test_webhook_run_sends_only_the_types_it_subscribes_to(account, capsys):
    # given: a webhook of two event types; no worker runs, so nothing succeeds
    webhook = webhook_create(
        account=account,
        url="http://127.0.0.1:1/hooks",
        events=["products.create.v0", "customers.update.v0"],
    )

    # when
    call_command(
        "loadtest",
        "--webhook",
        str(webhook.id),
        "--rate",
        "20",
        "--duration",
        "0.25",
        "--drain-seconds",
        "0",
    )

    # then: five events, alternating between its two types and no other
    keys = list(Event.objects.filter(source=Event.Source.LOADTEST).values_list("key", flat=True))
    assert len(keys) == 5
    assert set(keys) == {"products.create.v0", "customers.update.v0"}
    report = capsys.readouterr().err
    assert "no successful delivery" in report
    assert "None" not in report


def test_events_option_overrides_the_subscription(account):
    # given
    webhook = webhook_create(
        account=account, url="http://127.0.0.1:1/hooks", events=["products.create.v0"]
    )

    # when
    call_command(
        "loadtest",
        "--webhook",
        str(webhook.id),
        "--rate",
        "10",
        "--duration",
        "0.2",
        "--drain-seconds",
        "0",
        "--events",
        "stocks.update.v0",
    )

    # then
    keys = set(Event.objects.filter(source=Event.Source.LOADTEST).values_list("key", flat=True))
    assert keys == {"stocks.update.v0"}


def test_command_rejects_bad_arguments(db):
    with pytest.raises(CommandError, match="rate"):
        call_command("loadtest", "--url", "https://example.com", "--rate", "0", "--duration", "1")
    with pytest.raises(CommandError, match=r"[Uu]nknown"):
        call_command(
            "loadtest",
            "--url",
            "https://example.com",
            "--rate",
            "1",
            "--duration",
            "1",
            "--events",
            "nope.create.v0",
        )
    with pytest.raises(CommandError, match="no webhook"):
        call_command("loadtest", "--webhook", "not-a-uuid", "--rate", "1", "--duration", "1")


def test_failure_kinds_and_percentiles():
    assert failure_kind("http_status", 503) == "5xx"
    assert failure_kind("http_status", 404) == "4xx"
    assert failure_kind("connect_timeout", None) == "timeout"
    assert failure_kind("connection_refused", None) == "connection"
    assert failure_kind("tls", None) == "tls"
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 99) == 99.0
    assert percentile([], 50) is None
