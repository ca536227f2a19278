"""Stock book entries: the `stocks.update.v0` payload (stocks-book.create.event schema).

Stock is kept per product and branch in the world. Sales queue their stock movement (the
entry refers to the sale's transaction), a transfer between branches queues its receiving
side, and deliveries arrive in between; each entry reports the change and the level after it,
so consecutive entries of one stock record add up.
"""

from typing import Any

from events.payloads.clock import iso
from events.payloads.products import ensure_assortment
from events.payloads.records import ProductRecord, StockMovement
from events.payloads.world import World

# Share of stock entries that book a queued movement (a sale or a transfer's receiving side)
# when one is waiting; the rest are deliveries and outgoing transfers.
QUEUED_SHARE = 0.7
DELIVERY_SHARE = 0.7


def _quantity(milli: int) -> int | float:
    whole, fraction = divmod(milli, 1000)
    return whole if fraction == 0 else milli / 1000


def _next_queued(world: World) -> tuple[StockMovement, ProductRecord] | None:
    queue = world.pending_stock_movements
    while queue:
        movement = queue.popleft()
        product = world.products.get(movement.product_id)
        if product is not None:
            return movement, product
    return None


def _fresh_movement(world: World) -> tuple[StockMovement, ProductRecord]:
    """A delivery into a branch, or a transfer out of it (queueing the receiving side)."""
    rng = world.rng
    product = world.products.choice(rng)
    branch = rng.choice(world.branches)
    level = world.stock_levels.get((product.id, branch.id), 0)
    pack = product.reorder_qty * 1000
    if rng.random() < DELIVERY_SHARE or level < pack:
        note = f"LS-{rng.randrange(10**6):06d}"
        movement = StockMovement(
            kind="delivery_note",
            product_id=product.id,
            branch=branch,
            quantity_change_milli=pack * rng.randint(1, 3),
            reason=f"Wareneingang, Lieferschein {note}, {product.group.supplier}",
        )
        return movement, product
    receiver = rng.choice([other for other in world.branches if other is not branch])
    moved = min(level // 1000, rng.randint(1, product.reorder_qty)) * 1000
    world.pending_stock_movements.append(
        StockMovement(
            kind="transfer",
            product_id=product.id,
            branch=receiver,
            quantity_change_milli=moved,
            reason=f"Umlagerung von {branch.name}",
        )
    )
    movement = StockMovement(
        kind="transfer",
        product_id=product.id,
        branch=branch,
        quantity_change_milli=-moved,
        reason=f"Umlagerung an {receiver.name}",
    )
    return movement, product


def stocks_update(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Books the next stock movement and returns its stock book entry."""
    ensure_assortment(world)
    now = world.clock.tick()
    queued = _next_queued(world) if world.rng.random() < QUEUED_SHARE else None
    movement, product = queued if queued is not None else _fresh_movement(world)
    branch = movement.branch
    key = (product.id, branch.id)
    level = world.stock_levels.get(key, 0) + movement.quantity_change_milli
    world.stock_levels[key] = level
    stock_id = world.stock_ids.get(key)
    if stock_id is None:
        stock_id = world.stock_ids[key] = world.uuid()
    return {
        "id": entity_instance_id or world.uuid(),
        "created_at": iso(now),
        "qty_change": _quantity(movement.quantity_change_milli),
        "type": movement.kind,
        "qty": _quantity(level),
        "product": {
            "id": product.id,
            "name": product.name,
            "client_id": None,
            "custom_id": product.number,
            "custom_properties": {"unit": product.template.unit, "ean": product.ean},
        },
        "location": {
            "name": branch.name,
            "custom_id": branch.custom_id,
            "branch_number": branch.number,
            "metadata": {"type": "branch", "city": branch.city.name},
        },
        "reason": movement.reason,
        "stock_id": stock_id,
        "transaction_id": movement.transaction_id,
    }
