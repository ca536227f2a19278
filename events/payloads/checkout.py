"""Ringing up a sale: items with quantities, discounts and VAT, the payments, and what the
register's shift books for it. Integer cents throughout; the sums hold exactly:

- per item: net + tax = gross, and gross = total before discount - discount;
- items: the gross amounts add up to the cart total;
- payments: requested amounts add up to the total; given - change = requested.
"""

import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate

from events.payloads.money import div_half_even, is_multiple, is_representable, net_from_gross
from events.payloads.records import CustomerRecord, PaymentOption, ProductRecord, Shift
from events.payloads.world import World

# How many different products a basket holds, and how likely each size is (cumulative
# weights, precomputed for a bisect per draw instead of random.choices' bookkeeping).
_BASKET_SIZES = (1, 2, 3, 4, 5, 6, 8)
_BASKET_CUMULATIVE = tuple(accumulate((30, 25, 18, 11, 7, 5, 4)))
# Pieces of one product on one line.
_PIECES_MILLI = (1000, 2000, 3000, 4000, 6000)
_PIECES_CUMULATIVE = tuple(accumulate((70, 15, 7, 4, 4)))
_CARD_CUMULATIVE = tuple(accumulate((70, 18, 12)))  # girocard, Visa, Mastercard

# Priced lines are cached per world; past this many entries the cache starts over.
LINE_CACHE_SIZE = 50_000

# A line's amounts must all be representable (money.is_representable); a quantity is drawn
# up to QUANTITY_ATTEMPTS times, then up to PRODUCT_ATTEMPTS other products are tried.
QUANTITY_ATTEMPTS = 6
PRODUCT_ATTEMPTS = 10

# Share of sales paid in cash (Germany is still about half cash at the till), card, or split.
CASH_SHARE = 0.45
SPLIT_SHARE = 0.05
# Of the cash payers, this many hand over the exact amount.
EXACT_CASH_SHARE = 0.25


@dataclass(slots=True)
class Line:
    product: ProductRecord
    quantity_milli: int
    """Quantity in thousandths: 2000 for two pieces, 734 for 734 g of loose goods."""
    total_gross: int
    """unit price x quantity, before discount."""
    total_net: int
    discount: int
    discount_unit: int
    gross: int
    """Payable: total_gross - discount."""
    net: int
    tax: int
    tax_unit: int
    discount_permille: int

    @property
    def quantity(self) -> int | float:
        whole, fraction = divmod(self.quantity_milli, 1000)
        return whole if fraction == 0 else self.quantity_milli / 1000


@dataclass(slots=True)
class Payment:
    option: PaymentOption
    requested: int
    """What this payment settles of the total."""
    given: int
    change: int


@dataclass(slots=True)
class Cart:
    lines: list[Line]
    payments: list[Payment]
    total: int
    customer: CustomerRecord | None

    def gross_by_vat(self) -> dict[int, int]:
        """Returns {19: cents, 7: cents} of the payable gross per VAT rate."""
        sums = {19: 0, 7: 0}
        for line in self.lines:
            sums[line.product.tax.percent] += line.gross
        return sums


