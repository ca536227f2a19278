"""Serializer fields shared by the API modules."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.catalog import KNOWN_EVENT_KEYS


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 64,
        "example": KNOWN_EVENT_KEYS[0],
        "description": "An event key of the catalog (`GET /api/v1/event-types/`): a built-in "
        f"one ({', '.join(KNOWN_EVENT_KEYS)}) or one of the account's own types. On input the "
        "colon form (`products:create:v0`) and the singular entity (`product.create.v0`) are "
        "accepted too; output is always canonical.",
    }
)
class EventKeyField(serializers.CharField):
    """A catalog key; checked (and made canonical) by the services, not here."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
