"""Numbers typed by people (query strings, form fields, path segments): ASCII digits only.

Python's own parsing is too generous for input: ``str.isdigit()`` is true for ``²`` and ``①``,
which ``int()`` then refuses (an unexpected exception, a 500), and ``int()`` and ``float()``
read Arabic-Indic and other Unicode decimal digits (``٣`` is 3), so a value could mean
something other than what a reviewer of the request sees. Every edge parses numbers here, and
anything but ASCII digits is a ``NumberRefused`` with a message for the field.
"""

from __future__ import annotations

import math
import re

# `[0-9]`, never `\d`: in a str pattern `\d` matches every Unicode decimal digit.
_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
_ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Characters read at most: far more than any bound we check against needs (2**63 has 19
# digits), and short enough that int() never meets Python's 4,300-digit conversion limit.
MAX_NUMBER_LENGTH = 40


class NumberRefused(ValueError):
    """Text that is not a number we accept; the message says what is expected."""


def parse_int(text: str, *, low: int, high: int) -> int:
    """Return ``text`` (surrounding whitespace ignored) as an int within ``low..high``.

    Raises ``NumberRefused`` for anything but optionally signed ASCII digits, or a value out of
    range; the message names the range and never repeats the input.
    """
    expected = f"Must be a whole number from {low} to {high}, in ASCII digits."
    candidate = text.strip()
    if len(candidate) > MAX_NUMBER_LENGTH or not _ASCII_INTEGER.fullmatch(candidate):
        raise NumberRefused(expected)
    value = int(candidate)
    if not low <= value <= high:
        raise NumberRefused(expected)
    return value


def parse_float(text: str, *, low: float, high: float) -> float:
    """Return ``text`` (surrounding whitespace ignored) as a finite float within ``low..high``.

    Accepts ASCII decimal notation with an optional exponent (``1.5``, ``.5``, ``2e3``); raises
    ``NumberRefused`` for anything else (``nan``, ``inf``, Unicode digits) or a value out of
    range.
    """
    expected = f"Must be a number from {low:g} to {high:g}, in ASCII digits."
    candidate = text.strip()
    if len(candidate) > MAX_NUMBER_LENGTH or not _ASCII_DECIMAL.fullmatch(candidate):
        raise NumberRefused(expected)
    value = float(candidate)
    if not math.isfinite(value) or not low <= value <= high:
        raise NumberRefused(expected)
    return value


def is_ascii_digits(text: str) -> bool:
    """Return True when ``text`` is one or more ASCII digits and nothing else."""
    return bool(text) and text.isascii() and text.isdigit()
