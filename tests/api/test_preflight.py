"""POST /api/v1/webhooks/{id}/preflight/: Tillhub's checklist against the subscription's
endpoint (the reference receiver on 127.0.0.1), in the report `preflight --json` prints."""

from collections.abc import Callable
from typing import Any

import pytest

from deliveries.preflight import CHECK_TITLES
from tests.api.conftest import create_webhook
from tests.support.reference_receiver import RunningReceiver
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

PATH = "/api/v1/webhooks/{}/preflight/"
# Local endpoints answer in milliseconds; short timeouts keep a failure fast.
FAST = {"connect_timeout_ms": 1000, "request_timeout_ms": 3000}


def webhook_at_receiver(
    account: Any, serve: Callable[..., RunningReceiver], **fields: Any
) -> tuple[Webhook, RunningReceiver]:
    """A subscription pointing at a reference receiver that checks its secret (and its Basic
    credentials when it has a username)."""
    webhook = create_webhook(account, url="http://127.0.0.1:1/", **FAST, **fields)
    credentials = {"username": webhook.username, "password": webhook.password}
    receiver = serve(secrets=[webhook.secret], **(credentials if webhook.username else {}))
    Webhook.objects.filter(id=webhook.id).update(url=receiver.url())
    webhook.refresh_from_db()
    return webhook, receiver


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_a_good_endpoint_is_ok_with_only_the_local_warnings(api, tenant, serve):
    # given
    webhook, receiver = webhook_at_receiver(tenant.account, serve)

    # when: no body at all
    response = api.post(PATH.format(webhook.id))

    # then
    assert response.status_code == 200, response.json()
    report = response.json()
    assert list(report) == ["url", "ok", "summary", "checks"]
    assert report["url"] == receiver.url()
    assert report["ok"] is True
    assert report["summary"] == {"pass": 6, "warn": 2, "fail": 0, "skipped": 1}
    assert [check["name"] for check in report["checks"]] == list(CHECK_TITLES)
    assert {name: check["status"] for name, check in by_name(report).items()} == {
        "url": "pass",
        "dns": "warn",  # loopback: allowed only because the tests allow private targets
        "tcp": "pass",
        "https": "warn",  # plain http to a local host
        "response_time": "pass",
        "signed_event": "pass",
        "bad_signature": "pass",
        "idempotency": "pass",
        "basic_auth": "skipped",  # no username configured
    }
    signed = by_name(report)["signed_event"]
    assert set(signed) == {"name", "title", "status", "detail", "advice", "data"}
    assert signed["title"] == "2xx for a signed test event"
    assert signed["data"]["event"] == "transactions.create.v0"
    assert by_name(report)["response_time"]["data"]["timeout_ms"] == FAST["request_timeout_ms"]
    # what the receiver saw: the signed event once, its repeat, and one forgery refused
    stats = receiver.stats
    assert stats["accepted"] == stats["unique_events"] == 1
    assert stats["duplicates"] == 1
    assert stats["rejected"] == {"signature": 1}


def test_uses_the_webhooks_credentials_and_the_chosen_event(api, tenant, serve):
    # given: Basic auth configured, and enforced by the receiver
    webhook, receiver = webhook_at_receiver(
        tenant.account, serve, username="shop", password="s3cret"
    )

    # when: an alias of the event key, as elsewhere in the API
    response = api.post(PATH.format(webhook.id), {"event": "customer:create:v0"}, format="json")

    # then
    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["ok"] is True
    assert report["summary"] == {"pass": 7, "warn": 2, "fail": 0, "skipped": 0}
    assert by_name(report)["basic_auth"]["status"] == "pass"
    assert by_name(report)["signed_event"]["data"]["event"] == "customers.create.v0"
    assert receiver.stats["by_event"] == {"customer.create": 1}  # entity.type of the envelope


