"""One set of rules for subscriptions, used by the API, the dashboard and the services."""

from django.conf import settings
from django.core.exceptions import ValidationError

from deliveries.engine.targets import TargetPolicy, TargetRefused, check_url
from events.catalog import UnknownEventKey, canonical_event_key
from events.selectors import event_key_for_account
from webhooks.models import URL_MAX_LENGTH, Webhook
from webhooks.selectors import webhooks_subscribed

# Bounds on per-subscription settings. Timeouts: one second at least so real endpoints can
# answer, a minute at most because a claim's lease must outlast the request.
CONNECT_TIMEOUT_MS_RANGE = (100, 30_000)
REQUEST_TIMEOUT_MS_RANGE = (1_000, 60_000)
RATE_PER_SECOND_RANGE = (0.01, 100_000.0)
BURST_RANGE = (1, 100_000)
MAX_IN_FLIGHT_RANGE = (1, 10_000)
# A chosen signing secret (SPEC 4): 24 characters at least so it is no guessable word (the
# generated ones have 43), 128 at most, printable ASCII without spaces so it survives being
# pasted into a receiver's configuration, an environment variable or a command line unchanged.
SIGNING_SECRET_LENGTH_RANGE = (24, 128)


def target_policy() -> TargetPolicy:
    return TargetPolicy(
        allow_http_local=settings.WEBHOOK_ALLOW_HTTP_LOCAL,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    )


def validate_target_url(url: str) -> None:
    try:
        check_url(url, target_policy(), max_length=URL_MAX_LENGTH)
    except TargetRefused as error:
        raise ValidationError(str(error), code="invalid_target") from error


def clean_event_keys(raw_keys: object, *, account_id: object = None) -> list[str]:
    """Canonical, de-duplicated event keys in the given order; ValidationError otherwise.

    Built-in keys (aliases accepted) and, with `account_id`, that account's own event types.
    """
    if not isinstance(raw_keys, list) or not raw_keys:
        raise ValidationError("Give a non-empty list of event keys.", code="required")
    keys: list[str] = []
    for raw in raw_keys:
        if not isinstance(raw, str):
            raise ValidationError("Event keys are strings.", code="invalid")
        try:
            key = (
                canonical_event_key(raw)
                if account_id is None
                else event_key_for_account(account_id=account_id, raw=raw)
            )
        except UnknownEventKey as error:
            raise ValidationError(str(error), code="unknown_event") from error
        if key not in keys:
            keys.append(key)
    return keys


class EventKeyInUse(Exception):
    """An event type that subscriptions still list cannot be deleted."""

    def __init__(self, key: str, webhooks: list[Webhook]) -> None:
        self.key = key
        self.webhooks = webhooks
        names = ", ".join(f"{webhook.id} ({webhook.url})" for webhook in webhooks)
        super().__init__(
            f"{key} is in use by {len(webhooks)} subscription(s): {names}. Remove it from "
            "their events first."
        )


def check_event_key_unused(*, account_id: object, key: str) -> None:
    """Raise EventKeyInUse naming the account's subscriptions (active or not) that list `key`:
    an event type they list cannot go away under them."""
    users = webhooks_subscribed(account_id=account_id, key=key)
    if users:
        named = Webhook.objects.filter(id__in=[webhook.id for webhook in users])
        raise EventKeyInUse(key, list(named.order_by("created_at").only("id", "url")))


def validate_in_range(value: float | None, bounds: tuple[float, float], field: str) -> None:
    if value is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise ValidationError({field: f"Must be between {low:g} and {high:g}."})


def validate_signing_secret(secret: object) -> None:
    """Raise ValidationError unless `secret` is 24 to 128 printable ASCII characters, no spaces."""
    low, high = SIGNING_SECRET_LENGTH_RANGE
    if not isinstance(secret, str) or not low <= len(secret) <= high:
        raise ValidationError(
            f"A signing secret has {low} to {high} characters.", code="secret_length"
        )
    if any(not "!" <= character <= "~" for character in secret):
        raise ValidationError(
            "A signing secret has only printable ASCII characters, no spaces.",
            code="secret_characters",
        )
