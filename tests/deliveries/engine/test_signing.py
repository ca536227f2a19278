import base64
import hashlib
import hmac

import pytest

from deliveries.engine.signing import (
    parse_signature_header,
    sign,
    signature_header,
    verify_signature,
)

# The SPEC's test vector (section 1): exact bytes, no trailing newline.
VECTOR_SECRET = "myL1ttl3D1rtyS3cr3t"
VECTOR_TIMESTAMP_MS = 1669124083188
VECTOR_BODY = (
    b'{"webhook_id":"ff30cfdf-5167-4f72-b4fc-c1d72db3c07e",'
    b'"event_id":"c6fe918a-7bdc-4ccd-af36-95c03853233d",'
    b'"event_entity":"customer","event_type":"create","event_version":0,'
    b'"entity_instance_id":"10b06f38-031d-4e0c-8706-0474c8c5b61c",'
    b'"timestamp":"2022-11-22T13:34:43.100Z",'
    b'"payload":{"id":"10b06f38-031d-4e0c-8706-0474c8c5b61c"}}'
)
VECTOR_HEADER = "t=1669124083188,v1=ueT1/XbKSK+GQZNSAsir4AQKk++F82ckXQCTU3T4sBQ="


def test_signature_header_matches_the_spec_test_vector() -> None:
    assert signature_header([VECTOR_SECRET], VECTOR_TIMESTAMP_MS, VECTOR_BODY) == VECTOR_HEADER


def test_sign_is_padded_standard_base64_of_a_sha256() -> None:
    signature = sign(VECTOR_SECRET, VECTOR_TIMESTAMP_MS, VECTOR_BODY)

    assert len(signature) == 44
    assert signature.endswith("=")
    assert len(base64.b64decode(signature, validate=True)) == 32


def test_sign_changes_with_timestamp_body_and_secret() -> None:
    reference = sign("secret", 1, b"{}")

    assert sign("secret", 2, b"{}") != reference
    assert sign("secret", 1, b"{ }") != reference
    assert sign("other", 1, b"{}") != reference


def test_sign_keys_with_the_utf8_bytes_of_the_secret() -> None:
    expected = hmac.new("sécret".encode(), b"7.{}", hashlib.sha256).digest()

    assert sign("sécret", 7, b"{}") == base64.b64encode(expected).decode()


def test_signature_header_carries_one_v1_per_secret_in_the_given_order() -> None:
    header = signature_header(["new", "old"], 1000, b"body")

    assert header == f"t=1000,v1={sign('new', 1000, b'body')},v1={sign('old', 1000, b'body')}"


def test_signature_header_refuses_to_sign_without_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        signature_header([], 1000, b"body")


def test_parse_signature_header_reads_timestamp_and_every_v1() -> None:
    assert parse_signature_header("t=5,v1=abc=,v0=ignored,v1=def") == (5, ["abc=", "def"])


def test_parse_signature_header_tolerates_spaces_around_parts() -> None:
    assert parse_signature_header(" t=5 , v1=abc ") == (5, ["abc"])


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        ("", "no t="),
        ("v1=abc", "no t="),
        ("t=5", "no v1="),
        ("t=abc,v1=x", "unix time"),
        ("t=-5,v1=x", "unix time"),
        ("t=5,t=6,v1=x", "more than one t="),
        ("t=5,v1", "not key=value"),
        ("t=5,v1=", "not key=value"),
        ("t=5,=x", "not key=value"),
    ],
)
def test_parse_signature_header_rejects_malformed_values(header: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_signature_header(header)


def test_verify_signature_accepts_the_spec_test_vector() -> None:
    assert verify_signature(
        VECTOR_HEADER,
        VECTOR_BODY,
        [VECTOR_SECRET],
        now_ms=VECTOR_TIMESTAMP_MS + 1000,
        tolerance_seconds=300,
    )


def test_verify_signature_accepts_any_live_secret_during_rotation() -> None:
    # given a header signed with the old and the new secret
    header = signature_header(["new", "old"], 1000, b"body")

    # then a receiver that knows either one accepts it
    assert verify_signature(header, b"body", ["old"], now_ms=1000, tolerance_seconds=None)
    assert verify_signature(header, b"body", ["new"], now_ms=1000, tolerance_seconds=None)
    assert verify_signature(header, b"body", ["x", "old"], now_ms=1000, tolerance_seconds=None)
    assert not verify_signature(header, b"body", ["x"], now_ms=1000, tolerance_seconds=None)


def test_verify_signature_rejects_a_changed_body() -> None:
    assert not verify_signature(
        VECTOR_HEADER,
        VECTOR_BODY + b"\n",
        [VECTOR_SECRET],
        now_ms=VECTOR_TIMESTAMP_MS,
        tolerance_seconds=None,
    )


def test_verify_signature_enforces_the_tolerance_both_ways() -> None:
    header = signature_header(["s"], 100_000, b"body")

    def verify(now_ms: int) -> bool:
        return verify_signature(header, b"body", ["s"], now_ms=now_ms, tolerance_seconds=5)

    assert verify(105_000)
    assert verify(95_000)
    assert not verify(105_001)
    assert not verify(94_999)
    assert verify_signature(header, b"body", ["s"], now_ms=10**13, tolerance_seconds=None)


@pytest.mark.parametrize("header", ["", "garbage", "t=1", "t=1,v1=ünicode", "t=x,v1=abc"])
def test_verify_signature_is_false_for_malformed_headers(header: str) -> None:
    assert not verify_signature(header, b"body", ["s"], now_ms=1, tolerance_seconds=None)
