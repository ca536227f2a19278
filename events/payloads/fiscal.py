"""The fiscal signature (German TSE, KassenSichV) Tillhub attaches as a transaction's or
balance's `status`: a fiskaly-style signature over DSFinV-K process data, with the QR code
content printed on the receipt.
"""

import base64
from typing import Any

from events.payloads.clock import date_and_time, iso
from events.payloads.money import decimal_text
from events.payloads.records import Register
from events.payloads.world import World

# DSFinV-K orders the gross amounts per VAT rate as: 19 %, 7 %, 10.7 %, 5.5 %, 0 %.
_VAT_ORDER = (19, 7)


def sale_process_data(gross_by_vat: dict[int, int], payments: list[tuple[int, bool]]) -> str:
    """Returns `Beleg^12.50_3.20_0.00_0.00_0.00^10.00:Bar_5.70:Unbar`.

    `payments` holds (cents, is_cash) pairs.
    """
    amounts = "_".join(decimal_text(gross_by_vat.get(rate, 0)) for rate in _VAT_ORDER)
    paid = "_".join(
        f"{decimal_text(cents)}:{'Bar' if is_cash else 'Unbar'}" for cents, is_cash in payments
    )
    return f"Beleg^{amounts}_0.00_0.00_0.00^{paid}"


def signed_status(
    world: World,
    register: Register,
    *,
    source_type: str,
    started_ms: int,
    finished_ms: int,
    process_type: str,
    process_data: str,
    receipt_type: str | None,
) -> dict[str, Any]:
    """Returns a completed `status` signed by the register's TSE, advancing its counters."""
    register.tse_transaction_number += 1
    # A TSE signs the start and the end of each transaction: two signatures per receipt.
    register.tse_signature_counter += 2
    signature = base64.b64encode(world.rng.randbytes(64)).decode("ascii")
    started = iso(started_ms)
    finished = iso(finished_ms)
    qr_code_data = ";".join(
        (
            "V0",
            register.tse_client_id,
            process_type,
            process_data,
            str(register.tse_transaction_number),
            str(register.tse_signature_counter),
            started,
            finished,
            "ecdsa-plain-SHA256",
            "unixTime",
            signature,
            register.tse_public_key,
        )
    )
    return {
        "id": world.uuid(),
        "created_at": date_and_time(finished_ms),
        "updated_at": date_and_time(finished_ms),
        "signed_at": finished,
        "signature": {
            "started_at": started,
            "data": signature,
            "caption": None,
            "qr_code_data": qr_code_data,
            "format": "qr",
            "client_id": register.tse_client_id,
            "counter": register.tse_signature_counter,
            "unit": register.tse_serial,
            "public_key": register.tse_public_key,
            "algorithm": "ecdsa-plain-SHA256",
            "process_type": process_type,
            "receipt_type": receipt_type,
            "process_data": process_data,
            "transactionNumber": register.tse_transaction_number,
            "transaction_id": world.uuid(),
            "error": None,
            "error_counter": 0,
        },
        "metadata": None,
        "dispatched_at": None,
        "printed_at": finished,
        "status": "complete",
        "signature_type": "tse_fiskaly",
        "source_type": source_type,
        "canceled_at": None,
        "refunded_at": None,
    }
