"""The second signature scheme (Standard Webhooks) and the subscription's own headers, as the
engine builds and sends them (SPEC sections 1 and 4)."""

import base64
from dataclasses import replace

import pytest

from deliveries.engine.request import delivery_headers
from deliveries.engine.signing import (
    SignatureScheme,
    standard_webhooks_key,
    standard_webhooks_secret,
    standard_webhooks_sign,
    standard_webhooks_signature_header,
    verify_standard_webhooks_signature,
)
from tests.deliveries.engine.test_http import (  # noqa: F401 (server is a fixture)
    AUTHORIZATION,
    HEADERS,
    LocalServer,
    delivery,
    send,
    server,
)

# The vector of the Standard Webhooks reference libraries' own tests (svix's, too).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_matches_the_standard_webhooks_test_vector() -> None:
    assert standard_webhooks_sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )


def test_the_header_has_one_v1_entry_per_secret_space_separated_in_order() -> None:
    other = standard_webhooks_secret(bytes(range(32)))

    header = standard_webhooks_signature_header(
        [VECTOR_SECRET, other], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY
    )

    first, second = header.split(" ")
    assert first == f"v1,{VECTOR_SIGNATURE}"
    assert second.startswith("v1,") and second != first
    with pytest.raises(ValueError, match="signing secret"):
        standard_webhooks_signature_header([], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)


def test_delivery_headers_carry_webhook_id_timestamp_and_signature_instead_of_tillhubs() -> None:
    headers = delivery_headers(
        body=VECTOR_BODY,
        signing_secrets=[VECTOR_SECRET],
        user_agent="ua",
        signed_at_ms=VECTOR_TIMESTAMP * 1000 + 999,
        signature_scheme=SignatureScheme.STANDARD_WEBHOOKS,
        event_id=VECTOR_ID,
    )

    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "ua",
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": f"v1,{VECTOR_SIGNATURE}",
    }


def test_standard_webhooks_needs_the_event_id_and_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="event id"):
        delivery_headers(
            body=b"{}",
            signing_secrets=[VECTOR_SECRET],
            user_agent="ua",
            signature_scheme=SignatureScheme.STANDARD_WEBHOOKS,
        )
    with pytest.raises(ValueError, match="unknown signature scheme"):
        delivery_headers(body=b"{}", signing_secrets=["s"], user_agent="ua", signature_scheme="x")


def test_extra_headers_come_after_ours_and_before_the_signature() -> None:
    headers = delivery_headers(
        body=b"{}",
        signing_secrets=["s"],
        user_agent="ua",
        authorization="Basic x",
        extra_headers={"X-Api-Key": "k", "X-Tenant": "t"},
    )

    assert list(headers) == [
        "Content-Type",
        "User-Agent",
        "Authorization",
        "X-Api-Key",
        "X-Tenant",
        "Tillhub-Signature",
    ]
    assert headers["X-Api-Key"] == "k"


def test_verify_accepts_what_delivery_headers_sign_and_refuses_the_rest() -> None:
    # given a request signed during a rotation (two live secrets)
    new = standard_webhooks_secret(b"n" * 32)
    old = standard_webhooks_secret(b"o" * 24)
    headers = delivery_headers(
        body=b'{"a":1}',
        signing_secrets=[new, old],
        user_agent="ua",
        signed_at_ms=1_700_000_000_000,
        signature_scheme=SignatureScheme.STANDARD_WEBHOOKS,
        event_id="e1",
    )

    def verify(secrets: list[str], body: bytes = b'{"a":1}', **changes: str) -> bool:
        return verify_standard_webhooks_signature(
            {**headers, **changes}, body, secrets, now_seconds=1_700_000_010, tolerance_seconds=300
        )

    # then either secret verifies it, case of the header names does not matter
    assert verify([old]) and verify([new])
    assert verify_standard_webhooks_signature(
        {name.upper(): value for name, value in headers.items()},
        b'{"a":1}',
        [old],
        now_seconds=1_700_000_000,
        tolerance_seconds=None,
    )
    # and a different secret, body, id or timestamp does not
    assert not verify([standard_webhooks_secret(b"x" * 32)])
    assert not verify([new], body=b'{"a":2}')
    assert not verify([new], **{"webhook-id": "e2"})
    assert not verify([new], **{"webhook-timestamp": "1700000001"})
    assert not verify([new], **{"webhook-timestamp": "soon"})
    assert not verify(["not-a-whsec-secret"])
    # nor a request older than the tolerance
    assert not verify_standard_webhooks_signature(
        headers, b'{"a":1}', [new], now_seconds=1_700_000_301, tolerance_seconds=300
    )


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with whsec_"),
        ("whsec_not base64!", "standard base64"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "24 to 64 bytes"),
    ],
)
def test_malformed_secrets_are_refused_without_repeating_them(secret: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as raised:
        standard_webhooks_key(secret)
    assert secret not in str(raised.value)


def test_a_secret_decodes_with_or_without_padding() -> None:
    key = bytes(range(25))
    padded = standard_webhooks_secret(key)
    assert padded.endswith("=")
    assert standard_webhooks_key(padded) == key
    assert standard_webhooks_key(padded.rstrip("=")) == key


def test_extra_headers_follow_same_origin_redirects_and_go_when_one_leaves(
    server: LocalServer,  # noqa: F811 (the fixture imported above)
) -> None:
    # given 127.0.0.1:PORT -> 127.0.0.1:PORT/same -> localhost:PORT (another host) -> back
    server.redirect("/start", server.url("/same"))
    server.redirect("/same", server.url("/elsewhere", host="localhost"))
    server.redirect("/elsewhere", server.url("/back"))
    headers = {**HEADERS, "X-Api-Key": "gateway-key", "X-Tenant": "t1"}
    request = delivery(server.url("/start"), headers=headers)

    # when we deliver with the subscription's own headers marked origin-only
    result = send(replace(request, origin_only_headers=frozenset({"x-api-key", "x-tenant"})))

    # then they went to every hop within the origin, and none after it was left
    assert result.ok
    start, same, elsewhere, back = server.received
    for received in (start, same):
        assert received.header("X-Api-Key") == "gateway-key"
        assert received.header("X-Tenant") == "t1"
        assert received.header("Authorization") == AUTHORIZATION
    for received in (elsewhere, back):
        assert received.header("X-Api-Key") is None
        assert received.header("X-Tenant") is None
        assert received.header("Authorization") is None
    assert back.header("Tillhub-Signature") == HEADERS["Tillhub-Signature"]
