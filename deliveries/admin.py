from django.contrib import admin

from deliveries.models import Attempt, Delivery


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("number", "trigger", "started_at", "duration_ms", "outcome", "response_status")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "event_key", "webhook", "state", "attempt_count", "next_attempt_at")
    list_filter = ("state", "event_key")
    raw_id_fields = ("event", "webhook")
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "delivery", "number", "outcome", "response_status", "started_at")
    list_filter = ("outcome", "error_kind")
    raw_id_fields = ("delivery", "webhook")
