"""What a delivery sent and got back, shaped for reading in the browser."""

import json

from deliveries.models import Delivery
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
