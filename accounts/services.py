from dataclasses import dataclass

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import Account, User


@dataclass(frozen=True)
class AccountWithToken:
    account: Account
    user: User
    token: str
    created: bool


class AccountUserConflict(Exception):
    """The username exists already and belongs to another account."""


@transaction.atomic
def account_create(
    *, account_name: str, username: str, password: str, email: str = ""
) -> AccountWithToken:
    """Create an account with its first user and API token; idempotent for the same pair.

    Returns the existing user's token when the account and user exist already (the password is
    left as it is). Raises AccountUserConflict when the username belongs to another account.
    """
    account, account_created = Account.objects.get_or_create(name=account_name)
    user = User.objects.filter(username=username).first()
    if user is not None and user.account_id != account.id:
        raise AccountUserConflict(f"user {username!r} belongs to another account")
    user_created = user is None
    if user is None:
        user = User.objects.create_user(
            username=username, password=password, email=email, account=account
        )
    token, _ = Token.objects.get_or_create(user=user)
    return AccountWithToken(
        account=account, user=user, token=token.key, created=account_created or user_created
    )
