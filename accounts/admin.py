from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Account, User


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name",)


@admin.register(User)
class HooklineUserAdmin(UserAdmin):
    list_display = ("username", "email", "account", "is_staff")
    fieldsets = (*UserAdmin.fieldsets, ("Account", {"fields": ("account",)}))
