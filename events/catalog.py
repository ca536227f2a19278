"""The event catalog (SPEC section 2): the nine event keys Hookline accepts and their aliases.

Plain Python, no Django: the API, the commands, the sender and the benchmarks all resolve keys
through here. A key is `<entities>.<action>.v<version>`; the envelope's `event_entity`,
`event_type` and `event_version` come from the catalog entry, never from parsing the key.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    key: str
    """Canonical subscription key, e.g. `products.create.v0`."""
    entity: str
    """The envelope's `event_entity` (singular): transaction, customer, product, ..."""
    action: str
    """The envelope's `event_type`: create, update or delete."""
    version: int
    """The envelope's `event_version`."""
    description: str


EVENT_TYPES: dict[str, EventType] = {
    event.key: event
    for event in (
        EventType(
            key="transactions.create.v0",
            entity="transaction",
            action="create",
            version=0,
            description="A sale was booked at a register: items, taxes, payments and the "
            "fiscal (TSE) signature of the receipt.",
        ),
        EventType(
            key="customers.create.v0",
            entity="customer",
            action="create",
            version=0,
            description="A customer was created: name, contact details, addresses and "
            "customer discounts.",
        ),
        EventType(
            key="customers.update.v0",
            entity="customer",
            action="update",
            version=0,
            description="A customer was changed; the payload is the whole customer after "
            "the change.",
        ),
        EventType(
            key="customers.delete.v0",
            entity="customer",
            action="delete",
            version=0,
            description="A customer was deleted; the payload is the customer as it was, "
            "marked deleted.",
        ),
        EventType(
            key="products.create.v0",
            entity="product",
            action="create",
            version=0,
            description="A product was created: name, barcodes, prices, tax, stock settings "
            "and images.",
        ),
        EventType(
            key="products.update.v0",
            entity="product",
            action="update",
            version=0,
            description="A product was changed (e.g. a new price); the payload is the whole "
            "product after the change.",
        ),
        EventType(
            key="products.delete.v0",
            entity="product",
            action="delete",
            version=0,
            description="A product was deleted; the payload is the product as it was, "
            "marked deleted.",
        ),
        EventType(
            key="stocks.update.v0",
            entity="stocks-book",
            action="update",
            version=0,
            description="A stock level changed at a location (sale, delivery note or "
            "transfer); the payload is the stock book entry.",
        ),
        EventType(
            key="balances.create.v0",
            entity="balance",
            action="create",
            version=0,
            description="A register was closed (end-of-day balance, Z report): revenue per "
            "tax rate, cash counted and discrepancy.",
        ),
    )
}

KNOWN_EVENT_KEYS: tuple[str, ...] = tuple(EVENT_TYPES)

# Every spelling of an entity that is accepted on input, mapped to the plural used in keys.
_ENTITY_ALIASES: dict[str, str] = {
    "transactions": "transactions",
    "transaction": "transactions",
    "customers": "customers",
    "customer": "customers",
    "products": "products",
    "product": "products",
    "stocks": "stocks",
    "stock": "stocks",
    "stocks-book": "stocks",
    "balances": "balances",
    "balance": "balances",
}

# `<entity><sep><action><sep>v<version>` with one separator used throughout: `.` or `:`.
_KEY_PATTERN = re.compile(r"^([a-z-]+)([.:])([a-z]+)\2(v\d+)$")


class UnknownEventKey(ValueError):
    """Raised for an event key that is not in the catalog; the message lists the known keys."""

    def __init__(self, key: object) -> None:
        self.key = key
        self.known_keys = KNOWN_EVENT_KEYS
        super().__init__(
            f"Unknown event key {key!r}. Known event keys: {', '.join(KNOWN_EVENT_KEYS)}."
        )


def canonical_event_key(raw: str) -> str:
    """Returns the canonical key for `raw`.

    Accepts the canonical form (`products.create.v0`), the colon form (`products:create:v0`)
    and the singular entity (`product.create.v0`, `transaction:create:v0`), in any case and
    with surrounding whitespace. Raises UnknownEventKey for anything else.
    """
    if not isinstance(raw, str):
        raise UnknownEventKey(raw)
    text = raw.strip().lower()
    if text in EVENT_TYPES:
        return text
    match = _KEY_PATTERN.match(text)
    if match is None:
        raise UnknownEventKey(raw)
    entity, _separator, action, version = match.groups()
    plural = _ENTITY_ALIASES.get(entity)
    key = f"{plural}.{action}.{version}"
    if plural is None or key not in EVENT_TYPES:
        raise UnknownEventKey(raw)
    return key


def event_type(key: str) -> EventType:
    """Returns the catalog entry for `key` (aliases accepted); raises UnknownEventKey."""
    return EVENT_TYPES[canonical_event_key(key)]