def test_an_endpoint_that_does_not_verify_signatures_is_ok_with_a_warning(api, tenant, serve):
    # given: a receiver without secrets verifies nothing
    webhook = create_webhook(tenant.account, url="http://127.0.0.1:1/", **FAST)
    Webhook.objects.filter(id=webhook.id).update(url=serve().url())

    # when
    response = api.post(PATH.format(webhook.id), {}, format="json")

    # then
    report = response.json()
    assert report["ok"] is True
    bad_signature = by_name(report)["bad_signature"]
    assert bad_signature["status"] == "warn"
    assert "does not verify Tillhub-Signature" in bad_signature["detail"]
    assert bad_signature["advice"]


def test_an_unreachable_endpoint_is_200_with_ok_false(api, tenant):
    # given: a closed local port
    webhook = create_webhook(tenant.account, url="http://127.0.0.1:1/hook", **FAST)

    # when
    response = api.post(PATH.format(webhook.id), {}, format="json")

    # then: the check ran; what it found is in the report, not in the status code
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is False
    assert by_name(report)["tcp"]["status"] == "fail"
    assert by_name(report)["tcp"]["advice"]
    assert report["summary"] == {"pass": 1, "warn": 1, "fail": 1, "skipped": 6}


def test_another_accounts_webhook_is_404_and_gets_no_request(api, other_tenant, serve):
    # given
    theirs, receiver = webhook_at_receiver(other_tenant.account, serve)

    # when
    response = api.post(PATH.format(theirs.id), {}, format="json")

    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": {}}
    assert receiver.stats["requests"] == 0


@pytest.mark.parametrize("event", ["orders.create.v0", "", 5, None, ["products.create.v0"]])
def test_a_bad_event_key_is_400_naming_the_field_and_sends_nothing(api, tenant, serve, event):
    # given
    webhook, receiver = webhook_at_receiver(tenant.account, serve)

    # when
    response = api.post(PATH.format(webhook.id), {"event": event}, format="json")

    # then
    assert response.status_code == 400, response.json()
    error = response.json()
    assert error["code"] == "invalid"
    assert list(error["errors"]) == ["event"]
    assert receiver.stats["requests"] == 0


def test_an_unknown_key_is_named_with_the_known_ones(api, tenant):
    # given
    webhook = create_webhook(tenant.account)

    # when
    response = api.post(PATH.format(webhook.id), {"event": "orders.create.v0"}, format="json")

    # then
    (message,) = response.json()["errors"]["event"]
    assert "orders.create.v0" in message and "transactions.create.v0" in message


def test_needs_credentials(client, tenant):
    # given
    webhook = create_webhook(tenant.account)

    # when
    response = client.post(PATH.format(webhook.id), {}, content_type="application/json")

    # then
    assert response.status_code == 401


def test_the_schema_describes_the_endpoint(client):
    # when
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    # then
    operation = document["paths"]["/api/v1/webhooks/{webhook_id}/preflight/"]["post"]
    assert operation["operationId"] == "webhooks_preflight"
    assert "pre-flight" in operation["description"]
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413", "415"}
    assert operation["requestBody"].get("required", False) is False
    schemas = document["components"]["schemas"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    event = schemas[request_schema["$ref"].rsplit("/", 1)[1]]["properties"]["event"]
    assert event["default"] == "transactions.create.v0"
    assert event["type"] == "string" and event["maxLength"] == 64
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PreflightReport"}
    report = schemas["PreflightReport"]
    assert report["required"] == ["checks", "ok", "summary", "url"]
    assert report["properties"]["ok"]["type"] == "boolean"
    summary = schemas["PreflightSummary"]
    assert sorted(summary["properties"]) == ["fail", "pass", "skipped", "warn"]
    assert sorted(summary["required"]) == ["fail", "pass", "skipped", "warn"]
    check = schemas["PreflightCheck"]
    assert sorted(check["required"]) == ["advice", "data", "detail", "name", "status", "title"]
    assert schemas["PreflightCheckNameEnum"]["enum"] == list(CHECK_TITLES)
    assert schemas["PreflightCheckStatusEnum"]["enum"] == ["pass", "warn", "fail", "skipped"]
