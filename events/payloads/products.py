"""Products: the world's records and the `products.{create,update,delete}.v0` payloads.

The payload is Tillhub's product resource (products.*.event schema, fields under `response`).
"""

import zlib
from typing import Any

from events.payloads.assortment import PRICE_ENDING_WEIGHTS, PRICE_ENDINGS, PRODUCT_GROUPS
from events.payloads.barcodes import gs1_check_digit
from events.payloads.clock import DAY_MS, iso
from events.payloads.money import CURRENCY, euros, is_multiple, is_representable, net_from_gross
from events.payloads.records import ProductRecord
from events.payloads.world import RETAILER_DOMAIN, World

# When a sale needs products and fewer than this many exist, the world gets an opening
# assortment of BOOTSTRAP_PRODUCTS first (created silently: they predate the event stream).
MIN_PRODUCTS = 3
BOOTSTRAP_PRODUCTS = 12

# Entities that an update or delete invents (its id was never created here) were created this
# many days before the event at most.
MAX_AGE_DAYS = 400

_DISCLAIMER_ALCOHOL = "Abgabe alkoholischer Getränke nur an Personen ab 16 bzw. 18 Jahren (JuSchG)."


def price_is_clean(gross_cents: int, vat_percent: int) -> bool:
    """True when the price and its net and tax parts are representable amounts (see
    money.is_representable): one piece of the product can always be sold undiscounted."""
    net = net_from_gross(gross_cents, vat_percent)
    return (
        is_representable(gross_cents)
        and is_representable(net)
        and is_representable(gross_cents - net)
    )


def pick_price(world: World, typical_cents: int, vat_percent: int) -> int:
    """Returns a clean shelf price within 20 % of `typical_cents`, with a usual price ending
    (x.99, x.49, ...)."""
    rng = world.rng
    for _ in range(200):
        target = typical_cents * rng.uniform(0.9, 1.15)
        ending = rng.choices(PRICE_ENDINGS, PRICE_ENDING_WEIGHTS)[0]
        cents = int(target) // 100 * 100 + ending
        if cents > target + 50:  # x.99 for a target of x.05 is nearly a euro too much
            cents -= 100
        near = cents > 0 and abs(cents - typical_cents) <= typical_cents * 0.2
        if near and price_is_clean(cents, vat_percent):
            return cents
    cents = typical_cents
    while not price_is_clean(cents, vat_percent):
        cents += 1
    return cents


def _purchase_price(world: World, net_cents: int) -> int:
    cents = max(1, int(net_cents * world.rng.uniform(0.45, 0.72)))
    while not is_representable(cents):
        cents += 1
    return cents


def _margin(net_cents: int, purchase_cents: int) -> float:
    """net = purchase x (1 + margin), to the schema's four decimals."""
    margin = round(net_cents / purchase_cents - 1, 4)
    while not is_multiple(margin, 0.0001):
        margin = round(margin + 0.0001, 4)
    return margin


def _company_prefix(brand: str) -> str:
    """A stable seven-digit GS1 Germany company prefix per brand (crc32, not the randomised
    str hash, so it is the same in every process)."""
    return f"40{zlib.crc32(brand.encode()) % 100_000:05d}"


def new_product(
    world: World, *, product_id: str | None = None, created_ms: int | None = None
) -> ProductRecord:
    """Returns a new product record (not yet in the world) and stocks it in every branch."""
    rng = world.rng
    template = world.next_template()
    group = PRODUCT_GROUPS[template.group]
    tax = world.taxes[group.vat_class]
    world.product_insert_id += 1
    gross = pick_price(world, template.price_cents, tax.percent)
    net = net_from_gross(gross, tax.percent)
    prefix = _company_prefix(template.brand)
    ean_body = f"{prefix}{rng.randrange(100_000):05d}"
    gln_body = f"{prefix}00000"
    tags = []
    if template.name.startswith("Bio") or template.brand == "Bioland":
        tags.append(world.tag_ids["Bio"])
    if template.origin == "Deutschland" and rng.random() < 0.5:
        tags.append(world.tag_ids["Regional"])
    if group.number == "007":
        tags.append(world.tag_ids["Vegan"])
    now = world.clock.now_ms
    created = created_ms if created_ms is not None else now
    reorder_qty = rng.choice((6, 12, 24)) if template.unit == "pcs" else 10
    record = ProductRecord(
        id=product_id or world.uuid(),
        created_ms=created,
        updated_ms=created,
        insert_id=world.product_insert_id,
        number=f"{100_000 + world.product_insert_id}",
        template=template,
        group=group,
        tax=tax,
        name=template.name,
        ean=ean_body + str(gs1_check_digit(ean_body)),
        gross_cents=gross,
        net_cents=net,
        purchase_cents=_purchase_price(world, net),
        supplier_sku=f"{group.number}-{rng.randrange(10**6):06d}",
        manufacturer_gln=gln_body + str(gs1_check_digit(gln_body)),
        image_key=world.hex_token(16),
        tags=tags,
        stock_minimum=reorder_qty // 2 + rng.randint(0, 4),
        reorder_qty=reorder_qty,
        online=rng.random() < 0.4,
    )
    for branch in world.branches:
        # Stock in thousandths of a unit: loose goods are counted in kg with grams.
        world.stock_levels[(record.id, branch.id)] = rng.randint(2, 8) * reorder_qty * 1000
    return record


