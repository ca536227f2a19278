"""Dashboard forms: they parse what a browser sends into Python values and nothing more.

The rules (which URLs, which event keys, which ranges) live in webhooks.services and
deliveries.selectors, shared with the API; their ValidationErrors are put back onto these
forms' fields with `add_service_errors`.
"""

import math
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from deliveries.engine.numbers import NumberRefused, parse_float, parse_int
from deliveries.engine.signing import SignatureScheme
from deliveries.models import Delivery
from deliveries.preflight import DEFAULT_EVENT_KEY
from deliveries.selectors import HistoryFilter
from events.catalog import EVENT_TYPES
from events.selectors import event_types_for_account
from webhooks.models import Webhook
from webhooks.services import webhook_defaults

# Limits that mean "unlimited" when left blank; the timeouts fall back to the defaults instead.
UNLIMITED_WHEN_BLANK = ("rate_per_second", "burst", "max_in_flight")
DEFAULT_WHEN_BLANK = ("connect_timeout_ms", "request_timeout_ms")


def event_choices(account_id: object = None) -> list[tuple[str, Any]]:
    """The catalog as checkbox choices grouped by entity: the built-ins, and with
    `account_id` that account's own types too."""
    if account_id is None:
        entries = [(key, entry.entity, entry.description) for key, entry in EVENT_TYPES.items()]
    else:
        entries = [
            (row.key, row.entity, row.description)
            for row in event_types_for_account(account_id=account_id).only(
                "key", "entity", "description", "built_in"
            )
        ]
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, entity, description in entries:
        label = format_html('<code>{}</code> <span class="help">{}</span>', key, description)
        groups.setdefault(entity, []).append((key, label))
    return list(groups.items())


