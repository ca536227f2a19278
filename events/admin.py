from django.contrib import admin

from events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "key", "account", "source", "created_at")
    list_filter = ("key", "source")
    search_fields = ("id", "entity_instance_id")
    readonly_fields = ("created_at",)
