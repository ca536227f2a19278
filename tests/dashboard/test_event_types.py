"""The Event types page: the catalog (built-in and own) with schemas and examples, an own
type created, edited and deleted through its forms, and the webhook form's grouped picker."""

import json
import re

from django.urls import reverse

from events.models import EventType
from webhooks.services import webhook_create

INVOICE_SCHEMA = {
    "type": "object",
    "required": ["number", "amount"],
    "properties": {"number": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}},
}


def create_invoices_paid(signed_in, **overrides):
    data = {
        "key": "invoices.paid.v1",
        "entity": "invoice",
        "description": "An invoice was paid.",
        "schema": json.dumps(INVOICE_SCHEMA),
        "payload_example": json.dumps({"number": "RE-1", "amount": 100}),
        **overrides,
    }
    return signed_in.post(reverse("dashboard:event-type-new"), data)


def test_the_page_shows_builtins_and_own_types_with_schema_and_example(signed_in, account):
    # given
    create_invoices_paid(signed_in)

    # when
    response = signed_in.get(reverse("dashboard:event-types"))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="event-type-products.create.v0"' in html
    assert 'id="event-type-invoices.paid.v1"' in html
    assert 'id="entity-invoice"' in html and 'id="entity-stocks-book"' in html
    assert html.count("<summary>JSON Schema</summary>") == 13  # 9 Tillhub, 3 hookline, 1 own
    assert "&quot;minimum&quot;: 0" in html  # the schema, pretty-printed
    assert "&quot;number&quot;: &quot;RE-1&quot;" in html  # the example
    assert reverse("dashboard:event-type-edit", args=["invoices.paid.v1"]) in html
    assert reverse("dashboard:event-type-edit", args=["products.create.v0"]) not in html
    assert reverse("dashboard:event-types") in signed_in.get("/").content.decode()  # nav


def test_creating_an_own_type_through_the_form(signed_in, account):
    response = create_invoices_paid(signed_in)

    assert response.status_code == 302
    created = EventType.objects.get(account=account, key="invoices.paid.v1")
    assert created.entity == "invoice"
    assert json.loads(created.schema_json) == INVOICE_SCHEMA


def test_the_form_shows_the_services_field_messages(signed_in, account):
    # when: a built-in's key, a schema its metaschema refuses and malformed JSON
    colliding = create_invoices_paid(signed_in, key="products.create.v0")
    bad_schema = create_invoices_paid(signed_in, schema='{"type": "objekt"}')
    not_json = create_invoices_paid(signed_in, payload_example="{number: 1}")
    failing = create_invoices_paid(signed_in, payload_example='{"number": "RE-1"}')

    # then
    assert "built-in event type" in colliding.context["form"].errors["key"][0]
    assert "Not a valid JSON Schema at /type" in bad_schema.context["form"].errors["schema"][0]
    assert "Not valid JSON" in not_json.context["form"].errors["payload_example"][0]
    assert '"required"' in failing.context["form"].errors["payload_example"][0]
    assert not EventType.objects.filter(account=account).exists()


def test_editing_refuses_a_schema_the_stored_example_fails_then_saves_with_a_new_one(
    signed_in, account
):
    # given
    create_invoices_paid(signed_in)
    url = reverse("dashboard:event-type-edit", args=["invoices.paid.v1"])
    stricter = {**INVOICE_SCHEMA, "required": ["number", "amount", "currency"]}
    data = {"entity": "invoice", "schema": json.dumps(stricter)}

    # when
    page = signed_in.get(url)
    refused = signed_in.post(url, {**data, "payload_example": '{"number": "RE-1", "amount": 1}'})
    saved = signed_in.post(
        url, {**data, "payload_example": '{"number": "RE-1", "amount": 1, "currency": "EUR"}'}
    )

    # then
    assert "&quot;minimum&quot;: 0" in page.content.decode()
    assert '"required"' in refused.context["form"].errors["payload_example"][0]
    assert saved.status_code == 302
    assert "currency" in EventType.objects.get(key="invoices.paid.v1").schema_json


def test_deleting_names_the_webhooks_that_use_it_and_deletes_an_unused_one(signed_in, account):
    # given
    create_invoices_paid(signed_in)
    webhook = webhook_create(
        account=account, url="https://example.com/hook", events=["invoices.paid.v1"]
    )
    url = reverse("dashboard:event-type-delete", args=["invoices.paid.v1"])

    # when: in use
    refused = signed_in.post(url)

    # then
    assert refused.status_code == 200
    assert str(webhook.id) in refused.content.decode()
    assert EventType.objects.filter(key="invoices.paid.v1").exists()

    # when: no longer in use
    webhook.delete()
    deleted = signed_in.post(url)

    # then
    assert deleted.status_code == 302
    assert not EventType.objects.filter(key="invoices.paid.v1").exists()


def test_builtins_have_no_edit_or_delete_page(signed_in):
    for name in ("dashboard:event-type-edit", "dashboard:event-type-delete"):
        assert signed_in.get(reverse(name, args=["products.create.v0"])).status_code == 404


def test_the_webhook_form_picks_from_the_catalog_grouped_by_entity_with_own_types(
    signed_in, account
):
    # given
    create_invoices_paid(signed_in)

    # when
    html = signed_in.get(reverse("dashboard:webhook-new")).content.decode()

    # then: one group per entity, the own type among them
    groups = re.findall(r"<div><label>([a-z-]+)</label>", html)
    assert groups == [
        "transaction",
        "customer",
        "product",
        "stocks-book",
        "balance",
        "webhook",
        "invoice",
    ]
    assert 'value="invoices.paid.v1"' in html
    assert 'value="transactions.create.v0"' in html
