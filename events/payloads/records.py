"""The records the fake world is made of: taxes, payment options, staff, branches, registers
with their open shifts, products, customers, and stock movements waiting for their entry."""

from dataclasses import dataclass, field
from typing import Any

from events.payloads.assortment import ProductGroup, ProductTemplate
from events.payloads.people import City

# Cash left in the drawer for change when a register opens, in cents (a 150 EUR float).
CASH_FLOAT_CENTS = 15_000


@dataclass(slots=True)
class TaxRate:
    vat_class: str
    """`normal` or `reduced`, the schemas' `_vat_rate_class`."""
    percent: int
    rate: float
    tax_id: str
    tax_fa_account: str
    """SKR03 account of the VAT owed: 1776 (19 %) or 1771 (7 %)."""
    revenue_account_id: str
    revenue_fa_account: str
    """SKR03 revenue account: 8400 (19 %) or 8300 (7 %)."""

    @property
    def tax_display(self) -> str:
        return f"USt {self.percent} %"

    @property
    def revenue_display(self) -> str:
        return f"Erlöse {self.percent} % USt"


@dataclass(slots=True)
class PaymentOption:
    id: str
    account_id: str
    name: str
    type_name: str
    """`cash` or `card` (the schemas' payment_option_type_name)."""
    fa_account: str
    """SKR03: 1000 cash register, 1360 money in transit (card settlements)."""
    card_circuit: str | None = None


@dataclass(slots=True)
class Staff:
    id: str
    number: str
    firstname: str
    lastname: str

    @property
    def display(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass(slots=True)
class Shift:
    """What a register booked since it was opened; closed by a balance."""

    balance_client_id: str
    balance_number: int
    opened_ms: int
    cash_begin_cents: int
    cashier: Staff
    sales_count: int = 0
    gross_by_vat: dict[int, int] = field(default_factory=dict)
    net_by_vat: dict[int, int] = field(default_factory=dict)
    cash_cents: int = 0
    """Cash taken for sales, change already given back."""
    card_cents: int = 0
    change_cents: int = 0
    discount_cents: int = 0
    items_count: int = 0
    quantity_milli: int = 0
    """Sum of item quantities in thousandths (kg goods make it fractional)."""
    first_sale_ms: int | None = None
    last_sale_ms: int | None = None
    first_sale_number: int | None = None
    last_sale_number: int | None = None
    first_sale_client_id: str | None = None
    last_sale_client_id: str | None = None
    discount_stats: dict[str, list[Any]] = field(default_factory=dict)
    """Discount name -> [source id, times applied, cents]."""


@dataclass(slots=True)
class Register:
    id: str
    number: int
    name: str
    branch: "Branch"
    client_id: str
    dev_uuid: str
    device: dict[str, Any]
    tse_client_id: str
    tse_serial: str
    tse_public_key: str
    terminal_id: str
    transaction_number: int = 0
    tse_signature_counter: int = 0
    tse_transaction_number: int = 0
    balance_number: int = 0
    cash_float_cents: int = CASH_FLOAT_CENTS
    shift: Shift | None = None
    closed_ms: int | None = None
    """When the last balance closed this register."""


@dataclass(slots=True)
class Branch:
    id: str
    number: int
    custom_id: str
    name: str
    city: City
    street: str
    street_number: str
    postal_code: str
    lat: float
    lng: float
    registers: list[Register] = field(default_factory=list)


@dataclass(slots=True)
class ProductRecord:
    id: str
    created_ms: int
    updated_ms: int
    insert_id: int
    number: str
    template: ProductTemplate
    group: ProductGroup
    tax: TaxRate
    name: str
    ean: str
    gross_cents: int
    """Shelf price per unit (per kg for loose goods), VAT included."""
    net_cents: int
    purchase_cents: int
    supplier_sku: str
    manufacturer_gln: str
    image_key: str
    tags: list[str]
    stock_minimum: int
    reorder_qty: int
    online: bool
    active: bool = True


@dataclass(slots=True)
class CustomerRecord:
    id: str
    created_ms: int
    updated_ms: int
    insert_id: int
    number: str
    firstname: str
    lastname: str
    gender: str
    email: str
    phonenumbers: dict[str, str]
    addresses: list[dict[str, Any]]
    birth_date: str | None
    company: str | None
    vat_id: str | None
    discount_rate: float | None
    """Customer discount as a fraction (0.05 = 5 %), applied to every discountable item."""
    newsletter: bool
    branch_id: str
    source: str
    comment: str | None
    external_reference: str
    customer_since_ms: int

    @property
    def display(self) -> str:
        return f"{self.firstname} {self.lastname[0]}."


@dataclass(slots=True)
class StockMovement:
    """A stock change that has happened and whose stock book entry is still due."""

    kind: str
    """`sale` or `transfer` (the receiving side of a transfer between branches)."""
    product_id: str
    branch: Branch
    quantity_change_milli: int
    reason: str
    transaction_id: str | None = None
