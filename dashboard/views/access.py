"""Who may see what: every page belongs to the signed-in user's account."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import Account
from deliveries.models import Delivery
from deliveries.selectors import deliveries_for_account
from webhooks.models import Webhook


def current_account(request: HttpRequest) -> Account:
    """The signed-in user's account; PermissionDenied for a user without one (e.g. a
    superuser made with createsuperuser rather than createaccount)."""
    account = getattr(request.user, "account", None)
    if account is None:
        raise PermissionDenied("This user belongs to no account.")
    return account


def owned_webhook(request: HttpRequest, webhook_id: object) -> Webhook:
    """The webhook if it belongs to the user's account; Http404 otherwise."""
    return get_object_or_404(Webhook, id=webhook_id, account=current_account(request))


def owned_delivery(request: HttpRequest, delivery_id: int) -> Delivery:
    """The delivery if its webhook belongs to the user's account; Http404 otherwise."""
    deliveries = deliveries_for_account(account_id=current_account(request).id)
    return get_object_or_404(deliveries.select_related("webhook", "event"), id=delivery_id)


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's `next` URL when it points into this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
