"""The fake world one generator run lives in: a retailer's branches, registers, staff, taxes and
payment options, plus the products and customers created so far, stock levels, and the open
register shifts that end-of-day balances sum up.

Every event factory reads and changes this state, which is what keeps ids and amounts
consistent across events: a sale refers to products and customers created earlier, its stock
movement follows, and the register's next balance adds it up.
"""

import base64
import random
from collections import deque
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

from events.payloads.assortment import PRODUCT_GROUPS, PRODUCT_TEMPLATES, ProductTemplate
from events.payloads.clock import Clock, opening_time_before
from events.payloads.people import (
    FEMALE_FIRST_NAMES,
    GERMAN_CITIES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    STREETS,
    City,
)
from events.payloads.records import (
    Branch,
    CustomerRecord,
    PaymentOption,
    ProductRecord,
    Register,
    Shift,
    Staff,
    StockMovement,
    TaxRate,
)

RETAILER_NAME = "Kiezladen Handels GmbH"
# Reserved top-level domain (RFC 2606): the fake shop's URLs and e-mails can never be real.
RETAILER_DOMAIN = "kiezladen.example"

# At most this many products and customers are remembered (oldest forgotten first), so a long
# load test that mostly creates entities runs in constant memory: about 1 KB per record.
WORLD_CAPACITY = 5_000

# Stock changes waiting for their stock book entry; past this many the oldest are dropped (their
# entry never comes), so a run of sales without stock events stays in constant memory.
PENDING_STOCK_MOVEMENTS = 512

# Customer discounts on offer, as fractions (3 %, 5 %, 10 %).
CUSTOMER_DISCOUNT_RATES = (0.03, 0.05, 0.1)

# uuid4 layout: version nibble 4, RFC 4122 variant bits 10.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


class _HasId(Protocol):
    id: str


RecordT = TypeVar("RecordT", bound=_HasId)


