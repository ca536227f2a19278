"""PayloadGenerator: realistic entity payloads for every catalog key, from one shared world.

    generator = PayloadGenerator(seed=7)
    generator.payload("products.create.v0")       # a new product
    generator.payload("transaction.create.v0")    # a sale of products created earlier
    generator.payload("stocks.update.v0")         # that sale's stock book entry, or a delivery

The same seed gives the same sequence of payloads (ids, amounts and timestamps included) for
the same sequence of calls. Plain Python: no Django, no schema work at run time.
"""

from collections.abc import Callable
from typing import Any

from events.catalog import BUILTIN_EVENT_TYPES, canonical_event_key
from events.payloads.balances import balances_create
from events.payloads.customers import customers_create, customers_delete, customers_update
from events.payloads.operational import (
    webhook_circuit_opened,
    webhook_disabled,
    webhook_recovered,
)
from events.payloads.products import products_create, products_delete, products_update
from events.payloads.stocks import stocks_update
from events.payloads.transactions import transactions_create
from events.payloads.world import World

PayloadFactory = Callable[[World, str | None], dict[str, Any]]

FACTORIES: dict[str, PayloadFactory] = {
    "transactions.create.v0": transactions_create,
    "customers.create.v0": customers_create,
    "customers.update.v0": customers_update,
    "customers.delete.v0": customers_delete,
    "products.create.v0": products_create,
    "products.update.v0": products_update,
    "products.delete.v0": products_delete,
    "stocks.update.v0": stocks_update,
    "balances.create.v0": balances_create,
    "hookline.webhook_disabled.v1": webhook_disabled,
    "hookline.webhook_circuit_opened.v1": webhook_circuit_opened,
    "hookline.webhook_recovered.v1": webhook_recovered,
}
assert FACTORIES.keys() == BUILTIN_EVENT_TYPES.keys()

# The seed behind every catalog `payload_example`, and how many payloads of the key are
# generated to pick the example from.
EXAMPLE_SEED = 20260116
EXAMPLE_CANDIDATES = 12


class PayloadGenerator:
    """Generates payloads (the envelope's `payload`) that evolve one consistent fake world.

    Not thread-safe: give each thread its own generator.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.world = World(seed)

    def payload(self, key: str, entity_instance_id: str | None = None) -> dict[str, Any]:
        """Returns a fresh payload for the event `key` (aliases accepted).

        `payload["id"]` is `entity_instance_id` when given (an update or delete then changes
        that entity if the world knows it), else a new UUID. Raises UnknownEventKey.
        """
        factory = FACTORIES.get(key) if isinstance(key, str) else None
        if factory is None:
            factory = FACTORIES[canonical_event_key(key)]
        instance_id = None if entity_instance_id is None else str(entity_instance_id)
        return factory(self.world, instance_id)


def example(key: str) -> dict[str, Any]:
    """Returns the same realistic payload for `key` on every call (the catalog's example):
    of the first few payloads a seeded generator makes, the one that fills the most fields
    (a sale with a customer discount and a card payment over a one-item cash sale).

    Raises UnknownEventKey.
    """
    generator = PayloadGenerator(seed=EXAMPLE_SEED)
    candidates = [generator.payload(key) for _ in range(EXAMPLE_CANDIDATES)]
    return max(candidates, key=lambda payload: len(_filled_fields(payload, "")))


def _filled_fields(value: Any, path: str) -> set[str]:
    """Returns the paths (list positions left out) that hold something other than null."""
    if isinstance(value, dict):
        fields = {path}
        for name, item in value.items():
            fields |= _filled_fields(item, f"{path}.{name}")
        return fields
    if isinstance(value, list):
        fields = {path}
        for item in value:
            fields |= _filled_fields(item, path)
        return fields
    return set() if value is None else {path}
