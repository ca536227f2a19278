"""Who may see what: every page belongs to the signed-in user's account.

The lookups are the account-scoped selectors the API uses too; here a miss is Django's 404.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import Account
from accounts.selectors import account_of_user
from deliveries.models import Delivery
from deliveries.selectors import delivery_for_account
from webhooks.models import Webhook
from webhooks.selectors import webhook_for_account

T = TypeVar("T")


def current_account(request: HttpRequest) -> Account:
    """The signed-in user's account; PermissionDenied for a user without one (e.g. a
    superuser made with createsuperuser rather than createaccount)."""
    account = account_of_user(request.user)
    if account is None:
        raise PermissionDenied("This user belongs to no account.")
    return account


def _found(lookup: Callable[..., T], **arguments: Any) -> T:
    try:
        return lookup(**arguments)
    except ObjectDoesNotExist as error:
        raise Http404 from error


def owned_webhook(request: HttpRequest, webhook_id: object) -> Webhook:
    """The webhook if it belongs to the user's account; Http404 otherwise."""
    return _found(
        webhook_for_account, account_id=current_account(request).id, webhook_id=webhook_id
    )


def owned_delivery(request: HttpRequest, delivery_id: int) -> Delivery:
    """The delivery if its webhook belongs to the user's account; Http404 otherwise."""
    return _found(
        delivery_for_account, account_id=current_account(request).id, delivery_id=delivery_id
    )


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's `next` URL when it points into this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site only: `redirect()` would read anything else without a slash (`²`)
    # as a view name, fail to find it and answer 500.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
