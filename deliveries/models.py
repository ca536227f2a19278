from django.db import models

from events.models import Event
from webhooks.models import Webhook


class Delivery(models.Model):
    """One event to one subscription. The database, not the broker, says when it is due."""

    class State(models.TextChoices):
        PENDING = "pending"  # queued or waiting for its next attempt
        SENDING = "sending"  # claimed by a worker; next_attempt_at is then the lease's end
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # last attempt errored, a retry is scheduled
        EXPIRED = "expired"  # the event passed retention before a success
        PAUSED = "paused"  # the subscription is inactive
        GAVE_UP = "gave_up"  # no automatic retry (e.g. TLS); manual resend only

    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic"
        MANUAL = "manual"

    DUE_STATES = (State.PENDING, State.FAILED, State.SENDING)

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # No index of its own: delivery_history_idx (webhook, -created_at) serves every lookup by
    # webhook, and each index costs every insert on the publishing hot path.
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # Copies of the event's key and time: the history filter and the expiry sweep need no join.
    event_key = models.CharField(max_length=64)
    event_created_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Database defaults too: the bulk publisher inserts rows without these columns.
    attempt_count = models.PositiveIntegerField(default=0, db_default=0)
    # When a pending/failed delivery is due; for a `sending` one, when its worker's lease ends
    # and another worker may take it. One column and one index serve both.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    next_trigger = models.CharField(
        max_length=16,
        choices=Trigger.choices,
        default=Trigger.AUTOMATIC,
        db_default=Trigger.AUTOMATIC,
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=32, blank=True, db_default="")
    last_duration_ms = models.FloatField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The event's entity_instance_id, copied at fan-out only for a subscription with
    # `ordering: "entity"` (SPEC 3): the claim holds a delivery back while an earlier one with
    # the same value is unfinished. Null for every other subscription, so the claim's ordering
    # check costs them one IS NULL test and delivery_order_idx stays as small as the ordered
    # backlog.
    ordering_entity_id = models.UUIDField(null=True, blank=True)

    # States in which a delivery holds back later deliveries of its entity (ordering).
    UNFINISHED_STATES = (State.PENDING, State.FAILED, State.SENDING, State.PAUSED)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=("webhook", "ordering_entity_id", "id"),
                condition=models.Q(
                    ordering_entity_id__isnull=False,
                    state__in=("pending", "failed", "sending", "paused"),
                ),
                name="delivery_order_idx",
            ),
            models.Index(
                fields=("next_attempt_at", "id"),
                condition=models.Q(state__in=("pending", "failed", "sending")),
                name="delivery_due_idx",
            ),
            models.Index(
                fields=("event_created_at",),
                condition=models.Q(state__in=("pending", "failed", "paused")),
                name="delivery_expiry_idx",
            ),
            models.Index(fields=("webhook", "-created_at"), name="delivery_history_idx"),
            models.Index(
                fields=("webhook", "state", "-created_at"), name="delivery_history_state_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.state})"


class Attempt(models.Model):
    """One try of a delivery: what was sent, what came back, how long it took."""

    id = models.BigAutoField(primary_key=True)
    # Neither key has an index of its own: attempt_delivery_idx and attempt_webhook_time_idx
    # start with them and serve their lookups.
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    # A copy of delivery.webhook: health metrics aggregate a subscription's attempts by time.
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Delivery.Trigger.choices)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    outcome = models.CharField(max_length=16)
    request_url = models.CharField(max_length=2048)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    redirect_hops = models.JSONField(default=list)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=("delivery", "-started_at"), name="attempt_delivery_idx"),
            models.Index(fields=("webhook", "started_at"), name="attempt_webhook_time_idx"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == "success"


class EndpointCircuit(models.Model):
    """The circuit breaker of one subscription (SPEC 3, endpoint health), shared by every
    worker through the database.

    A row exists once the subscription has had a failed attempt; none means healthy. After
    WEBHOOK_CIRCUIT_FAILURES consecutive failed attempts it opens: workers leave its deliveries
    unclaimed, and from `next_probe_at` on one of them wins the probe (a conditional UPDATE)
    and sends the oldest due delivery (`probe_delivery_id`) as `half_open`. The probe's success
    closes it, its failure re-opens it with the cool-down doubled (capped).
    """

    class State(models.TextChoices):
        HEALTHY = "healthy"
        OPEN = "open"
        HALF_OPEN = "half_open"

    webhook = models.OneToOneField(
        Webhook, on_delete=models.CASCADE, primary_key=True, related_name="circuit"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.HEALTHY)
    # When the state last changed.
    since = models.DateTimeField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Open: when a probe may go out. Half-open: when the probe's lease ends, so a probe lost
    # with its worker is taken again then.
    next_probe_at = models.DateTimeField(null=True, blank=True)
    # The cool-down before the next probe, seconds: doubles with each failed probe.
    cooldown_seconds = models.FloatField(default=0)
    probe_delivery_id = models.BigIntegerField(null=True, blank=True)
    # Counts shown in the operational events' payloads.
    times_opened = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=("next_probe_at",),
                condition=~models.Q(state="healthy"),
                name="circuit_not_healthy_idx",
            )
        ]

    def __str__(self) -> str:
        return f"circuit of {self.webhook_id} ({self.state})"
