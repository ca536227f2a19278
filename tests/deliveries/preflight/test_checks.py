"""The pre-flight checklist against real local endpoints: the reference receiver, scripted
servers that misbehave on purpose, a self-signed HTTPS server and a closed port."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from deliveries.engine.signing import verify_signature
from deliveries.engine.targets import TargetPolicy
from deliveries.preflight import (
    CHECK_TITLES,
    CheckResult,
    CheckStatus,
    preflight_failed,
    run_preflight,
)
from simulator.receiver import envelope_problem
from tests.settings import TEST_ENVIRONMENT
from tests.support.receivers import Reply, ScriptedReceiver
from tests.support.services import free_port
from webhooks.services import webhook_create

ROOT = Path(__file__).resolve().parents[3]
SECRET = "preflight-test-secret"
LOCAL = TargetPolicy(allow_http_local=True, allow_private=True)
PASS, WARN, FAIL, SKIPPED = (
    CheckStatus.PASS,
    CheckStatus.WARN,
    CheckStatus.FAIL,
    CheckStatus.SKIPPED,
)
# Short timeouts keep the failing cases fast; local endpoints answer in milliseconds.
FAST = {"connect_timeout_ms": 1000, "request_timeout_ms": 2000}


def statuses(results: list[CheckResult]) -> dict[str, CheckStatus]:
    return {result.name: result.status for result in results}


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


@pytest.fixture
def tls_receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver(tls=True)
    yield server
    server.close()


def test_a_good_receiver_passes_everything_but_the_local_warnings(serve):
    # given: the reference receiver checking the secret
    receiver = serve(secrets=[SECRET])

    # when
    results = run_preflight(receiver.url(), policy=LOCAL, secrets=[SECRET], **FAST)

    # then
    assert [result.name for result in results] == list(CHECK_TITLES)
    assert statuses(results) == {
        "url": PASS,
        "dns": WARN,  # 127.0.0.1 is loopback, allowed here only by WEBHOOK_ALLOW_PRIVATE_TARGETS
        "tcp": PASS,
        "https": WARN,
        "response_time": PASS,
        "signed_event": PASS,
        "bad_signature": PASS,
        "idempotency": PASS,
        "basic_auth": SKIPPED,
    }
    found = by_name(results)
    assert "loopback" in found["dns"].detail
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS" in found["dns"].detail
    assert found["https"].detail == "not HTTPS; Tillhub requires https in production"
    assert found["basic_auth"].detail == "skipped: no username configured"
    assert not preflight_failed(results)
    # what the receiver saw: one event, accepted once, repeated once, one forgery refused
    stats = receiver.stats
    assert stats["accepted"] == stats["unique_events"] == 1
    assert stats["duplicates"] == 1
    assert stats["rejected"] == {"signature": 1}


def test_a_receiver_that_skips_signature_checks_gets_a_warning(serve):
    # given: no secrets, so the receiver verifies nothing
    receiver = serve()

    # when
    results = run_preflight(receiver.url(), policy=LOCAL, secrets=[SECRET], **FAST)

    # then
    bad_signature = by_name(results)["bad_signature"]
    assert bad_signature.status is WARN
    assert bad_signature.detail == (
        "endpoint accepted a bad signature — it does not verify Tillhub-Signature"
    )
    assert bad_signature.advice
    assert not preflight_failed(results)


def test_an_unreachable_port_fails_tcp_and_skips_the_rest():
    # given: a port nobody listens on
    url = f"http://127.0.0.1:{free_port()}/hook"

    # when
    results = run_preflight(url, policy=LOCAL, secrets=[SECRET], **FAST)

    # then
    found = by_name(results)
    assert found["url"].status is PASS
    assert found["tcp"].status is FAIL
    assert "refused" in found["tcp"].detail.lower()
    assert found["tcp"].advice
    later = results[3:]
    assert [r.name for r in later] == list(CHECK_TITLES)[3:]
    assert {r.status for r in later} == {SKIPPED}
    assert all(r.detail.startswith("skipped: reachability failed") for r in later)
    assert preflight_failed(results)


def test_a_self_signed_certificate_fails_https(tls_receiver):
    # when
    results = run_preflight(tls_receiver.url(), policy=LOCAL, secrets=[SECRET], **FAST)

    # then
    found = by_name(results)
    assert found["tcp"].status is PASS
    assert found["https"].status is FAIL
    assert "certificate" in found["https"].detail
    assert "self-signed" in found["https"].detail or "self signed" in found["https"].detail
    assert {r.status for r in results[4:]} == {SKIPPED}
    assert tls_receiver.requests == []  # nothing was posted over an unverified connection
    assert preflight_failed(results)


def test_basic_auth_enforced_by_the_receiver_passes(serve):
    # given
    receiver = serve(secrets=[SECRET], username="shop", password="s3cret")

    # when
    results = run_preflight(
        receiver.url(),
        policy=LOCAL,
        secrets=[SECRET],
        username="shop",
        password="s3cret",
        **FAST,
    )

    # then
    assert statuses(results)["signed_event"] is PASS
    assert statuses(results)["basic_auth"] is PASS
    assert "401" in by_name(results)["basic_auth"].detail
    assert receiver.stats["rejected"] == {"signature": 1, "basic_auth": 1}


def test_basic_auth_not_enforced_warns(serve):
    # given: credentials configured, but the receiver does not ask for them
    receiver = serve(secrets=[SECRET])

    # when
    results = run_preflight(
        receiver.url(), policy=LOCAL, secrets=[SECRET], username="shop", password="pw", **FAST
    )

    # then
    basic_auth = by_name(results)["basic_auth"]
    assert basic_auth.status is WARN
    assert "without credentials" in basic_auth.detail


def test_wrong_credentials_fail_the_signed_event_and_skip_the_rest(serve):
    receiver = serve(secrets=[SECRET], username="shop", password="s3cret")

    results = run_preflight(
        receiver.url(), policy=LOCAL, secrets=[SECRET], username="shop", password="nope", **FAST
    )

    found = by_name(results)
    assert found["signed_event"].status is FAIL
    assert "401" in found["signed_event"].detail
    assert "username and password" in found["signed_event"].advice
    assert {found[name].status for name in ("bad_signature", "idempotency", "basic_auth")} == {
        SKIPPED
    }


def test_sends_the_exact_delivery_request_and_checks_each_answer():
    # given: 2xx for the event, 4xx for the forgery, then a 409 for the repeat
    server = ScriptedReceiver().then(Reply(200), Reply(401), Reply(409), Reply(401))
    try:
        # when
        results = run_preflight(
            server.url(),
            policy=LOCAL,
            secrets=[SECRET],
            username="shop",
            password="pw",
            webhook_id="ff30cfdf-5167-4f72-b4fc-c1d72db3c07e",
            **FAST,
        )
    finally:
        server.close()

    # then
    found = by_name(results)
    assert found["idempotency"].status is WARN
    assert "409" in found["idempotency"].detail
    assert found["basic_auth"].status is PASS
    signed, forged, repeated, anonymous = server.requests
    assert set(signed.headers) == {
        "Host",
        "Content-Length",
        "Content-Type",
        "User-Agent",
        "Authorization",
        "Tillhub-Signature",
    }
    assert signed.headers["Content-Type"] == "application/json"
    assert signed.headers["User-Agent"] == "Tillhub HTTP Connector/2.1.0"
    assert signed.headers["Authorization"] == "Basic c2hvcDpwdw=="
    envelope = json.loads(signed.body)
    assert envelope_problem(envelope) is None
    assert envelope["webhook_id"] == "ff30cfdf-5167-4f72-b4fc-c1d72db3c07e"
    assert (envelope["event_entity"], envelope["event_type"]) == ("transaction", "create")
    assert forged.body == repeated.body == anonymous.body == signed.body

    def verifies(request: Any) -> bool:
        return verify_signature(
            request.headers["Tillhub-Signature"],
            request.body,
            [SECRET],
            now_ms=int(request.received_at * 1000),
            tolerance_seconds=60,
        )

    assert verifies(signed) and verifies(repeated) and verifies(anonymous)
    assert not verifies(forged)
    assert "Authorization" not in anonymous.headers


def test_a_slow_answer_warns_and_no_answer_fails():
    slow = ScriptedReceiver(Reply(delay_seconds=0.6))
    silent = ScriptedReceiver(Reply(hang=True))
    try:
        slow_results = run_preflight(
            slow.url(), policy=LOCAL, secrets=[SECRET], request_timeout_ms=1000
        )
        silent_results = run_preflight(
            silent.url(), policy=LOCAL, secrets=[SECRET], request_timeout_ms=1000
        )
    finally:
        slow.close()
        silent.close()

    slow_check = by_name(slow_results)["response_time"]
    assert slow_check.status is WARN
    assert "more than half the timeout" in slow_check.detail
    found = by_name(silent_results)
    assert found["response_time"].status is FAIL
    assert "1000 ms" in found["response_time"].detail
    assert found["signed_event"].status is FAIL
    assert found["bad_signature"].status is SKIPPED


def test_a_url_outside_the_target_rules_is_refused_before_any_traffic():
    strict = TargetPolicy(allow_http_local=True, allow_private=False)

    results = run_preflight("http://127.0.0.1:9/hook", policy=strict, secrets=[SECRET])

    assert results[0].status is FAIL
    assert "private or reserved" in results[0].detail
    assert {r.status for r in results[1:]} == {SKIPPED}


def test_dns_failure_and_private_only_names_stop_before_connecting():
    strict = TargetPolicy(allow_http_local=False, allow_private=False)

    def unresolvable(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def internal(host: str, port: int) -> list[str]:
        return ["10.1.2.3", "fd00::7"]

    missing = run_preflight("https://hooks.shop.example/x", policy=strict, resolver=unresolvable)
    private = run_preflight("https://hooks.shop.example/x", policy=strict, resolver=internal)

    assert by_name(missing)["dns"].status is FAIL
    assert "Name or service not known" in by_name(missing)["dns"].detail
    assert by_name(private)["dns"].status is FAIL
    assert "10.1.2.3 is private" in by_name(private)["dns"].detail
    for results in (missing, private):
        assert {r.status for r in results[2:]} == {SKIPPED}


# The command ------------------------------------------------------------------------------


def preflight_process(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **TEST_ENVIRONMENT, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", "preflight", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_exits_zero_and_prints_json_when_nothing_fails(serve):
    receiver = serve(secrets=[SECRET])

    completed = preflight_process(receiver.url(), "--secret", SECRET, "--json")

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["ok"] is True
    assert report["url"] == receiver.url()
    assert report["summary"] == {"pass": 6, "warn": 2, "fail": 0, "skipped": 1}
    assert [check["name"] for check in report["checks"]] == list(CHECK_TITLES)
    first = report["checks"][0]
    assert set(first) == {"name", "title", "status", "detail", "advice", "data"}


def test_command_exits_one_when_a_check_fails():
    completed = preflight_process(
        f"http://127.0.0.1:{free_port()}/hook", "--json", "--connect-timeout-ms", "500"
    )

    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["ok"] is False
    assert report["summary"]["fail"] == 1
    assert report["checks"][2]["status"] == "fail"


def test_command_prints_a_table_for_people(serve, capsys):
    receiver = serve(secrets=[SECRET])

    call_command("preflight", receiver.url(), "--secret", SECRET)

    output = capsys.readouterr().out
    for title in CHECK_TITLES.values():
        assert title in output
    assert "PASS" in output and "WARN" in output
    assert "6 passed, 2 warnings, 0 failed, 1 skipped" in output


@pytest.mark.django_db
def test_command_takes_everything_from_a_webhook(account, serve, capsys):
    # given: a subscription with Basic credentials, and a receiver enforcing them and its secret
    webhook = webhook_create(
        account=account,
        url="http://127.0.0.1:1/",
        events=["customers.create.v0"],
        username="shop",
        password="s3cret",
        request_timeout_ms=3000,
    )
    receiver = serve(secrets=[webhook.secret], username="shop", password="s3cret")
    webhook.url = receiver.url()
    webhook.save()

    # when
    call_command("preflight", "--webhook", str(webhook.id), "--json")

    # then
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    found = {check["name"]: check for check in report["checks"]}
    assert found["signed_event"]["status"] == "pass"
    assert found["bad_signature"]["status"] == "pass"
    assert found["basic_auth"]["status"] == "pass"
    assert found["response_time"]["data"]["timeout_ms"] == 3000


@pytest.mark.django_db
def test_command_fails_the_process_when_a_check_fails(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("preflight", f"http://127.0.0.1:{free_port()}/", "--json")

    assert exited.value.code == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "URL or --webhook"),
        (["--webhook", "not-a-uuid"], "no webhook"),
        (["--webhook", "ff30cfdf-5167-4f72-b4fc-c1d72db3c07e"], "no webhook"),
        (["http://127.0.0.1:1/", "--username", "shop"], "go together"),
        (["http://127.0.0.1:1/", "--timeout-ms", "0"], "--timeout-ms"),
        (["http://127.0.0.1:1/", "--event", "nope.create.v0"], "nope"),
    ],
)
def test_command_rejects_bad_arguments(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("preflight", *arguments)
