"""The one place a delivery's request headers are built (dispatcher, pre-flight, benchmark)."""

import base64

import pytest

from deliveries.engine.request import basic_authorization, delivery_headers
from tests.deliveries.engine.test_signing import (
    VECTOR_BODY,
    VECTOR_HEADER,
    VECTOR_SECRET,
    VECTOR_TIMESTAMP_MS,
)


def test_the_headers_are_spec_section_1s_signed_with_the_test_vector() -> None:
    headers = delivery_headers(
        body=VECTOR_BODY,
        signing_secrets=[VECTOR_SECRET],
        user_agent="Tillhub HTTP Connector/2.1.0",
        signed_at_ms=VECTOR_TIMESTAMP_MS,
    )

    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "Tillhub HTTP Connector/2.1.0",
        "Tillhub-Signature": VECTOR_HEADER,
    }


def test_basic_auth_is_added_before_the_signature_when_configured() -> None:
    authorization = basic_authorization("shop", "pä:ss")

    headers = delivery_headers(
        body=b"{}", signing_secrets=["s"], user_agent="ua", authorization=authorization
    )

    assert list(headers) == ["Content-Type", "User-Agent", "Authorization", "Tillhub-Signature"]
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == "shop:pä:ss"


def test_no_username_means_no_authorization_header() -> None:
    assert basic_authorization("", "secret") is None
    headers = delivery_headers(body=b"{}", signing_secrets=["s"], user_agent="ua")
    assert "Authorization" not in headers


def test_every_live_secret_signs_and_an_unsigned_request_is_refused() -> None:
    headers = delivery_headers(
        body=b"{}", signing_secrets=["new", "old"], user_agent="ua", signed_at_ms=1
    )
    assert headers["Tillhub-Signature"].count("v1=") == 2

    with pytest.raises(ValueError, match="signing secret"):
        delivery_headers(body=b"{}", signing_secrets=[], user_agent="ua")
