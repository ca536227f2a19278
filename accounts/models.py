import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class Account(models.Model):
    """The tenant: every webhook, event and delivery belongs to exactly one account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
