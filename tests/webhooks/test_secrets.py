"""Credentials at rest: encrypted, rotatable, and never in clear in the database."""

import base64
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from webhooks.fields import _fernet
from webhooks.models import Webhook
from webhooks.services import webhook_create, webhook_regenerate_secret

pytestmark = pytest.mark.django_db


def stored_row(webhook_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, password FROM webhooks_webhook WHERE id = %s", [webhook_id])
        return cursor.fetchone()


def test_secret_and_password_are_encrypted_at_rest(account):
    # given
    webhook = webhook_create(
        account=account,
        url="https://example.com/hook",
        events=["products.create.v0"],
        username="shop",
        password="hunter2-password",
    )

    # when
    secret_column, password_column = stored_row(webhook.id)

    # then
    assert webhook.secret not in secret_column
    assert "hunter2" not in password_column
    reloaded = Webhook.objects.get(id=webhook.id)
    assert reloaded.password == "hunter2-password"
    assert reloaded.secret == webhook.secret


def test_key_rotation_reencrypts_with_the_newest_key(account, settings):
    # given: credentials written under the old key
    webhook = webhook_create(
        account=account,
        url="https://example.com/hook",
        events=["products.create.v0"],
        username="shop",
        password="rotate-me-please",
    )
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()

    # when: the new key is prepended and the command runs
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

    # then: the new key alone reads everything
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    reloaded = Webhook.objects.get(id=webhook.id)
    assert reloaded.password == "rotate-me-please"
    assert reloaded.secret == webhook.secret
    secret_column, _ = stored_row(webhook.id)
    assert Fernet(new_key.encode()).decrypt(secret_column.encode()).decode() == webhook.secret
    _fernet.cache_clear()


def test_rotation_grace_signs_with_both_secrets_until_it_ends(account):
    # given
    webhook = webhook_create(
        account=account, url="https://example.com/hook", events=["products.create.v0"]
    )
    old_secret = webhook.secret

    # when
    webhook_regenerate_secret(webhook=webhook, grace_seconds=60)

    # then: newest first during the grace period, the new one alone after it
    now = timezone.now()
    assert webhook.signing_secrets(now) == [webhook.secret, old_secret]
    assert webhook.signing_secrets(now + timedelta(seconds=61)) == [webhook.secret]


def test_basic_auth_header_is_not_stored_in_clear(account):
    # the Authorization value a receiver gets is derivable from the password: it must not be
    # stored either (attempts keep "Basic [redacted]"; see test_services)
    token = base64.b64encode(b"shop:hunter2-password").decode()
    webhook = webhook_create(
        account=account,
        url="https://example.com/hook",
        events=["products.create.v0"],
        username="shop",
        password="hunter2-password",
    )
    assert token not in "".join(stored_row(webhook.id))
