"""Event types as data (SPEC 2 and 5): the catalog through /api/v1/event-types/, an account's
own types, and publishing validated against the type's schema. PostgreSQL, the test client."""

import json
import time

import pytest

from events.catalog import KNOWN_EVENT_KEYS
from events.envelope import compact_json
from events.models import Event, EventType
from events.payloads import PayloadGenerator, example
from events.validation import builtin_validator, compile_schema, payload_errors
from tests.api.conftest import create_webhook

URL = "/api/v1/event-types/"
INVOICE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["number", "amount"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "number": {"type": "string", "minLength": 1},
        "amount": {"type": "integer", "minimum": 0},
        "lines": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
        },
    },
}
INVOICE_EXAMPLE = {"number": "RE-2026-0042", "amount": 4990, "lines": [{"sku": "K-1"}]}


def define_invoices_paid(api, **overrides):
    body = {
        "key": "invoices.paid.v1",
        "entity": "invoice",
        "description": "An invoice was paid in full.",
        "schema": INVOICE_SCHEMA,
        "payload_example": INVOICE_EXAMPLE,
        **overrides,
    }
    return api.post(URL, body, format="json")


def errors_of(response):
    return response.json()["errors"]


# --- the catalog ------------------------------------------------------------------------------


def test_the_list_has_the_builtins_first_then_the_accounts_own(api, other_tenant):
    # given: an own type here, and one of another account
    assert define_invoices_paid(api).status_code == 201
    assert define_invoices_paid(other_tenant.client, key="orders.placed.v1").status_code == 201

    # when
    rows = api.get(URL, {"limit": 100}).json()["results"]

    # then
    assert [row["key"] for row in rows] == [*KNOWN_EVENT_KEYS, "invoices.paid.v1"]
    builtin = rows[0]
    assert builtin["built_in"] is True
    assert builtin["schema"]["type"] == "object"
    assert builtin["payload_example"] == json.loads(json.dumps(example(builtin["key"])))
    own = rows[-1]
    assert own["built_in"] is False
    assert (own["entity"], own["action"], own["version"]) == ("invoice", "paid", 1)
    assert own["schema"] == INVOICE_SCHEMA
    assert own["payload_example"] == INVOICE_EXAMPLE


def test_one_type_by_key_aliases_accepted_others_accounts_are_404(api, other_tenant):
    define_invoices_paid(other_tenant.client)

    assert api.get(f"{URL}product:create:v0/").json()["key"] == "products.create.v0"
    assert api.get(f"{URL}invoices.paid.v1/").status_code == 404
    assert other_tenant.client.get(f"{URL}invoices:paid:v1/").json()["entity"] == "invoice"


def test_builtins_are_read_only(api):
    put = api.put(
        f"{URL}products.create.v0/", {"entity": "x", "schema": {"type": "object"}}, format="json"
    )
    delete = api.delete(f"{URL}products.create.v0/")

    assert (put.status_code, put.json()["code"]) == (403, "read_only")
    assert delete.status_code == 403
    assert EventType.objects.filter(key="products.create.v0", built_in=True).exists()


# --- bad input, field by field ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"key": "products.create.v0"}, "key", "built-in"),
        ({"key": "product:create:v0"}, "key", "built-in"),
        ({"key": "hookline.webhook_paused.v1"}, "key", "Hookline's own"),
        ({"key": "Invoices paid"}, "key", "<entities>.<action>.v<N>"),
        ({"entity": "Invoice!"}, "entity", "singular entity"),
        ({"schema": {"type": "objekt"}}, "schema", "Not a valid JSON Schema at /type"),
        ({"schema": {"minLength": -1}}, "schema", "Not a valid JSON Schema at /minLength"),
        ({"schema": [1]}, "schema", "JSON object"),
        (
            {"schema": {"$ref": "https://example.com/schema.json"}},
            "schema",
            "references inside the schema",
        ),
        ({"payload_example": {"number": "RE-1", "amount": -5}}, "payload_example", "/amount"),
        ({"payload_example": {"amount": 5}}, "payload_example", '"required"'),
    ],
)
def test_bad_input_is_a_field_level_400(api, overrides, field, words):
    # when
    response = define_invoices_paid(api, **overrides)

    # then
    assert response.status_code == 400, response.json()
    assert words in " ".join(errors_of(response)[field])
    assert not EventType.objects.filter(account__isnull=False).exists()