class Registry(Generic[RecordT]):
    """Records by id with O(1) add, remove and random choice, in a deterministic order."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: list[RecordT] = []
        self._positions: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._positions

    def __iter__(self) -> Iterator[RecordT]:
        return iter(list(self._items))

    def get(self, record_id: str) -> RecordT | None:
        position = self._positions.get(record_id)
        return None if position is None else self._items[position]

    def add(self, record: RecordT) -> RecordT | None:
        """Adds or replaces `record`. Past capacity the oldest record is forgotten and
        returned (so its owner can drop what hangs off it); else returns None."""
        if record.id in self._positions:
            self._items[self._positions[record.id]] = record
            return None
        self._positions[record.id] = len(self._items)
        self._items.append(record)
        if len(self._items) > self._capacity:
            return self.remove(self._items[0].id)
        return None

    def remove(self, record_id: str) -> RecordT | None:
        """Removes and returns the record, or None when it is unknown."""
        position = self._positions.pop(record_id, None)
        if position is None:
            return None
        record = self._items[position]
        last = self._items.pop()
        if last is not record:
            self._items[position] = last
            self._positions[last.id] = position
        return record

    def choice(self, rng: random.Random) -> RecordT:
        return self._items[rng.randrange(len(self._items))]

    def sample(self, rng: random.Random, count: int) -> list[RecordT]:
        return rng.sample(self._items, min(count, len(self._items)))


class World:
    """The state of one generator run. Not thread-safe: one generator per thread."""

    def __init__(self, seed: int | None) -> None:
        self.seeded = seed is not None
        # A private Random, never the global one: the same seed gives the same world.
        self.rng = random.Random(seed)
        self.clock = Clock(self.rng, simulated=self.seeded)

        self.client_account_id = self.uuid()
        self.taxes = {
            "normal": TaxRate("normal", 19, 0.19, self.uuid(), "1776", self.uuid(), "8400"),
            "reduced": TaxRate("reduced", 7, 0.07, self.uuid(), "1771", self.uuid(), "8300"),
        }
        self.cash = PaymentOption(self.uuid(), self.uuid(), "Bar", "cash", "1000")
        self.cards = (
            PaymentOption(self.uuid(), self.uuid(), "girocard", "card", "1360", "girocard"),
            PaymentOption(self.uuid(), self.uuid(), "Visa", "card", "1360", "VISA"),
            PaymentOption(self.uuid(), self.uuid(), "Mastercard", "card", "1360", "Mastercard"),
        )
        self.product_group_ids = {number: self.uuid() for number in PRODUCT_GROUPS}
        self.category_ids = {number: self.uuid() for number in PRODUCT_GROUPS}
        self.discount_ids = {rate: self.uuid() for rate in CUSTOMER_DISCOUNT_RATES}
        self.tag_ids = {name: self.uuid() for name in ("Bio", "Regional", "Vegan", "Neu")}
        self.staff = [self._new_staff(number) for number in range(11, 19)]
        self.branches = [
            self._new_branch(number, city)
            for number, city in enumerate(self.rng.sample(GERMAN_CITIES, 3), start=1)
        ]
        self.registers = [register for branch in self.branches for register in branch.registers]

        self._template_deck: list[ProductTemplate] = []
        # Priced basket lines by (product id, price, quantity, discount); see checkout.py.
        self.line_cache: dict[tuple[str, int, int, int], tuple[ProductRecord, Any]] = {}
        self.products: Registry[ProductRecord] = Registry(WORLD_CAPACITY)
        self.customers: Registry[CustomerRecord] = Registry(WORLD_CAPACITY)
        self.product_insert_id = 0
        self.customer_insert_id = 0
        # Stock per (product id, branch id) in units, and the id of that stock record.
        self.stock_levels: dict[tuple[str, str], int] = {}
        self.stock_ids: dict[tuple[str, str], str] = {}
        self.pending_stock_movements: deque[StockMovement] = deque(maxlen=PENDING_STOCK_MOVEMENTS)

    def next_template(self) -> ProductTemplate:
        """Deals product templates from a shuffled deck, so the assortment repeats a product
        only after every template has been used."""
        if not self._template_deck:
            self._template_deck = list(PRODUCT_TEMPLATES)
            self.rng.shuffle(self._template_deck)
        return self._template_deck.pop()

    def uuid(self) -> str:
        """Returns a random version-4 UUID as text, drawn from the world's RNG."""
        value = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def hex_token(self, length: int) -> str:
        return f"{self.rng.getrandbits(4 * length):0{length}x}"

    def open_shift(self, register: Register, now_ms: int) -> Shift:
        """Returns the register's open shift. A new one opens when the register was last
        closed, or at the shop's opening time when it never was."""
        if register.shift is None:
            opened = opening_time_before(now_ms)
            if register.closed_ms is not None:
                opened = max(opened, register.closed_ms)
            register.balance_number += 1
            register.shift = Shift(
                balance_client_id=self.uuid(),
                balance_number=register.balance_number,
                opened_ms=min(opened, now_ms),
                cash_begin_cents=register.cash_float_cents,
                cashier=self.rng.choice(self.staff),
            )
        return register.shift

    def close_shift(self, register: Register, now_ms: int, counted_cents: int) -> None:
        """Closes the register's shift; the next one starts with the counted cash."""
        register.shift = None
        register.closed_ms = now_ms
        register.cash_float_cents = counted_cents

    def _new_staff(self, number: int) -> Staff:
        rng = self.rng
        names = FEMALE_FIRST_NAMES if rng.random() < 0.6 else MALE_FIRST_NAMES
        return Staff(self.uuid(), f"{number:04d}", rng.choice(names), rng.choice(LAST_NAMES))

    def _new_branch(self, number: int, city: City) -> Branch:
        rng = self.rng
        branch = Branch(
            id=self.uuid(),
            number=number,
            custom_id=f"F{number:02d}",
            name=f"Kiezladen {city.name}-{city.district}",
            city=city,
            street=rng.choice(STREETS),
            street_number=str(rng.randint(1, 120)),
            postal_code=rng.choice(city.postal_codes),
            lat=round(city.lat + rng.uniform(-0.03, 0.03), 6),
            lng=round(city.lng + rng.uniform(-0.03, 0.03), 6),
        )
        for register_number in range(1, rng.randint(2, 3) + 1):
            branch.registers.append(self._new_register(branch, register_number))
        return branch

    def _new_register(self, branch: Branch, number: int) -> Register:
        rng = self.rng
        model, os_info = rng.choice(
            (
                ("iPad (10th generation)", "iPadOS 17.6.1"),
                ("iPad Air (5th generation)", "iPadOS 18.2"),
                ("Sunmi D3 Pro", "Android 13"),
            )
        )
        return Register(
            id=self.uuid(),
            number=number,
            name=f"Kasse {number}",
            branch=branch,
            client_id=self.uuid(),
            dev_uuid=self.hex_token(32),
            device={
                "identifier_for_vendor": self.uuid().upper(),
                "app_info": f"Tillhub POS 4.{rng.randint(10, 30)}.{rng.randint(0, 9)}",
                "os_info": os_info,
                "model_info": model,
                "user": {
                    "email": f"{branch.custom_id.lower()}-kasse{number}@{RETAILER_DOMAIN}",
                    "organisation": RETAILER_NAME,
                },
            },
            tse_client_id=f"TillhubPOS.{branch.number:04d}.{number:04d}",
            tse_serial=self.hex_token(64),
            tse_public_key=base64.b64encode(rng.randbytes(65)).decode("ascii"),
            terminal_id=f"52{rng.randrange(10**6):06d}",
        )
