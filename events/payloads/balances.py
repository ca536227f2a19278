"""End-of-day balances: the `balances.create.v0` payload (balances.legacy.create.event schema).

A balance closes a register's shift. Its figures are the sums of the sales the shift booked
(generated transactions at that register, topped up with sales the event stream did not show
when the shift was too short to look like a day), and the cash count follows the POS formula:

    cash_total_calculated = cash_begin + cash_revenue + expenses_cash_total + tips_cash
    cash_discrepancy      = cash_total_counted - cash_total_calculated

Expenses are negative (money leaving the drawer): a small cash purchase now and then, and the
takings above the float that go to the bank. The next shift begins with the counted cash.
Amounts are cents except `vats[].amount` and the `{amount, currency}` objects, which are EUR.

Left out on purpose: `payments` and `cash_units` (and `extended.cashier_stats[].payments`).
The published schema requires a `currency` key in them that its own `additionalProperties:
false` forbids, so no value of them can validate.
"""

from typing import Any

from events.payloads.checkout import book_sale, ring_up
from events.payloads.clock import compact_stamp, iso
from events.payloads.fiscal import signed_status
from events.payloads.money import CURRENCY, euros, is_representable, money
from events.payloads.products import ensure_assortment
from events.payloads.receipts import closing_report
from events.payloads.records import Register, Shift
from events.payloads.world import World

# A shift with fewer sales than a random target in this range gets topped up with sales the
# event stream did not show, so every balance looks like a day's business.
MIN_SALES_PER_SHIFT = 5
MAX_SALES_PER_SHIFT = 14

# When the sums of a shift are not all representable (money.is_representable), one more
# single-item sale is added and the figures computed again, at most this many times; any
# amount still not representable is sent as null (every such field is nullable).
MAX_TOP_UPS = 40

# Takings above the float go to the bank in multiples of this many cents (50 EUR notes).
BANK_DEPOSIT_STEP = 5_000
BANK_DEPOSIT_ACCOUNT = "1360"

# Small cash purchases from the drawer: (SKR03 account, name, cents).
_CASH_EXPENSES = tuple(
    (account, name, cents)
    for account, name, cents in (
        ("4910", "Porto", 370),
        ("4910", "Porto", 1_095),
        ("4930", "Bürobedarf", 1_249),
        ("4930", "Bürobedarf", 689),
        ("4250", "Reinigungsmittel", 1_385),
        ("4985", "Kleinmaterial", 2_490),
    )
    if is_representable(cents)
)

_DISCREPANCIES = (-200, -100, -50, -20, -10, 10, 20, 50, 100)