def test_a_key_the_account_has_is_400(api):
    define_invoices_paid(api)

    response = define_invoices_paid(api)

    assert response.status_code == 400
    assert "already" in errors_of(response)["key"][0]


def test_a_schema_change_the_stored_example_no_longer_meets_is_400(api):
    # given
    define_invoices_paid(api)
    stricter = {**INVOICE_SCHEMA, "required": ["number", "amount", "currency"]}

    # when: the example is left out, so the stored one stays
    response = api.put(
        f"{URL}invoices.paid.v1/", {"entity": "invoice", "schema": stricter}, format="json"
    )

    # then
    assert response.status_code == 400
    message = errors_of(response)["schema"][0]
    assert "stored payload example" in message and '"required"' in message
    assert json.loads(EventType.objects.get(key="invoices.paid.v1").schema_json) == INVOICE_SCHEMA


def test_a_change_with_a_new_example_that_meets_it_is_saved(api):
    define_invoices_paid(api)
    stricter = {**INVOICE_SCHEMA, "required": ["number", "amount", "currency"]}
    example_with_currency = {**INVOICE_EXAMPLE, "currency": "EUR"}

    response = api.put(
        f"{URL}invoices.paid.v1/",
        {"entity": "bill", "schema": stricter, "payload_example": example_with_currency},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["entity"] == "bill"
    assert response.json()["payload_example"] == example_with_currency


def test_the_key_cannot_change(api):
    define_invoices_paid(api)

    response = api.put(
        f"{URL}invoices.paid.v1/",
        {"key": "invoices.paid.v2", "entity": "invoice", "schema": INVOICE_SCHEMA},
        format="json",
    )

    assert response.status_code == 400
    assert "cannot change" in errors_of(response)["key"][0]


def test_a_key_in_use_cannot_be_deleted_409_names_the_subscriptions(api, tenant):
    # given
    define_invoices_paid(api)
    webhook = create_webhook(tenant.account, events=["products.create.v0", "invoices:paid:v1"])
    assert webhook.events == ["products.create.v0", "invoices.paid.v1"]

    # when
    response = api.delete(f"{URL}invoices.paid.v1/")

    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "in_use"
    assert body["errors"]["webhooks"] == [str(webhook.id)]
    assert str(webhook.id) in body["detail"] and webhook.url in body["detail"]
    assert EventType.objects.filter(key="invoices.paid.v1").exists()


def test_an_unused_own_type_is_deleted(api):
    define_invoices_paid(api)

    assert api.delete(f"{URL}invoices.paid.v1/").status_code == 204
    assert api.get(f"{URL}invoices.paid.v1/").status_code == 404


def test_subscriptions_may_list_own_keys_of_their_account_only(api, other_tenant):
    define_invoices_paid(other_tenant.client)

    response = api.post(
        "/api/v1/webhooks/",
        {"url": "https://example.com/hook", "events": ["invoices.paid.v1"]},
        format="json",
    )

    assert response.status_code == 400
    assert "Unknown event key 'invoices.paid.v1'" in errors_of(response)["events"][0]


# --- publishing validates ---------------------------------------------------------------------


def test_publishing_an_own_type_stores_its_entity(api, tenant):
    # given
    define_invoices_paid(api)
    create_webhook(tenant.account, events=["invoices.paid.v1"])

    # when
    response = api.post(
        "/api/v1/events/",
        {"event": "invoices:paid:v1", "payload": {"number": "RE-7", "amount": 100}},
        format="json",
    )

    # then
    assert response.status_code == 202, response.json()
    assert response.json()["deliveries"] == 1
    event = Event.objects.get(id=response.json()["event_id"])
    assert (event.key, event.entity) == ("invoices.paid.v1", "invoice")


@pytest.mark.parametrize(
    ("payload", "pointer", "rule"),
    [
        ({"number": "RE-7", "amount": "100"}, "/amount", "type"),
        ({"number": "RE-7"}, "the payload's root", "required"),
        ({"number": "RE-7", "amount": 1, "lines": [{"sku": 5}]}, "/lines/0/sku", "type"),
    ],
)
def test_an_invalid_payload_is_400_naming_the_pointer_and_the_rule(
    api, tenant, payload, pointer, rule
):
    define_invoices_paid(api)

    response = api.post(
        "/api/v1/events/", {"event": "invoices.paid.v1", "payload": payload}, format="json"
    )

    assert response.status_code == 400
    (message,) = errors_of(response)["payload"]
    assert f"at {pointer}" in message and f'(rule "{rule}")' in message
    assert not Event.objects.exists()


def test_a_builtin_payload_is_validated_against_tillhubs_schema(api):
    response = api.post(
        "/api/v1/events/",
        {"event": "customers.create.v0", "payload": {"firstname": 42}},
        format="json",
    )

    assert response.status_code == 400
    assert (
        'at /firstname: 42 is not valid under any of the given schemas (rule "anyOf")'
        in (errors_of(response)["payload"][0])
    )


def test_an_edit_is_seen_by_the_cached_validator(api):
    # given: a publish that compiled (and cached) the first schema
    define_invoices_paid(api)
    ok = {"event": "invoices.paid.v1", "payload": {"number": "RE-1", "amount": 1}}
    assert api.post("/api/v1/events/", ok, format="json").status_code == 202

    # when: the schema requires a currency from now on
    stricter = {**INVOICE_SCHEMA, "required": ["number", "amount", "currency"]}
    api.put(
        f"{URL}invoices.paid.v1/",
        {"entity": "invoice", "schema": stricter, "payload_example": None},
        format="json",
    )

    # then
    refused = api.post("/api/v1/events/", ok, format="json")
    assert refused.status_code == 400
    assert "currency" in errors_of(refused)["payload"][0]


def test_without_a_payload_an_own_type_sends_its_example_with_a_fresh_id(api, tenant):
    define_invoices_paid(api)

    first = api.post("/api/v1/events/", {"event": "invoices.paid.v1"}, format="json")
    second = api.post("/api/v1/events/", {"event": "invoices.paid.v1"}, format="json")

    events = Event.objects.filter(id__in=[first.json()["event_id"], second.json()["event_id"]])
    payloads = [json.loads(event.payload_json) for event in events]
    assert [{k: v for k, v in p.items() if k != "id"} for p in payloads] == [INVOICE_EXAMPLE] * 2
    assert payloads[0]["id"] != payloads[1]["id"]


def test_without_a_payload_or_example_an_own_type_is_400(api):
    define_invoices_paid(api, payload_example=None)

    response = api.post("/api/v1/events/", {"event": "invoices.paid.v1"}, format="json")

    assert response.status_code == 400
    assert "no payload example" in errors_of(response)["payload"][0]


def test_test_events_of_an_own_type_use_the_stored_example(api, tenant):
    define_invoices_paid(api)
    webhook = create_webhook(tenant.account, events=["invoices.paid.v1"])

    response = api.post(
        f"/api/v1/webhooks/{webhook.id}/test/", {"events": ["invoices.paid.v1"]}, format="json"
    )

    assert response.status_code == 202, response.json()
    event = Event.objects.get()
    assert json.loads(event.payload_json)["number"] == INVOICE_EXAMPLE["number"]
    assert event.source == "test"


def _per_validation_ms(validator, payload, rounds=100):
    payload_errors(validator, payload)  # warm
    started = time.perf_counter()
    for _ in range(rounds):
        problems = payload_errors(validator, payload)
    assert problems == []
    return (time.perf_counter() - started) / rounds * 1000


def test_validating_a_2kb_payload_takes_milliseconds_at_most():
    # given: a 2 KB own-type payload, and a generated customer near 2 KB with Tillhub's schema
    own = compile_schema(INVOICE_SCHEMA)
    invoice = {
        "number": "RE-1",
        "amount": 1,
        "lines": [{"sku": f"SKU-{n:05d}"} for n in range(100)],
    }
    generator = PayloadGenerator(seed=11)
    customers = [generator.payload("customers.create.v0") for _ in range(60)]
    customer = max(customers, key=lambda payload: len(compact_json(payload)))

    # when
    own_ms = _per_validation_ms(own, invoice)
    builtin_ms = _per_validation_ms(builtin_validator("customers.create.v0"), customer)

    # then: the README's figures (printed with -s), with room for a busy machine
    print(
        f"\nown type, {len(compact_json(invoice))} bytes: {own_ms:.3f} ms; "
        f"customers.create.v0, {len(compact_json(customer))} bytes: {builtin_ms:.3f} ms"
    )
    assert 1900 < len(compact_json(invoice)) < 2200
    assert own_ms < 10 and builtin_ms < 25
