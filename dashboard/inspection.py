"""What a delivery sent and got back, shaped for reading in the browser."""

import json

from deliveries.models import Attempt, Delivery
from events.envelope import render_event

# The dashboard's three colours (SPEC section 3): green = success response, red = error
# response or failure, blue = payload sent / waiting for an answer or an attempt.
STATE_COLOURS: dict[str, str] = {
    Delivery.State.SUCCEEDED: "success",
    Delivery.State.FAILED: "failure",
    Delivery.State.GAVE_UP: "failure",
    Delivery.State.EXPIRED: "failure",
    Delivery.State.PENDING: "waiting",
    Delivery.State.SENDING: "waiting",
    Delivery.State.PAUSED: "waiting",
}


def state_colour(state: str) -> str:
    return STATE_COLOURS.get(state, "waiting")


def delivery_body(delivery: Delivery) -> bytes:
    """The exact request body of every attempt of `delivery` (the same bytes each time)."""
    return render_event(delivery.event, webhook_id=str(delivery.webhook_id))


def pretty_body(body: bytes | str) -> str:
    """JSON indented for reading; anything else as text, unchanged."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


# Statuses with which receivers refuse a request they could not authenticate.
REFUSED_STATUSES = frozenset({400, 401, 403})


def signature_not_verified(attempt: Attempt | None) -> bool:
    """Whether `attempt` was refused because the receiver could not verify its signature: a
    400, 401 or 403 whose body speaks of the signature (the reference receiver answers 400
    `{"error": "signature", ...}`). The usual cause is a receiver without this webhook's
    signing secret, which no retry fixes."""
    if attempt is None or attempt.response_status not in REFUSED_STATUSES:
        return False
    return "signature" in attempt.response_body.lower()
