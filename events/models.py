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
