"""Sales: the `transactions.create.v0` payload (transactions.legacy.create.event schema).

Tillhub's legacy transaction carries every amount twice: the old integer fields in cents
(`total`, `selling_price`, `vat_amount`, payments' `amount`) and the newer EUR numbers
(`_amount_gross`, `_tax_amount_total`, `_amount_requested`, ...). Both are filled, from the
same integer arithmetic, so they agree.
"""

from typing import Any

from events.payloads.checkout import Line, book_sale, ring_up
from events.payloads.clock import compact_stamp, iso
from events.payloads.customers import ensure_customers
from events.payloads.fiscal import sale_process_data, signed_status
from events.payloads.money import CURRENCY, euros
from events.payloads.payments import payment_payload
from events.payloads.products import ensure_assortment
from events.payloads.receipts import sale_receipt
from events.payloads.records import Branch, Register, Staff, StockMovement
from events.payloads.world import World

# Share of sales where the customer shows a customer card (the sale names the customer).
KNOWN_CUSTOMER_SHARE = 0.35

# The basket was opened (TSE start) this long before the sale was booked, in milliseconds.
BASKET_MIN_MS = 15_000
BASKET_MAX_MS = 180_000

TIMEZONE = "Europe/Berlin"


def transactions_create(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Rings up a sale at a random register and returns the transaction."""
    ensure_assortment(world)
    ensure_customers(world)
    now = world.clock.tick()
    rng = world.rng
    branch = rng.choice(world.branches)
    register = rng.choice(branch.registers)
    shift = world.open_shift(register, now)
    customer = world.customers.choice(rng) if rng.random() < KNOWN_CUSTOMER_SHARE else None
    cart = ring_up(world, customer)
    register.transaction_number += 1
    number = register.transaction_number
    transaction_id = entity_instance_id or world.uuid()
    client_id = world.uuid()
    previous_client_id = shift.last_sale_client_id
    book_sale(shift, cart, moment_ms=now, transaction_number=number, client_id=client_id)
    for line in cart.lines:
        world.pending_stock_movements.append(
            StockMovement(
                kind="sale",
                product_id=line.product.id,
                branch=branch,
                quantity_change_milli=-line.quantity_milli,
                reason=f"Verkauf, Bon {number}, {register.name}",
                transaction_id=transaction_id,
            )
        )

    stamp = iso(now)
    cashier = shift.cashier
    guid = f"0002{register.number:04d}{branch.number:04d}{compact_stamp(now)}"
    status = signed_status(
        world,
        register,
        source_type="transaction",
        started_ms=now - rng.randint(BASKET_MIN_MS, BASKET_MAX_MS),
        finished_ms=now,
        process_type="Kassenbeleg-V1",
        process_data=sale_process_data(
            cart.gross_by_vat(),
            [(payment.requested, payment.option.type_name == "cash") for payment in cart.payments],
        ),
        receipt_type="Beleg",
    )
    metadata: dict[str, Any] = {
        "authorizer_staff_uuid": cashier.id,
        "device": {**register.device, "user": dict(register.device["user"])},
    }
    if previous_client_id is not None:
        metadata["previous_tx_client_id"] = previous_client_id
    customer_context = None
    if customer is not None:
        customer_context = {
            "custom_id": customer.number,
            "display": customer.display,
            "price_book": None,
        }
    return {
        "id": transaction_id,
        "update_id": 1,
        "created_at": {"iso": stamp, "unix": now},
        "updated_at": {"iso": stamp, "unix": now},
        "dev_uuid": register.dev_uuid,
        "transaction_number": number,
        "balance_number": shift.balance_number,
        "branch_number": branch.number,
        "register_number": register.number,
        "guid": guid,
        "date": stamp,
        "cashier_staff_number": cashier.number,
        "currency_iso_code": CURRENCY,
        "total": cart.total,
        "change": sum(payment.change for payment in cart.payments),
        "type_name": "sale",
        "customer_number": customer.number if customer else None,
        "customer_receipt": sale_receipt(
            cart,
            branch=branch,
            register=register,
            cashier=cashier,
            transaction_number=number,
            moment_ms=now,
        ),
        "merchant_receipt": None,
        "barcode": f"RT{world.hex_token(8).upper()}",
        "customer_description": customer.display if customer else None,
        "payback_number": None,
        "metadata": metadata,
        "client_id": client_id,
        "cashier_staff": cashier.id,
        "temp_staff": None,
        "client": register.client_id,
        "customer": customer.id if customer else None,
        "context": None,
        "timezone": TIMEZONE,
        "has_promotion": False,
        "applied_promotions": None,
        "branch": branch.id,
        "register": register.id,
        "wallet": None,
        "_type": "sale",
        "_custom_id": f"Bon {number}",
        "_balance_client_id": shift.balance_client_id,
        "_staff": cashier.id,
        "_temporary_staff": None,
        "_context": {
            "guid": guid,
            "title": None,
            "previous_tx_client_id": previous_client_id,
            "counters": {"signing_error": 0},
            "register": {"display": register.name},
            "branch": {"display": branch.name},
            "cashier_staff": {"custom_id": cashier.number, "display": cashier.display},
            "customer": customer_context,
        },
        "_external_reference_id": None,
        "_customer_external_reference_id": customer.external_reference if customer else None,
        "_origins": None,
        "_depends_on": None,
        "_related_to": None,
        "_location": {"lat": branch.lat, "lng": branch.lng},
        "items": [
            _item(world, line, position, branch, register, cashier, stamp, now)
            for position, line in enumerate(cart.lines, start=1)
        ],
        "payments": [
            payment_payload(world, payment, position, branch, register, stamp, now)
            for position, payment in enumerate(cart.payments, start=1)
        ],
        "status": status,
        "external_rewards": None,
    }


def _item(
    world: World,
    line: Line,
    position: int,
    branch: Branch,
    register: Register,
    cashier: Staff,
    stamp: str,
    now: int,
) -> dict[str, Any]:
    product = line.product
    tax = product.tax
    group = product.group
    product_group_id = world.product_group_ids[group.number]
    legacy_discounts = discounts = None
    if line.discount:
        rate = line.discount_permille / 1000
        name = f"Stammkundenrabatt {line.discount_permille // 10} %"
        source_id = world.discount_ids[rate]
        legacy_discounts = [
            {
                "name": name,
                "group": "customer",
                "order_index": 0,
                "type_name": "percentage",
                "value": line.discount_permille / 10,
                "amount": line.discount_unit,
                "amount_total": line.discount,
                "external_reference_id": None,
                "source_id": source_id,
                "is_automatic": True,
                "order": "last",
            }
        ]
        discounts = [
            {
                "amount": euros(line.discount_unit),
                "amount_total": euros(line.discount),
                "order_index": 0,
                "currency": CURRENCY,
                "value": None,
                "rate": rate,
                "client_id": world.uuid(),
                "external_reference_id": None,
                "group": "customer",
                "name": name,
                "source_id": source_id,
                "assignment_id": None,
                "assignment_source": "customer",
                "is_automatic": True,
                "order": "last",
            }
        ]
    return {
        "id": world.uuid(),
        "update_id": 1,
        "created_at": {"iso": stamp, "unix": now},
        "updated_at": {"iso": stamp, "unix": now},
        "quantity": line.quantity,
        "article_price": product.gross_cents,
        "selling_price": product.gross_cents - line.discount_unit,
        "selling_price_total": line.gross,
        "article_fa_account_number": tax.revenue_fa_account,
        "vat_percentage": tax.percent * 100,
        "vat_fa_account_number": tax.tax_fa_account,
        "vat_amount": line.tax,
        "salesman_staff_number": cashier.number,
        "product_number": product.number,
        # The VAT before rounding, in cents, as the POS sends it: a decimal string.
        "vat_amount_euro": f"{line.gross * tax.percent / (100 + tax.percent):.12f}",
        "discount_amount": line.discount_unit,
        "product_name": product.name,
        "product_group_number": group.number,
        "product_supplier_name": group.supplier,
        "is_refund": 0,
        "article": product.id,
        "attributes_description": product.template.content,
        "attributes": None,
        "is_tip": False,
        "is_service": False,
        "used_barcode": product.ean,
        "is_voucher": False,
        "discounts": legacy_discounts,
        "context": None,
        "_context": {
            "title": None,
            "account": {"custom_id": tax.revenue_fa_account, "display": tax.revenue_display},
            "tax": {"custom_id": tax.tax_fa_account, "display": tax.tax_display},
            "product": {
                "custom_id": product.number,
                "display": product.name,
                "supplier_name": group.supplier,
            },
            "product_group": {"custom_id": group.number, "display": group.name},
            "salesman_staff": {
                "owner": False,
                "custom_id": cashier.number,
                "display": cashier.display,
            },
        },
        "type": "item",
        "client_id": world.uuid(),
        "position": position,
        "_qty": line.quantity,
        "_unit": product.template.unit,
        "_currency": CURRENCY,
        "_product": product.id,
        "_product_custom_id": product.number,
        "_custom_id": None,
        "_tax": tax.tax_id,
        "_vat_rate": tax.rate,
        "_vat_rate_class": tax.vat_class,
        "branch": branch.id,
        "register": register.id,
        "salesman_staff": cashier.id,
        "_taxes": [
            {
                "tax": tax.tax_id,
                "position": 0,
                "rate": tax.rate,
                "custom_id": tax.tax_fa_account,
                "display": tax.tax_display,
            }
        ],
        "configuration": None,
        "_account": tax.revenue_account_id,
        "_product_group": product_group_id,
        "_tax_amount": euros(line.tax_unit),
        "_tax_amount_total": euros(line.tax),
        "_discount_amount": euros(line.discount_unit),
        "_discount_amount_total": euros(line.discount),
        "_promotion_amount": 0.0,
        "_promotion_amount_total": 0.0,
        "_discounts": discounts,
        "_origins": None,
        "_depends_on": None,
        "_related_to": None,
        "_product_service_answers": None,
        "_comments": None,
        "_note": None,
        "_external_reference_id": None,
        "_amount_net": euros(line.net),
        "_amount_gross": euros(line.gross),
        "_amount_total_net": euros(line.total_net),
        "_amount_total_gross": euros(line.total_gross),
        "_amount_unit_net": euros(product.net_cents),
        "_amount_unit_gross": euros(product.gross_cents),
        "_is_refund": False,
        "custom_properties": None,
        "account": tax.revenue_account_id,
        "product_group": product_group_id,
    }