class _Figures:
    """The closing figures of a shift, in cents."""

    def __init__(self, shift: Shift, small_expense: int, discrepancy: int, float_cents: int):
        self.total_revenue = sum(shift.gross_by_vat.values())
        self.net_revenue = sum(shift.net_by_vat.values())
        self.cash_begin = shift.cash_begin_cents
        self.cash_revenue = shift.cash_cents
        self.card_revenue = shift.card_cents
        self.small_expense = small_expense
        before_deposit = self.cash_begin + self.cash_revenue + small_expense
        surplus = before_deposit - float_cents
        self.bank_deposit = (
            -(surplus // BANK_DEPOSIT_STEP * BANK_DEPOSIT_STEP) if surplus > 0 else 0
        )
        self.expenses = small_expense + self.bank_deposit
        self.calculated = self.cash_begin + self.cash_revenue + self.expenses
        self.counted = self.calculated + discrepancy
        self.discrepancy = discrepancy
        self.sales_count = shift.sales_count
        self.average = _nearest_representable(self.total_revenue // max(1, shift.sales_count))
        self._checked = (
            *shift.gross_by_vat.values(),
            *shift.net_by_vat.values(),
            self.total_revenue,
            self.net_revenue,
            shift.discount_cents,
            shift.change_cents,
            self.cash_revenue + shift.change_cents,
            self.card_revenue,
            self.expenses,
            self.counted,
        )

    def all_representable(self) -> bool:
        return all(is_representable(cents) for cents in self._checked)


def _nearest_representable(cents: int) -> int:
    """An average is rounded anyway; move it by a cent or two to a representable amount."""
    for delta in (0, 1, -1, 2, -2, 3, -3):
        if is_representable(cents + delta):
            return cents + delta
    return cents


def _closing_register(world: World) -> Register:
    """The register whose open shift booked the most sales (a random one when none is open)."""
    busiest = max(world.registers, key=lambda r: r.shift.sales_count if r.shift else -1)
    return busiest if busiest.shift is not None else world.rng.choice(world.registers)


def _unseen_sale(
    world: World, register: Register, shift: Shift, moment_ms: int, basket_size: int | None
) -> None:
    """Books a sale the event stream did not show (a receiver may miss sales, too)."""
    rng = world.rng
    customer = world.customers.choice(rng) if len(world.customers) and rng.random() < 0.3 else None
    cart = ring_up(world, customer, basket_size=basket_size)
    register.transaction_number += 1
    register.tse_transaction_number += 1
    register.tse_signature_counter += 2
    book_sale(
        shift,
        cart,
        moment_ms=moment_ms,
        transaction_number=register.transaction_number,
        client_id=world.uuid(),
    )


def balances_create(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Closes the busiest register's shift and returns its balance."""
    ensure_assortment(world)
    now = world.clock.tick()
    rng = world.rng
    register = _closing_register(world)
    shift = world.open_shift(register, now)

    def top_up(basket_size: int | None = None) -> None:
        start = shift.last_sale_ms if shift.last_sale_ms is not None else shift.opened_ms
        _unseen_sale(world, register, shift, rng.randint(min(start, now), now), basket_size)

    target = rng.randint(MIN_SALES_PER_SHIFT, MAX_SALES_PER_SHIFT)
    while shift.sales_count < target:
        top_up()
    cash_expense = rng.choice(_CASH_EXPENSES) if rng.random() < 0.25 else None
    small_expense = -cash_expense[2] if cash_expense else 0
    discrepancy = 0 if rng.random() < 0.8 else rng.choice(_DISCREPANCIES)
    figures = _Figures(shift, small_expense, discrepancy, register.cash_float_cents)
    for _ in range(MAX_TOP_UPS):
        if figures.all_representable():
            break
        top_up(basket_size=1)
        figures = _Figures(shift, small_expense, discrepancy, register.cash_float_cents)

    expenses = []
    if cash_expense:
        account, name, _cents = cash_expense
        expenses.append(
            {"client_id": None, "fa_account": account, "name": name, "amount": small_expense}
        )
    if figures.bank_deposit:
        expenses.append(
            {
                "client_id": None,
                "fa_account": BANK_DEPOSIT_ACCOUNT,
                "name": "Geldtransit zur Bank",
                "amount": figures.bank_deposit,
            }
        )
    payload = _balance_payload(world, register, shift, figures, expenses, entity_instance_id, now)
    world.close_shift(register, now, figures.counted)
    return payload


def _balance_payload(
    world: World,
    register: Register,
    shift: Shift,
    figures: _Figures,
    expenses: list[dict[str, Any]],
    entity_instance_id: str | None,
    now: int,
) -> dict[str, Any]:
    branch = register.branch
    cashier = shift.cashier
    stamp = iso(now)
    rates = sorted(shift.gross_by_vat, reverse=True)
    taxes = {tax.percent: tax for tax in world.taxes.values()}
    status = signed_status(
        world,
        register,
        source_type="balance",
        started_ms=now - world.rng.randint(1_000, 5_000),
        finished_ms=now,
        process_type="SonstigerVorgang",
        process_data="Kassenabschluss",
        receipt_type=None,
    )
    report_rows = [
        ("Anfangsbestand", figures.cash_begin),
        ("Umsatz brutto", figures.total_revenue),
        *((f"  davon {rate} % USt", shift.gross_by_vat[rate]) for rate in rates),
        ("Bar", figures.cash_revenue),
        ("Karte", figures.card_revenue),
        ("Rabatte", -shift.discount_cents),
        ("Ausgaben", figures.small_expense),
        ("Geldtransit", figures.bank_deposit),
        ("Soll-Bestand", figures.calculated),
        ("Ist-Bestand", figures.counted),
        ("Differenz", figures.discrepancy),
    ]
    sales = shift.sales_count
    zero = money(0)
    return {
        "id": entity_instance_id or world.uuid(),
        "update_id": 1,
        "created_at": stamp,
        "updated_at": stamp,
        "status": status,
        "dev_uuid": register.dev_uuid,
        "balance_number": shift.balance_number,
        "branch": branch.id,
        "register": register.id,
        "branch_number": branch.number,
        "register_number": register.number,
        "client": register.client_id,
        "guid": f"0011{register.number:04d}{branch.number:04d}{compact_stamp(now)}",
        "client_id": shift.balance_client_id,
        "date": stamp,
        "date_begin": iso(shift.opened_ms),
        "cashier_staff": cashier.id,
        "cashier_staff_number": cashier.number,
        "temp_staff": None,
        "cash_begin": figures.cash_begin,
        "cash_revenue": figures.cash_revenue,
        "total_revenue": figures.total_revenue,
        "expenses_cash_total": figures.expenses,
        "expenses_tips_total": 0,
        "cash_total_calculated": figures.calculated,
        "cash_total_counted": figures.counted,
        "cash_discrepancy": figures.discrepancy,
        "tips_total": 0,
        "tips_cash": 0,
        "tips_begin": 0,
        "tips_balance": 0,
        "sales_count": sales,
        "currency_iso_code": CURRENCY,
        "receipt_text": closing_report(
            branch=branch,
            register=register,
            cashier=cashier,
            balance_number=shift.balance_number,
            opened_ms=shift.opened_ms,
            closed_ms=now,
            rows=report_rows,
            counted_cents=figures.counted,
        ),
        # Net revenue per revenue account; with the VAT below it adds up to total_revenue.
        "revenues": [
            {
                "client_id": None,
                "fa_account": taxes[rate].revenue_fa_account,
                "amount": shift.net_by_vat[rate],
            }
            for rate in rates
        ],
        "vats": [
            {
                "client_id": None,
                "fa_account": taxes[rate].tax_fa_account,
                "percentage": rate * 100,
                "amount": euros(shift.gross_by_vat[rate] - shift.net_by_vat[rate]),
                "amount_gross": money(shift.gross_by_vat[rate]),
                "amount_net": money(shift.net_by_vat[rate]),
            }
            for rate in rates
        ],
        "expenses": expenses,
        "tips": [],
        "extended": {
            "cancellation_amount": zero,
            "cancellation_count": 0,
            "discount_stats": [
                {
                    "source_id": world.discount_ids[permille / 1000],
                    "name": name,
                    "count": count,
                    **({"amount": money(cents)} if is_representable(cents) else {}),
                }
                for name, (permille, count, cents) in shift.discount_stats.items()
            ],
            "first_transaction_date": iso(shift.first_sale_ms or now),
            "last_transaction_date": iso(shift.last_sale_ms or now),
            "first_transaction_number": shift.first_sale_number,
            "last_transaction_number": shift.last_sale_number,
            "first_sale_transaction_number": shift.first_sale_number,
            "last_sale_transaction_number": shift.last_sale_number,
            "first_expense_transaction_number": None,
            "last_expense_transaction_number": None,
            "revenue_gross": money(figures.total_revenue),
            "revenue_net": money(figures.net_revenue),
            "average_amount_gross_per_cart": money(figures.average),
            "cart_items_count": shift.items_count,
            "total_quantity": shift.quantity_milli / 1000,
            "average_quantity_per_cart": round(shift.quantity_milli / 1000 / sales, 3),
            "average_cart_items_count_per_cart": round(shift.items_count / sales, 2),
            "discount_amount": money(shift.discount_cents),
            "voucher_amount": zero,
            "excluded_vouchers": None,
            "cashier_name": cashier.display,
            "expense_amount_excluding_bank": money(figures.small_expense),
            "deposit_amount_excluding_bank": zero,
            "refund_count": 0,
            "refund_net": zero,
            "refund_gross": zero,
            "cashier_stats": [
                {
                    "staff": cashier.id,
                    "staff_name": cashier.display,
                    "staff_number": cashier.number,
                    "sales": money(figures.total_revenue),
                    "change": money(shift.change_cents),
                    # Cash handed over by customers; minus the change it is cash_revenue.
                    "cash_payments": money(figures.cash_revenue + shift.change_cents),
                    "expenses": money(figures.expenses),
                    "cash_balance": money(figures.counted),
                    "non_cash_payments": money(figures.card_revenue),
                    "tips_total": zero,
                    "tips_cash": zero,
                    "tips_balance": zero,
                }
            ],
        },
        "_metadata": {
            "cancellation_amount": zero,
            "total_count_transactions": sales + len(expenses),
            "total_count_expenses": len(expenses),
            "first_transaction_timestamp": iso(shift.first_sale_ms or now),
            "last_transaction_timestamp": iso(shift.last_sale_ms or now),
            "first_transaction_client_uuid": shift.first_sale_client_id,
            "last_transaction_client_uuid": shift.last_sale_client_id,
            "first_transaction_number": shift.first_sale_number,
            "last_transaction_number": shift.last_sale_number,
            "device": {**register.device, "user": dict(register.device["user"])},
        },
        "wallet_data": None,
    }
