"""Filters that format delivery data for the dashboard's templates."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from dashboard.indicators import Indicator, deactivation_reason, delivery_indicator
from dashboard.inspection import pretty_body
from deliveries.services.circuit import Health, webhook_health
from webhooks.models import Webhook

register = template.Library()


@register.filter
def indicator(state: str) -> Indicator:
    """A delivery state's label and colour (SPEC 3): Success, Pending retry, Failed, Sent,
    Queued, Paused."""
    return delivery_indicator(state)


@register.filter
def reason(text: str) -> str:
    """A deactivation reason without its "Deactivated automatically:" prefix."""
    return deactivation_reason(text)


@register.filter
def percent(rate: float | None) -> str:
    """0.9876 → "98.8 %"; no data → an em dash."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f} %"


@register.filter
def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


@register.filter
def pretty(body: str | bytes) -> str:
    """JSON pretty-printed; other text unchanged."""
    return pretty_body(body)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "3 minutes ago", "just now" within the minute, "never" for no time."""
    if moment is None:
        return "never"
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def health(webhook: Webhook) -> Health:
    """The subscription's endpoint health (circuit breaker): state, since, next probe."""
    return webhook_health(webhook)
