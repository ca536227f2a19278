import email.utils

import pytest

from deliveries.engine.http import RedirectHop, SendResult
from deliveries.engine.outcome import (
    AttemptOutcome,
    ErrorKind,
    Verdict,
    classify,
    parse_retry_after,
)

CAP = 243_092.5
NOW = 1_700_000_000.0


def response(
    status: int, headers: dict[str, str] | None = None, *, error_kind: ErrorKind | None = None
) -> SendResult:
    if error_kind is None and not 200 <= status < 300:
        error_kind = ErrorKind.HTTP_STATUS
    return SendResult(
        status=status,
        response_headers=headers or {},
        response_body="",
        duration_ms=12.0,
        error_kind=error_kind,
        error_message=None if error_kind is None else "failed",
        hops=(),
        final_url="https://example.com/",
    )


def failure(kind: ErrorKind) -> SendResult:
    return SendResult(
        status=None,
        response_headers={},
        response_body="",
        duration_ms=5.0,
        error_kind=kind,
        error_message="failed",
        hops=(),
        final_url="https://example.com/",
    )


def verdict(result: SendResult, *, retry_client_errors: bool = True) -> Verdict:
    return classify(
        result, retry_client_errors=retry_client_errors, retry_after_cap_seconds=CAP, now=NOW
    )


RETRY = Verdict(AttemptOutcome.RETRY, None)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_success(status: int) -> None:
    assert verdict(response(status)) == Verdict(AttemptOutcome.SUCCESS, None)
    assert response(status).ok


def test_2xx_after_redirects_is_success() -> None:
    result = SendResult(
        status=200,
        response_headers={},
        response_body="ok",
        duration_ms=1.0,
        error_kind=None,
        error_message=None,
        hops=(RedirectHop("https://a.example/", 301),),
        final_url="https://b.example/",
    )

    assert verdict(result).outcome is AttemptOutcome.SUCCESS


def test_410_is_gone() -> None:
    assert verdict(response(410)) == Verdict(AttemptOutcome.GONE, None)
    assert verdict(response(410), retry_client_errors=False).outcome is AttemptOutcome.GONE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 413, 422])
def test_other_4xx_follow_the_retry_client_errors_setting(status: int) -> None:
    assert verdict(response(status), retry_client_errors=True) == RETRY
    assert verdict(response(status), retry_client_errors=False) == Verdict(
        AttemptOutcome.GIVE_UP, None
    )


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_5xx_retries_with_backoff(status: int) -> None:
    assert verdict(response(status)) == RETRY


@pytest.mark.parametrize("status", [300, 301, 302, 304, 305])
def test_a_final_3xx_retries(status: int) -> None:
    assert verdict(response(status)) == RETRY


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_sets_the_delay(status: int) -> None:
    assert verdict(response(status, {"Retry-After": "120"})) == Verdict(AttemptOutcome.RETRY, 120.0)


def test_retry_after_header_name_is_case_insensitive() -> None:
    assert verdict(response(429, {"retry-after": "7"})).retry_after_seconds == 7.0


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    when = email.utils.formatdate(NOW + 90, usegmt=True)

    assert verdict(response(503, {"Retry-After": when})).retry_after_seconds == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    when = email.utils.formatdate(NOW - 3600, usegmt=True)

    assert verdict(response(503, {"Retry-After": when})).retry_after_seconds == 0.0


def test_retry_after_is_bounded_by_the_cap() -> None:
    far = email.utils.formatdate(NOW + 30 * 86400, usegmt=True)

    assert verdict(response(429, {"Retry-After": "99999999"})).retry_after_seconds == CAP
    assert verdict(response(503, {"Retry-After": far})).retry_after_seconds == CAP


@pytest.mark.parametrize("value", ["soon", "-5", "1.5e3", ""])
def test_unreadable_retry_after_falls_back_to_backoff(value: str) -> None:
    assert verdict(response(429, {"Retry-After": value})) == RETRY


def test_429_retries_even_when_client_errors_do_not() -> None:
    assert verdict(response(429), retry_client_errors=False) == RETRY


def test_retry_after_is_ignored_on_other_statuses() -> None:
    assert verdict(response(500, {"Retry-After": "60"})) == RETRY


def test_retry_after_defaults_now_to_the_clock() -> None:
    result = classify(
        response(503, {"Retry-After": "5"}), retry_client_errors=True, retry_after_cap_seconds=CAP
    )

    assert result.retry_after_seconds == 5.0


def test_tls_failure_gives_up() -> None:
    assert verdict(failure(ErrorKind.TLS)) == Verdict(AttemptOutcome.GIVE_UP, None)


@pytest.mark.parametrize(
    "kind",
    [kind for kind in ErrorKind if kind not in (ErrorKind.TLS, ErrorKind.HTTP_STATUS)],
)
def test_every_other_transport_error_retries(kind: ErrorKind) -> None:
    assert verdict(failure(kind)) == RETRY
    assert not failure(kind).ok


def test_a_redirect_error_retries_even_though_a_status_was_received() -> None:
    assert verdict(response(302, error_kind=ErrorKind.TOO_MANY_REDIRECTS)) == RETRY
    assert verdict(response(200, error_kind=ErrorKind.TIMEOUT)) == RETRY


def test_error_kind_values_are_the_stored_strings() -> None:
    assert {kind.value for kind in ErrorKind} == {
        "http_status",
        "timeout",
        "connect_timeout",
        "connection_refused",
        "connection_reset",
        "dns",
        "tls",
        "too_many_redirects",
        "redirect_loop",
        "bad_redirect",
        "target_refused",
        "connection_error",
    }
    assert {outcome.value for outcome in AttemptOutcome} == {
        "success",
        "retry",
        "give_up",
        "gone",
    }


def test_parse_retry_after() -> None:
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after(" 30 ", now=NOW) == 30.0
    assert parse_retry_after("0", now=NOW) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == 10.0
