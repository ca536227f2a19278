"""Malformed input of every kind is a 4xx in the one error shape, never a 500."""

import pytest

from tests.api.conftest import create_webhook

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"


def assert_error_shape(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b'{"url": NaN}',
        b'{"url": "https://example.com/h", "events": ["products.update.v0"], "burst": Infinity}',
        b'{"rate_per_second": 1e400, "url": "https://example.com/h", "events": []}',
        b'{"description": "\\ud800"}',
        b'{"description": "\xff\xfe"}',
        b"[" * 30_000 + b"]" * 30_000,
    ],
)
def test_malformed_json_is_a_400_parse_error(api, raw):
    # when
    response = api.post(WEBHOOKS, raw, content_type="application/json")

    # then
    body = assert_error_shape(response, 400)
    assert body["code"] == "parse_error"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],
        "a string",
        None,
        {"url": ["https://example.com"], "events": ["products.update.v0"]},
        {"url": "https://example.com/h", "events": ["products.update.v0"], "burst": 10**5000},
        {"url": "https://example.com/h", "events": ["products.update.v0"], "burst": 10**30},
        {"url": "https://example.com/h", "events": ["products.update.v0"], "burst": 1.5},
        {"url": "https://example.com/h\x00", "events": ["products.update.v0"]},
        {"url": "https://example.com/h", "events": ["products.update.v0"], "description": "\x00"},
        {"url": "https://example.com/h", "events": ["products.update.v0"] * 51},
        {"url": "https://exa mple.com/h", "events": ["products.update.v0"]},
        {"url": "https://[::1/h", "events": ["products.update.v0"]},
        {"url": "https://example.com:99999/h", "events": ["products.update.v0"]},
        {"url": "ftp://example.com/h", "events": ["products.update.v0"]},
    ],
)
def test_wrong_types_and_values_are_400(api, body):
    # given: json.dumps cannot write 10**5000, so it is sent as raw text
    raw = body if not isinstance(body, dict) or body.get("burst") != 10**5000 else None
    if raw is None:
        text = '{"url": "https://example.com/h", "events": ["products.update.v0"], "burst": '
        response = api.post(WEBHOOKS, text + "1" * 5000 + "}", content_type="application/json")
    else:
        # when
        response = api.post(WEBHOOKS, body, format="json")

    # then
    assert_error_shape(response, 400)


def test_a_request_body_over_the_bound_is_413(api):
    # when
    body = b'{"description": "' + b"x" * 70_000 + b'"}'
    response = api.post(WEBHOOKS, body, content_type="application/json")

    # then
    assert assert_error_shape(response, 413)["code"] == "payload_too_large"


def test_non_json_bodies_are_415(api):
    # when
    response = api.post(WEBHOOKS, "url=https://example.com", content_type="text/plain")
    form = api.post(WEBHOOKS, {"url": "https://example.com"})  # multipart

    # then
    assert assert_error_shape(response, 415)["code"] == "unsupported_media_type"
    assert form.status_code == 415


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/not-a-uuid/",
        "/api/v1/webhooks/not-a-uuid/metrics/",
        "/api/v1/events/123/",
        "/api/v1/deliveries/abc/",
        "/api/v1/deliveries/0/",
        "/api/v1/deliveries/99999999999999999999999999/",
        "/api/v1/deliveries/999999999999999999/",
        "/api/v1/nothing-here/",
        "/api/v1/webhooks/00000000-0000-0000-0000-000000000000/",
        "/api/v1/webhooks/%0AH%C3%A4ndler/",
        "/api/v1/events/%0A",
    ],
)
def test_bad_ids_and_unknown_paths_are_json_404(api, path):
    # when
    response = api.get(path)

    # then
    assert assert_error_shape(response, 404)["code"] == "not_found"


def test_wrong_method_is_405(api, tenant):
    # given
    webhook = create_webhook(tenant.account)

    # when
    response = api.delete(f"{WEBHOOKS}{webhook.id}/metrics/")

    # then
    assert assert_error_shape(response, 405)["code"] == "method_not_allowed"


def test_validation_errors_name_nested_fields_with_dotted_paths(api):
    # when
    response = api.post(
        WEBHOOKS,
        {"url": "https://example.com/h", "events": ["products.update.v0", ["nested"]]},
        format="json",
    )

    # then
    body = assert_error_shape(response, 400)
    assert list(body["errors"]) == ["events.1"]
    assert body["detail"] == "Invalid input: events.1."


def test_page_limits_are_capped(api, tenant):
    # given
    for number in range(3):
        create_webhook(tenant.account, url=f"https://example.com/{number}")

    # when
    response = api.get(WEBHOOKS, {"limit": 10_000, "offset": 1})

    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_a_missing_trailing_slash_is_a_json_404_with_a_hint_not_a_redirect(api):
    # when
    response = api.post("/api/v1/webhooks", {"url": "https://example.com/h"}, format="json")

    # then
    body = assert_error_shape(response, 404)
    assert body["detail"] == "Not found. API paths end with a slash: /api/v1/webhooks/"