def price_line(product: ProductRecord, quantity_milli: int, discount_permille: int) -> Line | None:
    """Returns the priced line, or None when one of its amounts is not representable."""
    percent = product.tax.percent
    if quantity_milli % 1000 == 0:
        total_gross = product.gross_cents * (quantity_milli // 1000)
    else:
        total_gross = div_half_even(product.gross_cents * quantity_milli, 1000)
    discount = div_half_even(total_gross * discount_permille, 1000)
    gross = total_gross - discount
    net = net_from_gross(gross, percent)
    tax = gross - net
    total_net = net_from_gross(total_gross, percent)
    tax_unit = div_half_even(tax * 1000, quantity_milli)
    discount_unit = div_half_even(discount * 1000, quantity_milli)
    for cents in (total_gross, total_net, gross, net, tax, tax_unit, discount, discount_unit):
        if not is_representable(cents):
            return None
    if not is_multiple(quantity_milli / 1000, 0.001):
        return None
    return Line(
        product=product,
        quantity_milli=quantity_milli,
        total_gross=total_gross,
        total_net=total_net,
        discount=discount,
        discount_unit=discount_unit,
        gross=gross,
        net=net,
        tax=tax,
        tax_unit=tax_unit,
        discount_permille=discount_permille,
    )


def _weighted(rng: random.Random, population: tuple[int, ...], cumulative: tuple[int, ...]) -> int:
    return population[bisect(cumulative, rng.random() * cumulative[-1])]


def _quantity_milli(rng: random.Random, product: ProductRecord) -> int:
    if product.template.unit == "kg":
        return rng.randint(150, 1800)
    return _weighted(rng, _PIECES_MILLI, _PIECES_CUMULATIVE)


def _cached_line(
    world: World, product: ProductRecord, quantity_milli: int, discount_permille: int
) -> Line | None:
    """price_line, remembered per world: baskets repeat the same few quantities of the same
    products, and pricing is the costliest step of a sale."""
    key = (product.id, product.gross_cents, quantity_milli, discount_permille)
    cached = world.line_cache.get(key)
    if cached is not None and cached[0] is product:
        return cached[1]
    line = price_line(product, quantity_milli, discount_permille)
    if len(world.line_cache) >= LINE_CACHE_SIZE:
        world.line_cache.clear()
    world.line_cache[key] = (product, line)
    return line


def _line_for(world: World, product: ProductRecord, discount_permille: int) -> Line | None:
    """Prices the product at a few likely quantities; None when none gives clean amounts."""
    permille = discount_permille if product.group.discountable else 0
    for _ in range(QUANTITY_ATTEMPTS):
        line = _cached_line(world, product, _quantity_milli(world.rng, product), permille)
        if line is not None:
            return line
    return _cached_line(world, product, 1000, permille)


def ring_up(
    world: World, customer: CustomerRecord | None, *, basket_size: int | None = None
) -> Cart:
    """Returns a priced and paid basket of products from the world (which must have some),
    of `basket_size` different products (a typical random size when None)."""
    rng = world.rng
    discount_permille = 0
    if customer is not None and customer.discount_rate is not None:
        discount_permille = round(customer.discount_rate * 1000)
    size = basket_size or _weighted(rng, _BASKET_SIZES, _BASKET_CUMULATIVE)
    lines = []
    for product in world.products.sample(rng, size):
        line = _line_for(world, product, discount_permille)
        # Amounts the validators would reject: the customer picks something else instead.
        for _ in range(PRODUCT_ATTEMPTS):
            if line is not None:
                break
            line = _line_for(world, world.products.choice(rng), discount_permille)
        if line is None:
            # One piece at the shelf price is always clean (products.price_is_clean); the
            # customer discount is skipped for this one item.
            line = _cached_line(world, product, 1000, 0)
            assert line is not None, product.gross_cents
        lines.append(line)
    total = sum(line.gross for line in lines)
    # A total the validators would reject: the customer grabs one more thing at the till.
    for _ in range(20):
        if is_representable(total):
            break
        product = world.products.choice(rng)
        permille = discount_permille if product.group.discountable else 0
        extra = _cached_line(world, product, 1000, permille)
        if extra is not None:
            lines.append(extra)
            total += extra.gross
    else:
        lines = lines[:1]
        total = lines[0].gross
    return Cart(lines=lines, payments=settle(world, total), total=total, customer=customer)


def settle(world: World, total: int) -> list[Payment]:
    """Returns the payments for `total`: cash (with change), card, or a bit of cash and the
    rest by card."""
    rng = world.rng
    roll = rng.random()
    if roll < CASH_SHARE:
        return [_cash(world, total)]
    if roll < CASH_SHARE + SPLIT_SHARE:
        cash_part = rng.choice((500, 1000, 2000))
        if total > cash_part + 100 and is_representable(total - cash_part):
            return [
                Payment(world.cash, cash_part, cash_part, 0),
                Payment(_card_option(world), total - cash_part, total - cash_part, 0),
            ]
    return [Payment(_card_option(world), total, total, 0)]


def _card_option(world: World) -> PaymentOption:
    return world.cards[bisect(_CARD_CUMULATIVE, world.rng.random() * _CARD_CUMULATIVE[-1])]


def _cash(world: World, total: int) -> Payment:
    rng = world.rng
    if rng.random() >= EXACT_CASH_SHARE:
        # The next 5, 10, 20 or 50 euro note above the total; multiples of 50 cents are
        # always representable, so only the change needs checking.
        for note in rng.sample((500, 1000, 2000, 5000), 4):
            given = -(-total // note) * note
            change = given - total
            if change > 0 and is_representable(change):
                return Payment(world.cash, total, given, change)
    return Payment(world.cash, total, total, 0)


def book_sale(
    shift: Shift, cart: Cart, *, moment_ms: int, transaction_number: int, client_id: str
) -> None:
    """Adds the sale to the register's open shift (what its balance will sum up)."""
    shift.sales_count += 1
    for line in cart.lines:
        percent = line.product.tax.percent
        shift.gross_by_vat[percent] = shift.gross_by_vat.get(percent, 0) + line.gross
        shift.net_by_vat[percent] = shift.net_by_vat.get(percent, 0) + line.net
        shift.discount_cents += line.discount
        shift.quantity_milli += line.quantity_milli
        if line.discount:
            name = f"Stammkundenrabatt {line.discount_permille // 10} %"
            stats = shift.discount_stats.setdefault(name, [line.discount_permille, 0, 0])
            stats[1] += 1
            stats[2] += line.discount
    shift.items_count += len(cart.lines)
    for payment in cart.payments:
        if payment.option.type_name == "cash":
            shift.cash_cents += payment.requested
            shift.change_cents += payment.change
        else:
            shift.card_cents += payment.requested
    if shift.first_sale_ms is None:
        shift.first_sale_ms = moment_ms
        shift.first_sale_number = transaction_number
        shift.first_sale_client_id = client_id
    shift.last_sale_ms = moment_ms
    shift.last_sale_number = transaction_number
    shift.last_sale_client_id = client_id
