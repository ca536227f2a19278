"""The reference receiver with `--scheme standard-webhooks` verifies what the Standard Webhooks
libraries sign, and refuses the rest (issue 14 item 6)."""

import base64
import uuid
from datetime import UTC, datetime

import pytest
import requests
from django.core.management import CommandError, call_command
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.simulator.test_receiver import envelope

WHSEC = "whsec_" + base64.b64encode(b"receiver-key-of-24-bytes").decode()


def signed_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The three headers as the official library signs them."""
    now = datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(message_id, now, body.decode()),
    }


def send(url: str, *, data: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=data, headers=headers, timeout=10)


def test_it_accepts_a_standard_webhooks_signature_and_refuses_a_wrong_one(serve):
    # given
    receiver = serve(secrets=[WHSEC], scheme="standard-webhooks", tolerance_seconds=300)
    event_id = str(uuid.uuid4())
    body = envelope(event_id)
    other = "whsec_" + base64.b64encode(b"another-key-of-24-bytes!").decode()

    # when
    good = send(receiver.url(), data=body, headers=signed_headers(WHSEC, event_id, body))
    wrong_secret = send(receiver.url(), data=body, headers=signed_headers(other, event_id, body))

    # then
    assert good.status_code == 200, good.text
    assert wrong_secret.status_code == 400
    assert "webhook-signature" in wrong_secret.json()["detail"]
    assert receiver.stats["accepted"] == 1


def test_a_body_signed_for_one_event_id_but_carrying_another_is_refused(serve):
    receiver = serve(secrets=[WHSEC], scheme="standard-webhooks")
    body = envelope(str(uuid.uuid4()))

    response = send(
        receiver.url(), data=body, headers=signed_headers(WHSEC, str(uuid.uuid4()), body)
    )

    assert response.status_code == 400
    assert receiver.stats["rejected"] == {"signature": 1}


def test_the_tillhub_scheme_receiver_refuses_standard_webhooks_headers(serve):
    receiver = serve(secrets=[WHSEC])
    event_id = str(uuid.uuid4())
    body = envelope(event_id)

    response = send(receiver.url(), data=body, headers=signed_headers(WHSEC, event_id, body))

    assert response.status_code == 400
    assert "Tillhub-Signature" in response.json()["detail"]


@pytest.mark.parametrize("secret", ["not-a-whsec-secret-at-all", "whsec_c2hvcnQ="])
def test_the_command_refuses_a_secret_that_is_not_whsec_for_that_scheme(secret):
    with pytest.raises(CommandError, match="whsec_"):
        call_command("receiver", "--scheme", "standard-webhooks", "--secret", secret, "--quiet")
