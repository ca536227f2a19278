"""One set of rules for subscriptions, used by the API, the dashboard and the services."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError

from deliveries.engine.signing import SignatureScheme, standard_webhooks_key
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


# --- Custom request headers (SPEC 4) ---

# At most this many per subscription (SPEC 4): enough for a gateway key, a tenant and a
# trace header, few enough that no request grows large.
MAX_CUSTOM_HEADERS = 20
# Characters in a value (SPEC 4); a name has no such bound in the SPEC, so it gets the same.
HEADER_VALUE_MAX_LENGTH = 1000
HEADER_NAME_MAX_LENGTH = 1000
# RFC 9110 5.6.2: a field name is a token of these characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Lowercase names Hookline sets itself or that describe the connection or body rather than
# the event, with why each is refused; hop-by-hop names per RFC 9110 7.6.1 and RFC 2616 13.5.1.
_REFUSED_HEADERS = {
    "content-type": "Hookline sends application/json",
    "user-agent": "Hookline sets the user agent (WEBHOOK_USER_AGENT)",
    "authorization": "Hookline sets it from username and password (Basic auth)",
    "tillhub-signature": "Hookline signs every request",
    "host": "it comes from the URL",
    "content-length": "it comes from the body",
    "content-encoding": "the body is sent as it is, not encoded",
    "transfer-encoding": "it is a hop-by-hop header",
    "connection": "it is a hop-by-hop header",
    "keep-alive": "it is a hop-by-hop header",
    "proxy-connection": "it is a hop-by-hop header",
    "proxy-authenticate": "it is a hop-by-hop header",
    "proxy-authorization": "it is a hop-by-hop header",
    "te": "it is a hop-by-hop header",
    "trailer": "it is a hop-by-hop header",
    "upgrade": "it is a hop-by-hop header",
    "expect": "it changes how the request is sent",
}
# The Standard Webhooks headers (webhook-id, -timestamp, -signature) and any later ones.
_REFUSED_HEADER_PREFIX = "webhook-"


def clean_custom_headers(raw: object) -> dict[str, str]:
    """The subscription's extra headers as given (values stripped of surrounding spaces), or
    ValidationError with one message per bad header, naming it.

    An object of at most 20 names (HTTP tokens, unique ignoring case, none Hookline sets or
    a hop-by-hop one) to values of at most 1,000 printable ASCII characters. None is {}.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError('Give an object of header names to values, e.g. {"X-Api-Key": "…"}.')
    if len(raw) > MAX_CUSTOM_HEADERS:
        raise ValidationError(f"At most {MAX_CUSTOM_HEADERS} headers ({len(raw)} given).")
    problems: list[str] = []
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in raw.items():
        problem = _header_problem(name, value, seen)
        if problem:
            problems.append(problem)
            continue
        seen.add(name.lower())
        cleaned[name] = value.strip(" \t")
    if problems:
        raise ValidationError(problems, code="invalid_header")
    return cleaned


def _header_problem(name: object, value: object, seen: set[str]) -> str | None:
    """What is wrong with one header, in words naming it; None when nothing is."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        return (
            f"{str(name)[:80]!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ "
            "only, no spaces or colons)."
        )
    if len(name) > HEADER_NAME_MAX_LENGTH:
        return f"{name[:80]}…: a header name has at most {HEADER_NAME_MAX_LENGTH} characters."
    lowered = name.lower()
    if lowered in _REFUSED_HEADERS:
        return f"{name} cannot be a custom header: {_REFUSED_HEADERS[lowered]}."
    if lowered.startswith(_REFUSED_HEADER_PREFIX):
        return f"{name} cannot be a custom header: webhook-* names are the Standard Webhooks ones."
    if lowered in seen:
        return f"{name} is given twice (header names ignore case)."
    if not isinstance(value, str):
        return f"{name}: the value is a string."
    stripped = value.strip(" \t")
    if not stripped:
        return f"{name}: the value is empty."
    if len(stripped) > HEADER_VALUE_MAX_LENGTH:
        return f"{name}: a value has at most {HEADER_VALUE_MAX_LENGTH} characters."
    if any(not " " <= character <= "~" for character in stripped):
        # The message names the header, never the value: values are often API keys.
        return f"{name}: a value has printable ASCII characters only (no line breaks)."
    return None


# --- Signature schemes (SPEC 1 and 4) ---

SIGNATURE_SCHEMES = tuple(scheme.value for scheme in SignatureScheme)


def clean_signature_scheme(raw: object) -> str:
    """The scheme's name, or ValidationError naming the ones there are."""
    if raw not in SIGNATURE_SCHEMES:
        names = " or ".join(f'"{scheme}"' for scheme in SIGNATURE_SCHEMES)
        raise ValidationError(f"Must be {names}.", code="invalid_choice")
    return str(raw)


def validate_secret_for_scheme(secret: object, scheme: str) -> None:
    """Raise ValidationError unless `secret` suits `scheme`: for Tillhub's 24 to 128 printable
    ASCII characters without spaces; for Standard Webhooks `whsec_` and standard base64 of 24
    to 64 bytes. The message never repeats the secret."""
    validate_signing_secret(secret)
    if scheme == SignatureScheme.STANDARD_WEBHOOKS:
        try:
            standard_webhooks_key(str(secret))
        except ValueError as error:
            raise ValidationError(
                f"For signature_scheme standard-webhooks, {error} (whsec_<base64>).",
                code="secret_form",
            ) from error


# --- Ordering (SPEC 3 and 4) ---

ORDERINGS = tuple(choice.value for choice in Webhook.Ordering)


def clean_ordering(raw: object) -> str:
    """`"none"` or `"entity"`, or ValidationError naming them."""
    if raw not in ORDERINGS:
        names = " or ".join(f'"{name}"' for name in ORDERINGS)
        raise ValidationError(f"Must be {names}.", code="invalid_choice")
    return str(raw)
