"""The account-wide Deliveries page's form: the history filters plus the webhook, the last
response's status code and a search box, read from the query string."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from dashboard.forms import HistoryFilterForm, add_service_errors
from deliveries.selectors import DeliverySearch
from webhooks.models import Webhook


class DeliverySearchForm(HistoryFilterForm):
    FIELDS = ("q", "webhook", "status", "event", "status_code", "since", "until")

    q = forms.CharField(
        required=False,
        max_length=64,
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "Delivery id, event id or entity id", "spellcheck": "false"}
        ),
    )
    webhook = forms.ChoiceField(required=False, label="Webhook")
    status_code = forms.CharField(
        required=False,
        max_length=3,
        label="Status code",
        widget=forms.TextInput(attrs={"placeholder": "2xx, 4xx, 503", "size": "5"}),
    )
    field_order = FIELDS

    def __init__(self, *args: Any, webhooks: list[Webhook], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["webhook"].choices = [
            ("", "Any webhook"),
            *[(str(webhook.id), webhook.url) for webhook in webhooks],
        ]

    def delivery_search(self) -> DeliverySearch | None:
        """The cleaned search, or None when a field is wrong (its errors are on the form)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return DeliverySearch(
                webhook_id=data["webhook"] or None,
                status=data["status"] or None,
                event=data["event"] or None,
                since=data["since"],
                until=data["until"],
                status_code=data["status_code"] or None,
                q=data["q"] or None,
            ).clean()
        except ValidationError as error:
            add_service_errors(self, error)
            return None
