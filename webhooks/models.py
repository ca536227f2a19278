import secrets
import uuid
from datetime import datetime

from django.db import models

from accounts.models import Account
from deliveries.engine.signing import SignatureScheme, standard_webhooks_secret
from webhooks.fields import EncryptedJSONField, EncryptedTextField

URL_MAX_LENGTH = 2048


# Random bytes in a generated secret: 32, the HMAC-SHA256 key length, so brute force is no
# shortcut (for either scheme).
SIGNING_KEY_BYTES = 32


def generate_signing_secret(scheme: str = SignatureScheme.TILLHUB) -> str:
    """A fresh secret of the scheme's form: URL-safe text for Tillhub's, `whsec_<base64>` for
    Standard Webhooks."""
    if scheme == SignatureScheme.STANDARD_WEBHOOKS:
        return standard_webhooks_secret(secrets.token_bytes(SIGNING_KEY_BYTES))
    return secrets.token_urlsafe(SIGNING_KEY_BYTES)


class Webhook(models.Model):
    """A subscription: where to POST which events, how to sign and authenticate them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=URL_MAX_LENGTH)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    username = models.CharField(max_length=255, blank=True)
    password = EncryptedTextField(blank=True)
    secret = EncryptedTextField(default=generate_signing_secret)
    signature_scheme = models.CharField(
        max_length=32,
        choices=[(scheme.value, scheme.value) for scheme in SignatureScheme],
        default=SignatureScheme.TILLHUB.value,
    )
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    rate_per_second = models.FloatField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    max_in_flight = models.PositiveIntegerField(null=True, blank=True)
    connect_timeout_ms = models.PositiveIntegerField()
    request_timeout_ms = models.PositiveIntegerField()
    # Extra request headers (SPEC 4), {name: value}. Encrypted at rest like the password: values
    # are often API keys of the receiver's gateway.
    headers = EncryptedJSONField(default=dict, blank=True)

    class Ordering(models.TextChoices):
        NONE = "none"  # full concurrency
        ENTITY = "entity"  # one delivery per entity_instance_id at a time, in publish order

    ordering = models.CharField(
        max_length=16, choices=Ordering.choices, default=Ordering.NONE, db_default=Ordering.NONE
    )
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Health kept up to date by the recorder, so auto-deactivation needs no history scan:
    # the last successful attempt, and since when attempts have failed without a success.
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("account", "-created_at"))]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a request sent at `now`, newest first (rotation grace)."""
        live = [self.secret]
        expires_at = self.previous_secret_expires_at
        if self.previous_secret and expires_at is not None and expires_at > now:
            live.append(self.previous_secret)
        return live
