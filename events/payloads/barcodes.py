"""GS1 numbers: EAN-13 barcodes and GLNs (global location numbers) with valid check digits."""

import random

# GS1 Germany hands out company prefixes 400-440; Austria 900-919.
GERMAN_PREFIXES = tuple(str(prefix) for prefix in range(400, 441))


def gs1_check_digit(digits: str) -> int:
    """Returns the GS1 mod-10 check digit for `digits` (12 digits for an EAN-13 or a GLN).

    Weights alternate 3, 1, ... starting from the rightmost digit.
    """
    total = 0
    for position, digit in enumerate(reversed(digits)):
        total += int(digit) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_ean13(code: str) -> bool:
    """True for 13 digits whose last digit is the GS1 check digit of the first twelve."""
    return len(code) == 13 and code.isdigit() and gs1_check_digit(code[:12]) == int(code[12])


def random_ean13(rng: random.Random, company_prefix: str | None = None) -> str:
    """Returns an EAN-13 under `company_prefix` (a German GS1 prefix when None)."""
    head = company_prefix if company_prefix is not None else rng.choice(GERMAN_PREFIXES)
    width = 12 - len(head)
    body = f"{head}{rng.randrange(10**width):0{width}d}"
    return body + str(gs1_check_digit(body))


def random_gln(rng: random.Random) -> str:
    """Returns a 13-digit GLN (the `iln` of a manufacturer) with its check digit."""
    return random_ean13(rng)
