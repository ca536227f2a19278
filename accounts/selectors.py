"""Reading accounts: whose account a signed-in user is, and who to tell about it."""

from typing import Any

from accounts.models import Account


def account_of_user(user: Any) -> Account | None:
    """The account the (authenticated or anonymous) user belongs to, or None: a superuser made
    with createsuperuser rather than createaccount has none, and then sees nothing."""
    return getattr(user, "account", None)


def account_user_emails(*, account_id: object) -> list[str]:
    """The e-mail addresses of the account's users that have one."""
    return [
        email
        for email in Account.objects.get(id=account_id).users.values_list("email", flat=True)
        if email
    ]
