"""A delivery's status indicator (SPEC section 3): the word and the colour the pages show."""

from dataclasses import dataclass

from deliveries.models import Delivery


@dataclass(frozen=True)
class Indicator:
    label: str
    colour: str  # success (green), failure (red), sent (blue), idle (grey)


# The seed's three indicators plus two for what was never sent: green Success, red Pending
# retry (shown with the next attempt's time) and Failed, blue Sent (payload sent, no answer
# yet), grey Queued and Paused (shown with the subscription's reason).
INDICATORS: dict[str, Indicator] = {
    Delivery.State.SUCCEEDED: Indicator("Success", "success"),
    Delivery.State.FAILED: Indicator("Pending retry", "failure"),
    Delivery.State.GAVE_UP: Indicator("Failed", "failure"),
    Delivery.State.EXPIRED: Indicator("Failed", "failure"),
    Delivery.State.SENDING: Indicator("Sent", "sent"),
    Delivery.State.PENDING: Indicator("Queued", "idle"),
    Delivery.State.PAUSED: Indicator("Paused", "idle"),
}


def delivery_indicator(state: str) -> Indicator:
    return INDICATORS.get(state, INDICATORS[Delivery.State.PENDING])


# What deliveries.services.health puts before an automatic deactivation's reason; the page
# says "Deactivated automatically" itself, once.
AUTOMATIC_PREFIX = "Deactivated automatically: "


def deactivation_reason(reason: str) -> str:
    """The reason without the "Deactivated automatically:" the page already shows."""
    return reason.removeprefix(AUTOMATIC_PREFIX)
