"""Printable receipt texts: the customer's sale receipt and the register's closing report
(Z-Bon), 40 characters wide like a thermal printer roll, amounts in German notation."""

from events.payloads.checkout import Cart
from events.payloads.clock import receipt_stamp
from events.payloads.money import german_text
from events.payloads.records import Branch, Register, Staff
from events.payloads.world import RETAILER_NAME

WIDTH = 40
_RULE = "-" * WIDTH
_VAT_LETTERS = {19: "A", 7: "B"}


def _row(left: str, right: str) -> str:
    space = max(1, WIDTH - len(left) - len(right))
    return f"{left}{' ' * space}{right}"


def _header(branch: Branch) -> list[str]:
    city = branch.city
    return [
        RETAILER_NAME,
        branch.name,
        f"{branch.street} {branch.street_number}, {branch.postal_code} {city.name}",
        _RULE,
    ]


def sale_receipt(
    cart: Cart,
    *,
    branch: Branch,
    register: Register,
    cashier: Staff,
    transaction_number: int,
    moment_ms: int,
) -> str:
    """Returns the customer receipt of a sale; call after signing (it prints TSE counters)."""
    lines = _header(branch)
    net_by_vat: dict[int, int] = {}
    tax_by_vat: dict[int, int] = {}
    for line in cart.lines:
        product = line.product
        percent = product.tax.percent
        letter = _VAT_LETTERS[percent]
        lines.append(product.name[:WIDTH])
        if product.template.unit == "kg":
            amount = f"  {line.quantity_milli / 1000:.3f}".replace(".", ",")
            quantity = f"{amount} kg x {german_text(product.gross_cents)} €/kg"
        else:
            quantity = f"  {line.quantity} x {german_text(product.gross_cents)}"
        lines.append(_row(quantity, f"{german_text(line.total_gross)} {letter}"))
        if line.discount:
            label = f"  Stammkundenrabatt {line.discount_permille // 10} %"
            lines.append(_row(label, f"-{german_text(line.discount)}  "))
        net_by_vat[percent] = net_by_vat.get(percent, 0) + line.net
        tax_by_vat[percent] = tax_by_vat.get(percent, 0) + line.tax
    lines.append(_RULE)
    lines.append(_row("SUMME EUR", german_text(cart.total)))
    for payment in cart.payments:
        lines.append(_row(payment.option.name, german_text(payment.given)))
        if payment.change:
            lines.append(_row("Rückgeld", german_text(payment.change)))
    lines.append(_RULE)
    lines.append(_row("MwSt        Netto   Steuer", "Brutto"))
    for percent in sorted(net_by_vat, reverse=True):
        net, tax = net_by_vat[percent], tax_by_vat[percent]
        label = f"{_VAT_LETTERS[percent]} {percent:>2} %"
        lines.append(
            _row(f"{label} {german_text(net):>10} {german_text(tax):>8}", german_text(net + tax))
        )
    lines.append(_RULE)
    lines.append(f"Bon-Nr. {transaction_number}  {register.name}  {receipt_stamp(moment_ms)}")
    lines.append(f"Es bediente Sie: {cashier.firstname}")
    lines.append(
        f"TSE-Transaktion {register.tse_transaction_number}, "
        f"Signaturzähler {register.tse_signature_counter}"
    )
    lines.append("Vielen Dank für Ihren Einkauf!")
    return "\n".join(lines)


# Euro notes and coins in cents, largest first, for counting the drawer.
DENOMINATIONS = (10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1)


def count_cash(cents: int) -> list[tuple[int, int]]:
    """Returns (denomination, pieces) for a drawer holding `cents`, fewest pieces first."""
    pieces = []
    for denomination in DENOMINATIONS:
        count, cents = divmod(cents, denomination)
        if count:
            pieces.append((denomination, count))
    return pieces


def closing_report(
    *,
    branch: Branch,
    register: Register,
    cashier: Staff,
    balance_number: int,
    opened_ms: int,
    closed_ms: int,
    rows: list[tuple[str, int]],
    counted_cents: int,
) -> str:
    """Returns the Z-Bon: the figures in `rows`, then the counted cash by note and coin."""
    lines = _header(branch)
    lines.append(f"Kassenabschluss Nr. {balance_number}  {register.name}")
    lines.append(f"von {receipt_stamp(opened_ms)}")
    lines.append(f"bis {receipt_stamp(closed_ms)}")
    lines.append(f"Kassierer/in: {cashier.firstname} {cashier.lastname}")
    lines.append(_RULE)
    lines.extend(_row(label, german_text(cents)) for label, cents in rows)
    lines.append(_RULE)
    lines.append("Zählprotokoll")
    for denomination, count in count_cash(counted_cents):
        kind = "Schein" if denomination >= 500 else "Münze"
        label = f"  {count} x {german_text(denomination)} ({kind})"
        lines.append(_row(label, german_text(denomination * count)))
    lines.append(_row("Gezählt", german_text(counted_cents)))
    return "\n".join(lines)
