"""The OpenAPI document: valid, served with its docs offline, and true to the running API.

The property-based part loads the live schema from /api/schema/ and lets schemathesis generate
requests for every operation (bounded: MAX_EXAMPLES per operation, derandomized so a failure
reproduces), authenticated with a token. Path ids point at real objects of the caller's account
most of the time, and most webhook URLs are valid targets, so the success paths are exercised
and not only 404s and 400s.
"""

import itertools
import os
from io import StringIO
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deliveries.models import Delivery
from events.services import event_type_create
from simulator.receiver import ReceiverConfig
from tests.api.conftest import add_attempt, create_webhook, publish
from tests.support.reference_receiver import RunningReceiver
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

# Cases per operation and mode: 19 operations x 2 modes x 15 = at most 570 requests, well under a
# minute. API_FUZZ_EXAMPLES raises it for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))
# One case in this many keeps its generated (random, so unknown) path ids: the 404 path.
RANDOM_ID_EVERY = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operation_ids() -> list[str]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
    )


def test_schema_generates_without_warnings_and_validates():
    # when
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=StringIO())

    # then
    assert out.getvalue().startswith("openapi: 3.")


def test_schema_and_docs_are_served_without_a_cdn(client):
    # when
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    # then
    assert schema.status_code == 200
    assert "/api/v1/webhooks/{webhook_id}/resend/" in schema.json()["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn" not in html.lower()


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, keeping the test's database connection across requests.

    Django closes old connections when a request finishes; inside the test's transaction
    that would close it under the test, so (like Django's own test client) it is suspended.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(tenant):
    """Objects of the caller's account for path ids, with an attempt to show."""
    webhook = create_webhook(tenant.account, events=["products.update.v0"])
    event = publish(tenant.account)
    delivery = Delivery.objects.get(event=event)
    add_attempt(delivery, status=500, outcome="retry", error_kind="http_status")
    own_type = event_type_create(
        account=tenant.account, key="invoices.paid.v1", entity="invoice", schema={"type": "object"}
    )
    return {
        "webhook_id": webhook,
        "event_id": event,
        "delivery_id": delivery,
        # An event type's path parameter is its key.
        "key": SimpleNamespace(pk=own_type.key),
        "tenant": tenant,
    }


@pytest.fixture
def local_endpoint(seeded):
    """Points the seeded webhook at a reference receiver on 127.0.0.1: the pre-flight check
    really sends requests, and they must not leave the machine."""
    webhook = seeded["webhook_id"]
    receiver = RunningReceiver(ReceiverConfig(secrets=[webhook.secret]))
    Webhook.objects.filter(id=webhook.id).update(
        url=receiver.url(), connect_timeout_ms=1000, request_timeout_ms=3000
    )
    yield receiver
    receiver.close()


NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.mark.parametrize("operation_id", _operation_ids())
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_the_live_api_conforms_to_its_schema(request, wsgi_app, seeded, operation_id, mode):
    # given: the schema as served, one operation of it
    if operation_id == "webhooks_preflight":
        request.getfixturevalue("local_endpoint")
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    (operation,) = (
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().definition.raw.get("operationId") == operation_id
    )
    headers = {"Authorization": f"Token {seeded['tenant'].token}"}
    counter = itertools.count(1)
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        number = next(counter)
        for name in case.path_parameters or {}:
            if number % RANDOM_ID_EVERY:
                target = seeded[name]
                if operation_id == "webhooks_destroy":
                    # Each delete takes a fresh subscription, so later cases still find one.
                    target = create_webhook(seeded["tenant"].account)
                case.path_parameters[name] = str(target.pk)
        if isinstance(case.body, dict) and "url" in case.body and number % RANDOM_ID_EVERY:
            # Random text is never a valid target; a real one reaches the success path.
            case.body["url"] = f"https://example.com/hook/{number}"
        # when
        checks = CHECKS if mode == GenerationMode.POSITIVE else NEGATIVE_CHECKS
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses.append(response.status_code)

    # then: no check failed (no 5xx, every answer as documented)
    try:
        check()
    except Unsatisfiable:
        pytest.skip("nothing of this operation can be made invalid (no parameters, no body)")
    assert statuses
    print(f"{operation_id} {mode.value}: {len(statuses)} cases, statuses {sorted(set(statuses))}")
