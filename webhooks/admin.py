from django.contrib import admin

from webhooks.models import Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("url", "account", "active", "disabled_reason", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    # The signing secret and Basic-auth password are not shown here: the dashboard shows the
    # secret to its owner, and the password is write-only everywhere.
    exclude = ("secret", "previous_secret", "password")
    readonly_fields = ("created_at", "updated_at", "disabled_at")
