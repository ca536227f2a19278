"""The pre-flight check speaks both signature schemes and sends the subscription's own headers
(issue 14 items 4 and 6), against the reference receiver and a scripted one on 127.0.0.1."""

import base64

from standardwebhooks.webhooks import Webhook as StandardWebhook

from deliveries.engine.targets import TargetPolicy
from deliveries.preflight import CheckStatus, run_preflight
from tests.support.receivers import ScriptedReceiver

LOCAL = TargetPolicy(allow_http_local=True, allow_private=True)
FAST = {"connect_timeout_ms": 1000, "request_timeout_ms": 2000}
WHSEC = "whsec_" + base64.b64encode(b"preflight-key-of-32-bytes-long!!").decode()


def test_a_standard_webhooks_receiver_passes_the_signature_checks(serve):
    # given the reference receiver verifying the Standard Webhooks way
    receiver = serve(secrets=[WHSEC], scheme="standard-webhooks")

    # when
    results = {
        result.name: result
        for result in run_preflight(
            receiver.url(),
            policy=LOCAL,
            secrets=[WHSEC],
            signature_scheme="standard-webhooks",
            **FAST,
        )
    }

    # then the signed event is accepted and a wrong whsec_ secret refused
    assert results["signed_event"].status is CheckStatus.PASS, results["signed_event"]
    assert results["bad_signature"].status is CheckStatus.PASS, results["bad_signature"]
    assert results["idempotency"].status is CheckStatus.PASS


def test_a_tillhub_signed_check_against_a_standard_webhooks_receiver_fails_the_signed_event(
    serve,
):
    receiver = serve(secrets=[WHSEC], scheme="standard-webhooks")

    results = {
        result.name: result
        for result in run_preflight(receiver.url(), policy=LOCAL, secrets=[WHSEC], **FAST)
    }

    assert results["signed_event"].status is CheckStatus.FAIL


def test_the_requests_carry_the_scheme_headers_and_the_own_headers():
    # given a receiver that accepts anything (so every check sends)
    receiver = ScriptedReceiver()
    try:
        # when
        run_preflight(
            receiver.url(),
            policy=LOCAL,
            secrets=[WHSEC],
            signature_scheme="standard-webhooks",
            headers={"X-Api-Key": "k-1"},
            **FAST,
        )

        # then the first request verifies with the official library and carries X-Api-Key
        first = receiver.requests[0]
        assert StandardWebhook(WHSEC).verify(first.body, first.headers)
        assert "Tillhub-Signature" not in first.headers
        assert all(request.headers.get("X-Api-Key") == "k-1" for request in receiver.requests)
    finally:
        receiver.close()
