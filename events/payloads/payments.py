"""The payments of a sale as the legacy transaction schema lists them: cash with the change
given back, or a card paid at a ZVT terminal.

Amounts twice, like the rest of the legacy transaction: integer cents (`amount`, `change`,
`amount_final`) and EUR numbers (`_amount_given`, `_amount_requested`, `_amount_change`).
"""

from typing import Any

from events.payloads.checkout import Payment
from events.payloads.money import CURRENCY, euros
from events.payloads.records import Branch, Register
from events.payloads.world import World


def payment_payload(
    world: World,
    payment: Payment,
    position: int,
    branch: Branch,
    register: Register,
    stamp: str,
    now: int,
) -> dict[str, Any]:
    """Returns one entry of a transaction's `payments`; card payments carry the terminal's
    answer in `_context.terminal`."""
    option = payment.option
    context: dict[str, Any] = {
        "title": option.name,
        "account": {"custom_id": option.fa_account},
    }
    if option.type_name == "card":
        context["terminal"] = _terminal(world, payment, register)
    return {
        "id": world.uuid(),
        "update_id": 1,
        "created_at": {"iso": stamp, "unix": now},
        "updated_at": {"iso": stamp, "unix": now},
        "change": payment.change,
        "amount_final": payment.given - payment.change,
        "fa_account_number": option.fa_account,
        "amount": payment.given,
        "currency_iso_code": CURRENCY,
        "account": option.account_id,
        "payment_option_name": option.name,
        "payment_option_type_name": option.type_name,
        "payment_option_id": option.id,
        "date": stamp,
        "tip": 0,
        "terminal_journal": None,
        "terminal_response": None,
        "context": None,
        "client_id": world.uuid(),
        "_type": option.type_name,
        "_context": context,
        "payment_option": option.id,
        "_position": position,
        "_currency": CURRENCY,
        "_amount_total": euros(payment.requested),
        "_tip_total": 0.0,
        "_amount_given": euros(payment.given),
        "_amount_requested": euros(payment.requested),
        "_amount_change": euros(payment.change),
        "branch": branch.id,
        "register": register.id,
        "cost_center": None,
        "_account": option.account_id,
        "_comments": None,
        "_note": None,
        "_origins": None,
        "_depends_on": None,
        "_related_to": None,
        "_external_reference_id": None,
    }


def _terminal(world: World, payment: Payment, register: Register) -> dict[str, Any]:
    """The card terminal's answer (a ZVT terminal, as common in German shops)."""
    rng = world.rng
    trace = f"{register.transaction_number % 1_000_000:06d}"
    pan_tail = f"{rng.randrange(10_000):04d}"
    amount = f"{payment.requested // 100},{payment.requested % 100:02d}"
    receipt = (
        f"Kartenzahlung\n{payment.option.card_circuit}\nBetrag EUR {amount}\n"
        f"Terminal-ID {register.terminal_id}\nTrace-Nr. {trace}\nZahlung erfolgt"
    )
    return {
        "device_id": register.terminal_id,
        "transaction_id": trace,
        "api": "ZVT",
        "payment_provider": "Concardis",
        "card_circuit": payment.option.card_circuit,
        "card_pan": f"############{pan_tail}",
        "receipts": [
            {"type": "customer", "text": receipt},
            {"type": "merchant", "text": receipt + "\nHändlerbeleg"},
        ],
        "raw_response": (
            f'{{"result":"00","text":"Zahlung erfolgt","amount":{payment.requested},'
            f'"trace":"{trace}","terminal_id":"{register.terminal_id}",'
            f'"card":"{payment.option.card_circuit}","pan":"############{pan_tail}"}}'
        ),
        "is_connected": True,
    }
