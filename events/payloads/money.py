"""Money in integer cents, VAT splits, and amounts that survive `multipleOf` checks.

All arithmetic is done on integer cents with banker's rounding (what Tillhub's POS uses), so
net + tax = gross holds exactly. Amounts leave as EUR floats (`cents / 100`) only where the
schema wants numbers.

Why "representable": the schemas put `multipleOf: 0.01` on EUR amounts, and JSON Schema
validators (Python's jsonschema, JavaScript's ajv) test it by float division, `x / 0.01`, then
ask whether the quotient is an integer. For about one cent value in nine that quotient is off by
one ulp (0.07 / 0.01 == 7.000000000000001), so a receiver validating against the published
schema would reject a perfectly good 0.07. The factories only emit amounts that pass.
"""

from typing import Any

CURRENCY = "EUR"


def div_half_even(numerator: int, denominator: int) -> int:
    """Returns numerator / denominator rounded half to even; denominator must be positive."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def net_from_gross(gross_cents: int, vat_percent: int) -> int:
    """Returns the net part of a gross amount at `vat_percent` (19 for 19 %), in cents."""
    return div_half_even(gross_cents * 100, 100 + vat_percent)


def is_multiple(value: float, step: float) -> bool:
    """True when a validator's float-division `multipleOf: step` test accepts `value`."""
    quotient = value / step
    return quotient == int(quotient)


def is_representable(cents: int) -> bool:
    """True when `cents / 100` passes a `multipleOf: 0.01` check (see the module docstring)."""
    quotient = (cents / 100) / 0.01
    return quotient == int(quotient)


def euros(cents: int) -> float:
    """Returns the EUR amount as a JSON number, e.g. 1999 -> 19.99."""
    return cents / 100


def decimal_text(cents: int) -> str:
    """Returns `12.50`-style text (DSFinV-K and receipts use a dot and two decimals)."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def german_text(cents: int) -> str:
    """Returns `1.234,50`-style text for printed receipts."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{fraction:02d}"


def money(cents: int) -> dict[str, Any] | None:
    """Returns the schemas' monetary value object, or None when the amount is not
    representable (every such field in the schemas is nullable)."""
    if not is_representable(cents):
        return None
    return {"amount": cents / 100, "currency": CURRENCY}
