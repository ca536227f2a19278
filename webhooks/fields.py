"""Text and JSON fields encrypted at rest with Fernet (the `cryptography` package).

Keys come from settings.FIELD_ENCRYPTION_KEYS, newest first: the first encrypts, every key
decrypts, so keys can be rotated by prepending a new one; `manage.py rotate_encryption_key` then
re-encrypts the stored values with it.
"""

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must hold url-safe base64 Fernet keys of 32 bytes"
        ) from error


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        # The message names no value: the ciphertext is a secret's stand-in.
        raise ImproperlyConfigured(
            "an encrypted field cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from error


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code only ever sees the plaintext. Empty stays empty."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        return decrypt(value) if value else ""

    def get_prep_value(self, value: object) -> str:
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""


class EncryptedJSONField(models.TextField):
    """A JSON value (here: an object of header names to values) stored as Fernet ciphertext of
    its compact JSON text; Python code sees the value. An empty object is stored as "" so that
    the rows without one cost no decryption when loaded."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> object:
        return json.loads(decrypt(value)) if value else {}

    def to_python(self, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def get_prep_value(self, value: object) -> str:
        if not value:
            return ""
        return encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