def ensure_assortment(world: World) -> None:
    """Gives the world an opening assortment when it has (almost) no products."""
    if len(world.products) >= MIN_PRODUCTS:
        return
    now = world.clock.now_ms
    for _ in range(BOOTSTRAP_PRODUCTS):
        created = now - world.rng.randint(1, MAX_AGE_DAYS) * DAY_MS
        remember_product(world, new_product(world, created_ms=created))


def remember_product(world: World, product: ProductRecord) -> None:
    """Adds the product to the world (forgetting the oldest one past its capacity)."""
    evicted = world.products.add(product)
    if evicted is not None:
        forget_product(world, evicted)


def forget_product(world: World, product: ProductRecord) -> None:
    world.products.remove(product.id)
    for branch in world.branches:
        world.stock_levels.pop((product.id, branch.id), None)
        world.stock_ids.pop((product.id, branch.id), None)


def product_payload(
    world: World, product: ProductRecord, *, deleted: bool = False
) -> dict[str, Any]:
    """Returns the product resource as Tillhub sends it."""
    template = product.template
    group = product.group
    tax = product.tax
    images = f"https://images.{RETAILER_DOMAIN}/products/{product.image_key}"
    attributes = {"Inhalt": template.content, "Herkunft": template.origin}
    if template.unit == "kg":
        attributes["Verkaufseinheit"] = "kg"
    custom_properties: dict[str, Any] = {"herkunftsland": template.origin}
    if template.allergens:
        custom_properties["allergene"] = template.allergens.split(", ")
    return {
        "id": product.id,
        "created_at": iso(product.created_ms),
        "updated_at": iso(product.updated_ms),
        "name": product.name,
        "summary": f"{template.brand}, {template.content}",
        "description": f"{product.name} von {template.brand}. {group.blurb}",
        "attributes": attributes,
        "parent": None,
        "options": None,
        "children": None,
        "tags": list(product.tags),
        "linked_products": None,
        "prices": {
            "default_prices": [
                {
                    "amount": {
                        "net": euros(product.net_cents),
                        "gross": euros(product.gross_cents),
                    },
                    "currency": CURRENCY,
                    "purchase_price": euros(product.purchase_cents),
                    "cost": None,
                    "margin": _margin(product.net_cents, product.purchase_cents),
                }
            ],
            "branch_prices": [],
            "scaled_prices": [],
            "time_based_prices": [],
        },
        "barcodes": [product.ean],
        "barcode": product.ean,
        "sku": f"KL-{group.number}-{product.number}",
        "stock_minimum": product.stock_minimum,
        "stock_maximum": product.reorder_qty * 4,
        "reorder_point": product.stock_minimum,
        "reorder_qty": product.reorder_qty,
        "min_stock": None,
        "sellable": True,
        "purchasable": True,
        "stockable": True,
        "discountable": group.discountable,
        "linkable": False,
        "metadata": {},
        "audiences": [],
        "keywords": list(group.keywords),
        "categories": [world.category_ids[group.number]],
        "related_to": [],
        "similar_to": [],
        "released_at": None,
        "purchased_at": None,
        "produced_at": None,
        "custom_id": product.number,
        "tax": tax.tax_id,
        "taxes_options": None,
        "season": None,
        "seasons": None,
        "account": tax.revenue_account_id,
        "vat_class": tax.vat_class,
        "category": group.name,
        "brand": template.brand,
        "takeaway_tax": None,
        "takeaway_account": None,
        "active": product.active and not deleted,
        "deleted": deleted,
        "type": "product",
        "manufacturer": {"iln": product.manufacturer_gln},
        "supplier": {"sku": product.supplier_sku},
        "supplier_code": f"L-{group.number}",
        "locations": None,
        "branch_groups": None,
        "condition": "new",
        "images": {
            "original": f"{images}.jpg",
            "1x": f"{images}_1x.jpg",
            "2x": f"{images}_2x.jpg",
            "3x": f"{images}_3x.jpg",
            "square_1x": f"{images}_square_1x.jpg",
            "avatar": f"{images}_avatar.jpg",
        },
        "insert_id": product.insert_id,
        "product_group": world.product_group_ids[group.number],
        "delegated_to": None,
        "client_id": None,
        "external_reference_id": f"WAWI-{product.number}",
        "default_tile_color": group.tile_color,
        "codes": [{"data": product.ean, "caption": product.name, "type": "ean13"}],
        "stock_mode": "simple",
        "stock_configuration_location": None,
        "is_service": False,
        "service_questions": None,
        "service_question_groups": None,
        "addon_groups": None,
        "configuration": {
            "allow_zero_prices": False,
            "pricing": {"allow_is_free": False, "request_input": False},
        },
        # One loyalty point per full euro of the shelf price.
        "loyalty_values": [{"unit": "points", "amount": float(product.gross_cents // 100)}],
        "manufacturers": None,
        "components": [],
        "delegatable": False,
        "online": product.online,
        "serial_number_input_required": False,
        "shipping_required": product.online,
        "delegatable_to": None,
        "delegated_from": None,
        "warranty_notice": None,
        "refund_policy": group.refund_policy,
        "disclaimer": _DISCLAIMER_ALCOHOL if group.number == "006" else None,
        "policy": None,
        "external_ids": None,
        "custom_properties": custom_properties,
        "price_book_entries": None,
    }


def _invented_product(world: World, product_id: str | None) -> ProductRecord:
    """A product the event stream never announced (an update or delete of an unknown id)."""
    created = world.clock.now_ms - world.rng.randint(1, MAX_AGE_DAYS) * DAY_MS
    return new_product(world, product_id=product_id, created_ms=created)


def products_create(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    world.clock.tick()
    product = new_product(world, product_id=entity_instance_id)
    remember_product(world, product)
    return product_payload(world, product)


def products_update(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Changes an existing product (the given one, else a random one) and returns it."""
    now = world.clock.tick()
    rng = world.rng
    product = _existing_product(world, entity_instance_id)
    if product is None:
        product = _invented_product(world, entity_instance_id)
        remember_product(world, product)
    change = rng.random()
    if change < 0.5:
        product.gross_cents = pick_price(world, product.gross_cents, product.tax.percent)
        product.net_cents = net_from_gross(product.gross_cents, product.tax.percent)
        product.purchase_cents = _purchase_price(world, product.net_cents)
    elif change < 0.7:
        product.online = not product.online
    elif change < 0.85:
        product.reorder_qty = rng.choice((6, 12, 24, 48)) if product.template.unit == "pcs" else 20
        product.stock_minimum = product.reorder_qty // 2 + rng.randint(0, 4)
    else:
        new_tag = world.tag_ids["Neu"]
        if new_tag in product.tags:
            product.tags.remove(new_tag)
        else:
            product.tags.append(new_tag)
    product.updated_ms = max(now, product.created_ms)
    return product_payload(world, product)


def products_delete(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Deletes an existing product (the given one, else a random one) and returns it."""
    now = world.clock.tick()
    product = _existing_product(world, entity_instance_id)
    if product is None:
        product = _invented_product(world, entity_instance_id)
    forget_product(world, product)
    product.updated_ms = max(now, product.created_ms)
    return product_payload(world, product, deleted=True)


def _existing_product(world: World, entity_instance_id: str | None) -> ProductRecord | None:
    if entity_instance_id is not None:
        return world.products.get(entity_instance_id)
    if len(world.products) == 0:
        return None
    return world.products.choice(world.rng)
