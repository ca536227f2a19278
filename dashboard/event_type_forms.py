"""The form of an account's own event type: JSON typed into text areas, judged by the
services (the same rules and messages as `/api/v1/event-types/`)."""

import json
from typing import Any

from django import forms

from events.models import EventType

JSON_AREA = {"rows": 14, "cols": 90, "class": "vLargeTextField", "spellcheck": "false"}


class JsonTextField(forms.CharField):
    """JSON text in, the parsed value out; malformed JSON is a message on the field."""

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from error


class EventTypeForm(forms.Form):
    key = forms.CharField(
        max_length=64,
        help_text="<entities>.<action>.v<N>, e.g. invoices.paid.v1. "
        "It cannot change later: a new version is a new event type.",
    )
    entity = forms.CharField(
        max_length=64, help_text="Singular, sent as event_entity, e.g. invoice."
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 90})
    )
    schema = JsonTextField(
        widget=forms.Textarea(attrs=JSON_AREA),
        help_text="A JSON Schema (its $schema draft, else 2020-12). Every published payload "
        "must meet it.",
    )
    payload_example = JsonTextField(
        required=False,
        widget=forms.Textarea(attrs=JSON_AREA),
        help_text="Optional: a payload meeting the schema; test events send it.",
    )

    def __init__(self, *args: Any, event_type: EventType | None = None, **kwargs: Any) -> None:
        self.event_type = event_type
        if event_type is not None:
            kwargs.setdefault(
                "initial",
                {
                    "key": event_type.key,
                    "entity": event_type.entity,
                    "description": event_type.description,
                    "schema": _pretty(event_type.schema_json),
                    "payload_example": _pretty(event_type.payload_example_json),
                },
            )
        super().__init__(*args, **kwargs)
        if event_type is not None:
            self.fields["key"].disabled = True

    def service_fields(self) -> dict[str, Any]:
        """The fields as the services take them (the key only when creating)."""
        data = self.cleaned_data
        fields = {
            "entity": data["entity"],
            "description": data["description"],
            "schema": data["schema"],
            "payload_example": data["payload_example"],
        }
        if self.event_type is None:
            fields["key"] = data["key"]
        return fields


def _pretty(json_text: str) -> str:
    return json.dumps(json.loads(json_text), indent=2, ensure_ascii=False) if json_text else ""
