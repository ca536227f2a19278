"""The built-in event catalog (SPEC section 2): the keys Hookline ships, their aliases, and
the rules every key (an account's own too) follows.

Plain Python, no Django: the API, the commands, the sender and the benchmarks all resolve keys
through here. A key is `<entities>.<action>.v<version>`; a built-in's envelope `event_entity`,
`event_type` and `event_version` come from its catalog entry. Built-ins are read-only and the
same for every account; an account's own types are rows (events.models.EventType) read through
events.selectors, which combines them with these. Adding a built-in (e.g. the operational
`hookline.*` types) is one more entry in BUILTIN_EVENT_TYPES, a payload factory for it
(events/payloads/generator.py) and, when it has a schema file, that file under
events/schemas/; the database mirror follows on the next `migrate`.
"""

import re
from collections.abc import Collection
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
    schema_file: str
    """The shipped JSON Schema of the event, relative to events/schemas/ (see its NOTICE)."""


# Every built-in is a Tillhub event today; their schemas are Tillhub's published ones.
_TILLHUB = "tillhub/"

TILLHUB_EVENT_TYPES: dict[str, EventType] = {
    event.key: event
    for event in (
        EventType(
            key="transactions.create.v0",
            entity="transaction",
            action="create",
            version=0,
            description="A sale was booked at a register: items, taxes, payments and the "
            "fiscal (TSE) signature of the receipt.",
            schema_file=_TILLHUB + "transactions.legacy.create.event.schema.json",
        ),
        EventType(
            key="customers.create.v0",
            entity="customer",
            action="create",
            version=0,
            description="A customer was created: name, contact details, addresses and "
            "customer discounts.",
            schema_file=_TILLHUB + "customers.create.event.schema.json",
        ),
        EventType(
            key="customers.update.v0",
            entity="customer",
            action="update",
            version=0,
            description="A customer was changed; the payload is the whole customer after "
            "the change.",
            schema_file=_TILLHUB + "customers.update.event.schema.json",
        ),
        EventType(
            key="customers.delete.v0",
            entity="customer",
            action="delete",
            version=0,
            description="A customer was deleted; the payload is the customer as it was, "
            "marked deleted.",
            schema_file=_TILLHUB + "customers.delete.event.schema.json",
        ),
        EventType(
            key="products.create.v0",
            entity="product",
            action="create",
            version=0,
            description="A product was created: name, barcodes, prices, tax, stock settings "
            "and images.",
            schema_file=_TILLHUB + "products.create.event.schema.json",
        ),
        EventType(
            key="products.update.v0",
            entity="product",
            action="update",
            version=0,
            description="A product was changed (e.g. a new price); the payload is the whole "
            "product after the change.",
            schema_file=_TILLHUB + "products.update.event.schema.json",
        ),
        EventType(
            key="products.delete.v0",
            entity="product",
            action="delete",
            version=0,
            description="A product was deleted; the payload is the product as it was, "
            "marked deleted.",
            # No published delete schema: the payload is the product, as for an update.
            schema_file=_TILLHUB + "products.update.event.schema.json",
        ),
        EventType(
            key="stocks.update.v0",
            entity="stocks-book",
            action="update",
            version=0,
            description="A stock level changed at a location (sale, delivery note or "
            "transfer); the payload is the stock book entry.",
            schema_file=_TILLHUB + "stocks-book.create.event.schema.json",
        ),
        EventType(
            key="balances.create.v0",
            entity="balance",
            action="create",
            version=0,
            description="A register was closed (end-of-day balance, Z report): revenue per "
            "tax rate, cash counted and discrepancy.",
            schema_file=_TILLHUB + "balances.legacy.create.event.schema.json",
        ),
    )
}

# Hookline's own operational events (SPEC 3): about an account's subscriptions, published by
# Hookline itself (deliveries.services.operational), never about the receiving subscription.
_HOOKLINE = "hookline/"
OPERATIONAL_EVENT_TYPES: dict[str, EventType] = {
    event.key: event
    for event in (
        EventType(
            key="hookline.webhook_disabled.v1",
            entity="webhook",
            action="webhook_disabled",
            version=1,
            description="A subscription was deactivated (by the auto-deactivation rules or "
            "a 410 Gone); its deliveries wait as paused until it is reactivated.",
            schema_file=_HOOKLINE + "webhook_disabled.v1.schema.json",
        ),
        EventType(
            key="hookline.webhook_circuit_opened.v1",
            entity="webhook",
            action="webhook_circuit_opened",
            version=1,
            description="A subscription's circuit breaker opened after consecutive failed "
            "attempts: its deliveries wait and one probe goes out after a cool-down.",
            schema_file=_HOOKLINE + "webhook_circuit_opened.v1.schema.json",
        ),
        EventType(
            key="hookline.webhook_recovered.v1",
            entity="webhook",
            action="webhook_recovered",
            version=1,
            description="A subscription's endpoint answered again: its circuit closed and "
            "the waiting deliveries flow again, oldest first.",
            schema_file=_HOOKLINE + "webhook_recovered.v1.schema.json",
        ),
    )
}

