"""The event catalog: the nine keys, their envelope fields, and the aliases accepted on input."""

import pytest

from events.catalog import (
    BUILTIN_EVENT_TYPES,
    EVENT_TYPES,
    KNOWN_EVENT_KEYS,
    EventType,
    UnknownEventKey,
    canonical_event_key,
    event_type,
)

EXPECTED = {
    "transactions.create.v0": ("transaction", "create", 0),
    "customers.create.v0": ("customer", "create", 0),
    "customers.update.v0": ("customer", "update", 0),
    "customers.delete.v0": ("customer", "delete", 0),
    "products.create.v0": ("product", "create", 0),
    "products.update.v0": ("product", "update", 0),
    "products.delete.v0": ("product", "delete", 0),
    "stocks.update.v0": ("stocks-book", "update", 0),
    "balances.create.v0": ("balance", "create", 0),
}
# Hookline's own (SPEC 3), entity `webhook`.
OPERATIONAL = {
    "hookline.webhook_disabled.v1": ("webhook_disabled", 1),
    "hookline.webhook_circuit_opened.v1": ("webhook_circuit_opened", 1),
    "hookline.webhook_recovered.v1": ("webhook_recovered", 1),
}


def test_catalog_holds_exactly_the_nine_keys():
    assert set(EVENT_TYPES) == set(EXPECTED)
    assert set(KNOWN_EVENT_KEYS) == set(EXPECTED) | set(OPERATIONAL)


def test_the_operational_types_are_built_in_with_entity_webhook():
    for key, (action, version) in OPERATIONAL.items():
        entry = BUILTIN_EVENT_TYPES[key]
        assert (entry.entity, entry.action, entry.version) == ("webhook", action, version)
        assert canonical_event_key(key.replace(".", ":")) == key


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_entry_gives_the_envelope_fields(key):
    entry = EVENT_TYPES[key]

    assert isinstance(entry, EventType)
    assert entry.key == key
    assert (entry.entity, entry.action, entry.version) == EXPECTED[key]
    assert entry.description


def test_entries_are_immutable():
    entry = EVENT_TYPES["products.create.v0"]

    with pytest.raises(AttributeError):
        entry.key = "products.update.v0"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("products.create.v0", "products.create.v0"),
        ("products:create:v0", "products.create.v0"),
        ("product.update.v0", "products.update.v0"),
        ("product:update:v0", "products.update.v0"),
        ("transaction.create.v0", "transactions.create.v0"),
        ("transaction:create:v0", "transactions.create.v0"),
        ("transactions:create:v0", "transactions.create.v0"),
        ("customer.delete.v0", "customers.delete.v0"),
        ("customer:update:v0", "customers.update.v0"),
        ("stock.update.v0", "stocks.update.v0"),
        ("stocks:update:v0", "stocks.update.v0"),
        ("stocks-book.update.v0", "stocks.update.v0"),
        ("stocks-book:update:v0", "stocks.update.v0"),
        ("balance.create.v0", "balances.create.v0"),
        ("balance:create:v0", "balances.create.v0"),
        ("Products.Create.V0", "products.create.v0"),
        ("TRANSACTION:CREATE:V0", "transactions.create.v0"),
        ("  customers.create.v0\n", "customers.create.v0"),
        ("\tproduct:delete:v0 ", "products.delete.v0"),
    ],
)
def test_aliases_resolve_to_the_canonical_key(raw, canonical):
    assert canonical_event_key(raw) == canonical
    assert event_type(raw) is EVENT_TYPES[canonical]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "products",
        "products.create",
        "products.create.v1",
        "products.archive.v0",
        "orders.create.v0",
        "stocks.create.v0",
        "stocks-book.create.v0",
        "balances.update.v0",
        "products:create.v0",
        "products.create:v0",
        "products..create.v0",
        "products.create.v0.extra",
        "products.create.0",
        "products create v0",
        "produkte.create.v0",
    ],
)
def test_unknown_keys_are_refused_with_the_known_keys_listed(raw):
    with pytest.raises(UnknownEventKey) as caught:
        canonical_event_key(raw)

    message = str(caught.value)
    assert repr(raw) in message
    for key in EXPECTED:
        assert key in message
    assert caught.value.key == raw
    assert set(caught.value.known_keys) == set(EXPECTED) | set(OPERATIONAL)


@pytest.mark.parametrize("raw", [None, 0, ["products.create.v0"], b"products.create.v0"])
def test_non_text_keys_are_unknown(raw):
    with pytest.raises(UnknownEventKey):
        canonical_event_key(raw)


def test_unknown_event_key_is_a_value_error():
    # given: callers that only know about ValueError (e.g. a serializer's validate method)
    # when / then
    with pytest.raises(ValueError, match="Known event keys"):
        event_type("products.explode.v0")
