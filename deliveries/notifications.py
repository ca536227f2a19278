"""Telling an account's people that a subscription was deactivated, by e-mail.

Queued after the deactivation commits and sent by a worker: an SMTP server's latency never
holds a database transaction or the delivery loop.
"""

import logging

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction

from accounts.selectors import account_user_emails
from webhooks.models import Webhook

logger = logging.getLogger(__name__)


def queue_deactivation_email(*, webhook_id: object, reason: str) -> None:
    """Send the deactivation e-mail from a worker once the current transaction commits."""
    transaction.on_commit(
        lambda: send_deactivation_email.delay(webhook_id=str(webhook_id), reason=reason)
    )


@shared_task(name="deliveries.send_deactivation_email", acks_late=True)
def send_deactivation_email(*, webhook_id: str, reason: str) -> None:
    """Mail the subscription's account users why it was deactivated; nothing if it is gone
    or nobody has an address."""
    webhook = Webhook.objects.filter(id=webhook_id).only("id", "url", "account_id").first()
    if webhook is None:
        return
    recipients = account_user_emails(account_id=webhook.account_id)
    if not recipients:
        return
    try:
        send_mail(
            subject=f"Hookline: webhook to {webhook.url} was deactivated",
            message=(
                f"{reason}\n\nDeliveries to it are paused and will be sent when you "
                f"reactivate it in the dashboard or with PATCH /api/v1/webhooks/{webhook.id}/ "
                '{"active": true}.'
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:
        logger.exception(
            "could not email account %s about webhook %s", webhook.account_id, webhook.id
        )
