import uuid

from django.db import models

from accounts.models import Account


class Event(models.Model):
    """Something that happened to an entity; fans out to one delivery per subscription."""

    class Source(models.TextChoices):
        API = "api"
        GENERATED = "generated"
        TEST = "test"
        LOADTEST = "loadtest"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed through (account, -created_at) below, not on its own.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    key = models.CharField(max_length=64)
    # The envelope's event_entity of an account's own type, fixed when the event is published
    # so that a later edit or deletion of the type never changes the bytes of a resend. NULL
    # for built-ins, whose entity the read-only catalog gives.
    entity = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    entity_instance_id = models.UUIDField()
    # The payload as compact JSON text, not a JSONField: PostgreSQL's jsonb would reorder the
    # keys, and receivers must get the exact bytes that were published, on every attempt.
    payload_json = models.TextField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    # NULL, not "", when absent: the uniqueness constraint applies to given keys only.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # SHA-256 (hex) of the publish request as parsed JSON, for events published with an
    # Idempotency-Key: a repeat of the key with a different request is refused, not replayed.
    # NULL for events without a key (and for those published before it was recorded), so the
    # bulk inserts that name their columns need not know it.
    idempotency_fingerprint = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=("account", "-created_at")),
            models.Index(fields=("account", "key", "-created_at")),
            models.Index(fields=("created_at",)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=("account", "idempotency_key"),
                condition=models.Q(idempotency_key__isnull=False),
                name="event_idempotency_key_unique_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.id}"


class EventType(models.Model):
    """An event type of the catalog (SPEC 2 and 5): a built-in (account NULL, mirrored from the
    shipped catalog on every migrate, read-only) or an account's own."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="event_types", null=True, blank=True
    )
    key = models.CharField(max_length=64)
    """`<entities>.<action>.v<N>`; the envelope's event_type and event_version come from it."""
    entity = models.CharField(max_length=64)
    """Singular, sent as the envelope's event_entity."""
    description = models.TextField(blank=True)
    # JSON as text, not a JSONField: jsonb would reorder the keys, and people read schemas and
    # examples in the order they were written (`id` first, `type` before `properties`).
    schema_json = models.TextField()
    payload_example_json = models.TextField(blank=True)  # "" when there is none
    built_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Also the version of the compiled validator cached in each process (events/validation.py).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("key",)
        constraints = [
            models.UniqueConstraint(fields=("account", "key"), name="event_type_key_per_account"),
            models.UniqueConstraint(
                fields=("key",),
                condition=models.Q(account__isnull=True),
                name="event_type_builtin_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(built_in=True, account__isnull=True)
                | models.Q(built_in=False, account__isnull=False),
                name="event_type_builtin_has_no_account",
            ),
        ]

    def __str__(self) -> str:
        return self.key
