"""Reading subscriptions, always within one account.

Every API view and dashboard page finds an account's subscriptions through these; a lookup
outside the account is the same as a missing one (Webhook.DoesNotExist), so nothing tells
another tenant's ids apart from ids that do not exist.
"""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from webhooks.models import Webhook


def webhooks_for_account(*, account_id: object) -> QuerySet[Webhook]:
    """The account's subscriptions; none when `account_id` is None (a user without one)."""
    return Webhook.objects.filter(account_id=account_id)


def webhook_for_account(*, account_id: object, webhook_id: object) -> Webhook:
    """The account's subscription `webhook_id`.

    Raises Webhook.DoesNotExist for another account's, a missing or a malformed id.
    """
    try:
        return (
            webhooks_for_account(account_id=account_id).select_related("account").get(id=webhook_id)
        )
    except (ValueError, TypeError, ValidationError) as error:
        raise Webhook.DoesNotExist(str(error)) from error


def webhooks_subscribed(*, account_id: object, key: str) -> list[Webhook]:
    """The account's subscriptions (active or not) that list the event key `key`."""
    # An account has tens of subscriptions, not thousands: filtering the event lists here
    # keeps the query portable (SQLite has no JSON containment) and needs no join table.
    return [
        webhook
        for webhook in webhooks_for_account(account_id=account_id).only(
            "id", "active", "events", "ordering"
        )
        if key in webhook.events
    ]
