from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from deliveries.engine.signing import SignatureScheme
from webhooks import rules
from webhooks.models import Webhook, generate_signing_secret

EDITABLE_FIELDS = (
    "url",
    "events",
    "description",
    "active",
    "username",
    "password",
    "secret",
    "rate_per_second",
    "burst",
    "max_in_flight",
    "connect_timeout_ms",
    "request_timeout_ms",
    "headers",
    "signature_scheme",
    "ordering",
)


def webhook_defaults() -> dict[str, Any]:
    """The limits and timeouts a new subscription gets when it names none."""
    return {
        "rate_per_second": settings.WEBHOOK_DEFAULT_RATE_PER_SECOND,
        "burst": settings.WEBHOOK_DEFAULT_BURST,
        "max_in_flight": settings.WEBHOOK_DEFAULT_MAX_IN_FLIGHT,
        "connect_timeout_ms": settings.WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS,
        "request_timeout_ms": settings.WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS,
    }


def _clean(values: dict[str, Any], *, account_id: object = None) -> dict[str, Any]:
    """Validate and normalise fields (event keys: the built-ins and the account's own);
    raises ValidationError with a message per field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)

    def check(field: str, action: Any) -> None:
        try:
            action()
        except ValidationError as error:
            messages = error.message_dict.get(field) if hasattr(error, "error_dict") else None
            errors.setdefault(field, []).extend(messages or error.messages)

    if "url" in values:
        cleaned["url"] = str(values["url"]).strip()
        check("url", lambda: rules.validate_target_url(cleaned["url"]))
    if "events" in values:

        def events() -> None:
            cleaned["events"] = rules.clean_event_keys(values["events"], account_id=account_id)

        check("events", events)
    if "signature_scheme" in values:

        def scheme() -> None:
            cleaned["signature_scheme"] = rules.clean_signature_scheme(values["signature_scheme"])

        check("signature_scheme", scheme)
    if "ordering" in values:

        def ordering() -> None:
            cleaned["ordering"] = rules.clean_ordering(values["ordering"])

        check("ordering", ordering)
    if "secret" in values:
        scheme_name = cleaned.get("signature_scheme", SignatureScheme.TILLHUB)
        check("secret", lambda: rules.validate_secret_for_scheme(values["secret"], scheme_name))
    if "headers" in values:

        def headers() -> None:
            cleaned["headers"] = rules.clean_custom_headers(values["headers"])

        check("headers", headers)
    ranges = {
        "rate_per_second": rules.RATE_PER_SECOND_RANGE,
        "burst": rules.BURST_RANGE,
        "max_in_flight": rules.MAX_IN_FLIGHT_RANGE,
        "connect_timeout_ms": rules.CONNECT_TIMEOUT_MS_RANGE,
        "request_timeout_ms": rules.REQUEST_TIMEOUT_MS_RANGE,
    }
    for field, bounds in ranges.items():
        if field in values:
            check(field, lambda f=field, b=bounds: rules.validate_in_range(values[f], b, f))
    if ":" in str(values.get("username") or ""):
        # RFC 7617: the first colon of user-id:password ends the user-id, so a receiver
        # would read the rest of the username as part of the password.
        errors.setdefault("username", []).append(
            'A username cannot contain ":" (HTTP Basic auth separates it from the password).'
        )
    if values.get("password") and not values.get("username", True):
        errors.setdefault("username", []).append("A password needs a username.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def webhook_create(*, account: Account, **fields: Any) -> Webhook:
    """Create a subscription; ValidationError on bad fields.

    Its signing secret is the `secret` given (of its scheme's form), or a fresh random one of
    the form its `signature_scheme` needs when none (or None) is.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown webhook fields: {sorted(unknown)}")
    if fields.get("secret") is None:
        fields.pop("secret", None)
    # Fields left out take the defaults; an explicit None for a limit means unlimited.
    values = {"events": [], "username": "", **webhook_defaults(), **fields}
    if values.get("signature_scheme") is None:
        values["signature_scheme"] = SignatureScheme.TILLHUB.value
    if values.get("ordering") is None:
        values["ordering"] = Webhook.Ordering.NONE.value
    cleaned = _clean(values, account_id=account.id if account else None)
    if "secret" not in cleaned:
        cleaned["secret"] = generate_signing_secret(cleaned["signature_scheme"])
    return Webhook.objects.create(account=account, **cleaned)


def webhook_change(*, webhook: Webhook, **fields: Any) -> bool:
    """Validate and save the given fields; returns whether `active` changed.

    A `secret` given replaces the signing secret at once (a rotated-out one still within its
    grace period keeps signing alongside). A changed `signature_scheme` without a `secret`
    gets a fresh one of the new scheme's form (the old one, of the other form, stops signing
    at once).

    Only the subscription row: pausing or resuming its deliveries on (de)activation is
    deliveries.services.subscriptions.webhook_update's part. Raises ValidationError per field.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown webhook fields: {sorted(unknown)}")
    if "password" in fields and fields["password"] is None:
        fields["password"] = ""
    if "secret" in fields and fields["secret"] is None:
        # Left out or null: the secret is kept (SPEC 4); only regenerate-secret (or a switch
        # of signature scheme) makes a new one.
        del fields["secret"]
    if "signature_scheme" in fields and fields["signature_scheme"] is None:
        del fields["signature_scheme"]
    if "ordering" in fields and fields["ordering"] is None:
        del fields["ordering"]
    check = dict(fields)
    check.setdefault("username", webhook.username)
    check.setdefault("signature_scheme", webhook.signature_scheme)
    cleaned = _clean(check, account_id=webhook.account_id)
    if cleaned["signature_scheme"] != webhook.signature_scheme:
        if "secret" not in fields:
            fields["secret"] = cleaned["secret"] = generate_signing_secret(
                cleaned["signature_scheme"]
            )
        webhook.previous_secret = ""
        webhook.previous_secret_expires_at = None
    was_active = webhook.active
    for field in fields:
        setattr(webhook, field, cleaned[field])
    if not webhook.username:
        webhook.password = ""
    if webhook.active and not was_active:
        webhook.disabled_reason = ""
        webhook.disabled_at = None
    elif was_active and not webhook.active:
        webhook.disabled_at = timezone.now()
    webhook.save()
    return webhook.active != was_active


def webhook_mark_deactivated(*, webhook: Webhook, reason: str) -> None:
    """Store the deactivation and its reason (shown in the dashboard and API); only the row."""
    webhook.active = False
    webhook.disabled_reason = reason[:500]
    webhook.disabled_at = timezone.now()
    webhook.save(update_fields=["active", "disabled_reason", "disabled_at", "updated_at"])


# The longest a rotated-out secret keeps signing, seconds: receivers need hours, not months,
# to switch, and the bound keeps the expiry a representable date.
MAX_SECRET_GRACE_SECONDS = 30 * 86400


@transaction.atomic
def webhook_regenerate_secret(*, webhook: Webhook, grace_seconds: float = 0) -> Webhook:
    """Replace the signing secret; the old one keeps signing alongside for `grace_seconds`."""
    if not 0 <= grace_seconds <= MAX_SECRET_GRACE_SECONDS:
        raise ValidationError(
            {"grace_seconds": f"Must be between 0 and {MAX_SECRET_GRACE_SECONDS} seconds."}
        )
    if grace_seconds > 0:
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=grace_seconds)
    else:
        webhook.previous_secret = ""
        webhook.previous_secret_expires_at = None
    webhook.secret = generate_signing_secret(webhook.signature_scheme)
    webhook.save()
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the subscription with its deliveries and attempts; it gets nothing more."""
    webhook.delete()


def webhooks_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every webhook's secrets and password with the newest key (key rotation).

    Reading decrypts with any configured key; saving encrypts with the first. Returns the count.
    """
    count = 0
    fields = ["secret", "previous_secret", "password", "headers"]
    last_id = None
    while True:
        page = Webhook.objects.order_by("id")
        if last_id is not None:
            page = page.filter(id__gt=last_id)
        webhooks = list(page.only("id", *fields)[:batch_size])
        if not webhooks:
            return count
        with transaction.atomic():
            Webhook.objects.bulk_update(webhooks, fields)
        count += len(webhooks)
        last_id = webhooks[-1].id