BUILTIN_EVENT_TYPES: dict[str, EventType] = {**TILLHUB_EVENT_TYPES, **OPERATIONAL_EVENT_TYPES}

# Tillhub's built-ins: what the simulator, the load tester, the demo and /api/v0 publish and
# list (a receiver of Tillhub's protocol knows only create, update and delete).
EVENT_TYPES = TILLHUB_EVENT_TYPES

KNOWN_EVENT_KEYS: tuple[str, ...] = tuple(BUILTIN_EVENT_TYPES)

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
    "hookline": "hookline",
}

# `<entities><sep><action><sep>v<version>` with one separator used throughout: `.` or `:`.
_KEY_PATTERN = re.compile(r"^([a-z][a-z0-9-]*)([.:])([a-z][a-z_]*)\2v(0|[1-9][0-9]*)$")

# An account's own key, canonical form: a plural entity name (lowercase letters, digits and
# hyphens), an action word, a version. Bounded so a key fits its 64-character columns.
OWN_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}\.[a-z][a-z_]{0,14}\.v(0|[1-9][0-9]{0,5})$")
OWN_KEY_RULE = (
    "<entities>.<action>.v<N>: lowercase entities (letters, digits, hyphens), an action word "
    "(letters, underscores) and a version number, e.g. invoices.paid.v1"
)
# Entities of keys an account may not define: `hookline.*` holds Hookline's own operational
# events (built-in, SPEC 3), present or to come.
RESERVED_ENTITIES = frozenset({"hookline"})


class UnknownEventKey(ValueError):
    """Raised for an event key that is not in the catalog; the message lists the known keys."""

    def __init__(self, key: object, known_keys: Collection[str] = ()) -> None:
        self.key = key
        self.known_keys = (*KNOWN_EVENT_KEYS, *sorted(set(known_keys) - set(KNOWN_EVENT_KEYS)))
        super().__init__(
            f"Unknown event key {key!r}. Known event keys: {', '.join(self.known_keys)}."
        )


def normalized_event_key(raw: object) -> str | None:
    """`raw` in canonical spelling (lowercase, dots) without looking it up, or None when it is
    not shaped like a key. The entity is left as written (no singular/plural aliasing)."""
    if not isinstance(raw, str):
        return None
    match = _KEY_PATTERN.match(raw.strip().lower())
    if match is None:
        return None
    entity, _separator, action, version = match.groups()
    return f"{entity}.{action}.v{version}"


def builtin_event_key(raw: object) -> str | None:
    """The canonical built-in key `raw` names (aliases accepted), or None."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if text in BUILTIN_EVENT_TYPES:
        return text
    match = _KEY_PATTERN.match(text)
    if match is None:
        return None
    entity, _separator, action, version = match.groups()
    plural = _ENTITY_ALIASES.get(entity)
    key = f"{plural}.{action}.v{version}"
    return key if plural is not None and key in BUILTIN_EVENT_TYPES else None


def canonical_event_key(raw: str, own_keys: Collection[str] = ()) -> str:
    """Returns the canonical key for `raw`: a built-in or one of `own_keys` (an account's own).

    Built-ins accept the canonical form (`products.create.v0`), the colon form
    (`products:create:v0`) and the singular entity (`product.create.v0`,
    `transaction:create:v0`); own keys the canonical and the colon form; both in any case and
    with surrounding whitespace. Raises UnknownEventKey for anything else.
    """
    builtin = builtin_event_key(raw)
    if builtin is not None:
        return builtin
    normalized = normalized_event_key(raw)
    if normalized is not None and normalized in own_keys:
        return normalized
    raise UnknownEventKey(raw, own_keys)


def event_type(key: str) -> EventType:
    """Returns the built-in catalog entry for `key` (aliases accepted); raises UnknownEventKey."""
    return BUILTIN_EVENT_TYPES[canonical_event_key(key)]


def event_key_parts(key: str) -> tuple[str, str, int]:
    """(entities, action, version) of a canonical key, e.g. ("invoices", "paid", 1): an own
    type's envelope `event_type` and `event_version` come from its key."""
    entities, action, version = key.split(".")
    return entities, action, int(version[1:])