class EventKeysField(forms.MultipleChoiceField):
    """Checkboxes of the catalog; any value is passed on, so the service's rules judge it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(choices=event_choices, required=False, **kwargs)

    def valid_value(self, value: str) -> bool:
        return True


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits; Django's own reads `٣` as 3 (SPEC 5: a 400)."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_int(str(value), low=-(2**63), high=2**63 - 1)
        except NumberRefused:
            raise ValidationError(
                "Enter a whole number in ASCII digits (0-9).", code="invalid"
            ) from None


class AsciiFloatField(forms.FloatField):
    """A finite number in ASCII decimal notation (`1.5`, `.5`, `2e3`)."""

    def to_python(self, value: Any) -> float | None:
        if value in self.empty_values:
            return None
        try:
            return parse_float(str(value), low=-math.inf, high=math.inf)
        except NumberRefused:
            raise ValidationError("Enter a number in ASCII digits (0-9).", code="invalid") from None


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's field messages onto the form's fields (unknown fields: form-wide)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class WebhookForm(forms.Form):
    """Every editable field of a subscription (SPEC section 4)."""

    url = forms.CharField(
        label="URL",
        widget=forms.URLInput(attrs={"class": "vURLField", "placeholder": "https://"}),
        help_text="Where deliveries are POSTed; https:// unless the host is local.",
    )
    events = EventKeysField(label="Events", help_text="The event types this webhook receives.")
    description = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    active = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Inactive webhooks keep their deliveries waiting (paused) until reactivated.",
    )
    username = forms.CharField(
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Sent as HTTP Basic authentication when set.",
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text="Write-only. Leave blank to keep the current password.",
    )
    clear_password = forms.BooleanField(required=False, label="Clear password")
    secret = forms.CharField(
        required=False,
        label="Signing secret",
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The secret your receiver verifies the signature with: 24 to 128 "
        "printable characters, no spaces (Standard Webhooks: whsec_ and base64 of 24 to 64 "
        "bytes). Leave empty to generate one (or keep the current one; a change of scheme "
        "generates one of the new form).",
    )
    ordering = forms.ChoiceField(
        required=False,  # left out: the webhook's current ordering (none for a new one)
        label="Ordering",
        choices=[
            ("none", "None: full concurrency"),
            ("entity", "Per entity: one delivery of an entity at a time, in publish order"),
        ],
        initial="none",
        help_text="Per entity: a later event of the same entity_instance_id waits until the "
        "earlier one succeeded, gave up or expired; other entities are not held back.",
    )
    signature_scheme = forms.ChoiceField(
        required=False,  # left out: the webhook's current scheme (Tillhub's for a new one)
        label="Signature scheme",
        choices=[
            (SignatureScheme.TILLHUB.value, "Tillhub (Tillhub-Signature header)"),
            (
                SignatureScheme.STANDARD_WEBHOOKS.value,
                "Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)",
            ),
        ],
        initial=SignatureScheme.TILLHUB.value,
        help_text="Standard Webhooks lets receivers verify with the Standard Webhooks (or "
        "Svix) libraries as they are.",
    )
    headers = forms.CharField(
        required=False,
        label="Extra headers",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "placeholder": "X-Api-Key: value"}
        ),
        help_text="One Name: value per line, sent with every request (to this URL's origin "
        "only; stored encrypted, values hidden in the delivery log). At most 20.",
    )
    rate_per_second = AsciiFloatField(
        required=False,
        label="Rate per second",
        widget=forms.NumberInput(attrs={"step": "any"}),
        help_text="Requests per second at most (token bucket). Blank: unlimited.",
    )
    burst = AsciiIntegerField(
        required=False, help_text="Requests allowed at once above the rate. Blank: unlimited."
    )
    max_in_flight = AsciiIntegerField(
        required=False,
        label="Max in flight",
        help_text="Concurrent requests to this URL at most. Blank: unlimited.",
    )
    connect_timeout_ms = AsciiIntegerField(required=False, label="Connect timeout (ms)")
    request_timeout_ms = AsciiIntegerField(required=False, label="Request timeout (ms)")

    def __init__(
        self,
        *args: Any,
        webhook: Webhook | None = None,
        account_id: object = None,
        **kwargs: Any,
    ) -> None:
        self.webhook = webhook
        defaults = webhook_defaults()
        if webhook is not None:
            kwargs.setdefault(
                "initial",
                {
                    "url": webhook.url,
                    "events": webhook.events,
                    "description": webhook.description,
                    "active": webhook.active,
                    "username": webhook.username,
                    "rate_per_second": webhook.rate_per_second,
                    "burst": webhook.burst,
                    "max_in_flight": webhook.max_in_flight,
                    "connect_timeout_ms": webhook.connect_timeout_ms,
                    "request_timeout_ms": webhook.request_timeout_ms,
                    "signature_scheme": webhook.signature_scheme,
                    "ordering": webhook.ordering,
                    "headers": "\n".join(
                        f"{name}: {value}" for name, value in webhook.headers.items()
                    ),
                },
            )
        else:
            kwargs.setdefault("initial", {"active": True, **defaults})
        super().__init__(*args, **kwargs)
        # The catalog this account sees: the built-ins and its own event types.
        owner = account_id if account_id is not None else getattr(webhook, "account_id", None)
        self.fields["events"].choices = event_choices(owner)
        for name in DEFAULT_WHEN_BLANK:
            self.fields[name].help_text = f"Blank: the default, {defaults[name]} ms."
        if webhook is None or not webhook.password:
            del self.fields["clear_password"]
            if webhook is not None:
                self.fields["password"].help_text = "Write-only. No password is set."
        else:
            self.fields[
                "password"
            ].help_text = "Write-only. A password is set; leave blank to keep it."

    def clean_headers(self) -> dict[str, str]:
        """The lines as {name: value}; the service judges names and values. A line without a
        colon, or a name given twice, is an error naming the line."""
        headers: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            name = name.strip()
            if not colon or not name:
                raise ValidationError(f"Line {number}: write Name: value.")
            if name.lower() in (given.lower() for given in headers):
                raise ValidationError(f"Line {number}: {name} is given twice.")
            headers[name] = value
        return headers

    def service_fields(self) -> dict[str, Any]:
        """The keyword arguments for webhook_create / webhook_update."""
        data = self.cleaned_data
        defaults = webhook_defaults()
        fields: dict[str, Any] = {
            "url": data["url"],
            "events": data["events"],
            "description": data["description"],
            "active": data["active"],
            "username": data["username"],
        }
        for name in UNLIMITED_WHEN_BLANK:
            fields[name] = data[name]
        for name in DEFAULT_WHEN_BLANK:
            fields[name] = defaults[name] if data[name] is None else data[name]
        if data["secret"]:
            fields["secret"] = data["secret"]
        if data["signature_scheme"]:
            fields["signature_scheme"] = data["signature_scheme"]
        if data["ordering"]:
            fields["ordering"] = data["ordering"]
        fields["headers"] = data["headers"]
        if data.get("clear_password"):
            fields["password"] = ""
        elif data["password"]:
            fields["password"] = data["password"]
        return fields


class TestEventsForm(forms.Form):
    events = EventKeysField(
        label="Event types", help_text="One test event of each type, with a realistic payload."
    )


class PreflightForm(forms.Form):
    # A CharField behind a select, not a ChoiceField: the service judges the key (and names
    # an unknown one the way the API does).
    event = forms.CharField(
        required=False,
        label="Test event",
        initial=DEFAULT_EVENT_KEY,
        widget=forms.Select(choices=[(key, key) for key in EVENT_TYPES]),
        help_text="The event type of the signed test requests.",
    )

    def event_key(self) -> str:
        """The chosen key; the default test event when none was sent (the detail page's
        button sends none)."""
        return self.cleaned_data["event"] or DEFAULT_EVENT_KEY


class RegenerateSecretForm(forms.Form):
    grace_seconds = AsciiFloatField(
        required=False,
        label="Grace period (seconds)",
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "class": "vIntegerField"}),
        help_text="The old secret keeps signing alongside the new one for this long.",
    )


STATUS_CHOICES = [
    ("", "Any status"),
    ("success", "Success (green)"),
    ("failure", "Pending retry or failed (red)"),
    ("waiting", "Queued, sent or paused (grey, blue)"),
    *[(state.value, state.label) for state in Delivery.State],
]

# datetime-local inputs send `2024-05-01T13:45` (seconds optional).
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M")
        return super().format_value(value)


class HistoryFilterForm(forms.Form):
    """The delivery history's filters, read from the query string."""

    FIELDS = ("status", "event", "since", "until")

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    event = forms.ChoiceField(
        choices=[("", "Any event"), *[(key, key) for key in EVENT_TYPES]], required=False
    )
    since = forms.DateTimeField(
        required=False,
        label="Since (UTC)",
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_LOCAL_FORMATS,
    )
    until = forms.DateTimeField(
        required=False,
        label="Until (UTC)",
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_LOCAL_FORMATS,
    )

    def history_filter(self) -> HistoryFilter | None:
        """The cleaned filter, or None when a field is wrong (its errors are on the form)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return HistoryFilter(
                status=data["status"] or None,
                event=data["event"] or None,
                since=data["since"],
                until=data["until"],
            ).clean()
        except ValidationError as error:
            add_service_errors(self, error)
            return None

    def query(self) -> dict[str, str]:
        """The raw filter values that were given, for links that keep the filters."""
        return {name: self.data[name] for name in self.FIELDS if self.data.get(name)}


WINDOW_CHOICES = [
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
]
DEFAULT_WINDOW = "24h"


class MetricsWindowForm(forms.Form):
    window = forms.ChoiceField(choices=WINDOW_CHOICES, required=False, label="Window")
