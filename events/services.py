"""Writing event types: an account's own (create, change, delete) and the built-ins' mirror.

Built-ins are the catalog's (events/catalog.py) with the shipped schemas: read-only, the same
for every account. Their rows (account NULL) are refreshed from the shipped files after every
`migrate`, so adding a built-in needs no data migration.
"""

import json
import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account
from events.catalog import (
    BUILTIN_EVENT_TYPES,
    OWN_KEY_PATTERN,
    OWN_KEY_RULE,
    RESERVED_ENTITIES,
    builtin_event_key,
    normalized_event_key,
)
from events.envelope import compact_json
from events.models import EventType
from events.payloads import example
from events.validation import (
    InvalidSchema,
    builtin_payload_schema,
    compile_schema,
    payload_errors,
)

# The envelope's event_entity of an own type: singular, lowercase, like Tillhub's (`stocks-book`).
ENTITY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
MAX_DESCRIPTION_CHARACTERS = 2000
# Bytes of a schema as compact JSON: room for schemas as detailed as Tillhub's largest (the
# transaction payload, ~230 KB), small enough to compile in a few milliseconds.
MAX_SCHEMA_BYTES = 256 * 1024


class BuiltInEventTypeReadOnly(Exception):
    """Built-in event types cannot be changed or deleted."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"{key} is a built-in event type: it is read-only and the same for every account."
        )


# Left out of a change: the stored payload example is kept (and checked against the schema).
KEEP = object()


def _json_text(value: Any, field: str, limit: int) -> str:
    text = compact_json(value)
    if len(text.encode()) > limit:
        raise ValidationError({field: f"Larger than {limit} bytes as compact JSON."})
    return text


def _clean_content(
    *, entity: Any, description: Any, schema: Any, payload_example: Any
) -> dict[str, Any]:
    """The entity, description, schema and example checked together; ValidationError with a
    message per field (the example is judged only against a valid schema)."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if not isinstance(entity, str) or not ENTITY_PATTERN.match(entity):
        errors["entity"] = [
            "A singular entity name, sent as event_entity: lowercase letters, digits and "
            "hyphens, starting with a letter (at most 64), e.g. invoice."
        ]
    else:
        cleaned["entity"] = entity
    description = "" if description is None else description
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARACTERS:
        errors["description"] = [f"Text of at most {MAX_DESCRIPTION_CHARACTERS} characters."]
    else:
        cleaned["description"] = description.strip()
    validator = None
    try:
        validator = compile_schema(schema)
        cleaned["schema_json"] = _json_text(schema, "schema", MAX_SCHEMA_BYTES)
    except InvalidSchema as error:
        errors["schema"] = [str(error)]
    except ValidationError as error:
        errors.update(error.message_dict)
    if payload_example is None:
        cleaned["payload_example_json"] = ""
    elif not isinstance(payload_example, dict):
        errors["payload_example"] = ["A payload example is a JSON object."]
    else:
        try:
            cleaned["payload_example_json"] = _json_text(
                payload_example, "payload_example", settings.WEBHOOK_MAX_PAYLOAD_BYTES
            )
        except ValidationError as error:
            errors.update(error.message_dict)
        if validator is not None and "payload_example_json" in cleaned:
            problems = payload_errors(validator, payload_example)
            if problems:
                errors["payload_example"] = [
                    f"Does not meet the schema {problem}." for problem in problems
                ]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_key(*, account: Account, key: Any) -> str:
    if not isinstance(key, str) or normalized_event_key(key) is None:
        raise ValidationError({"key": f"Use the form {OWN_KEY_RULE}."})
    builtin = builtin_event_key(key)
    if builtin is not None:
        raise ValidationError(
            {"key": f"{key!r} is the built-in event type {builtin}; choose another key."}
        )
    canonical = str(normalized_event_key(key))
    if not OWN_KEY_PATTERN.match(canonical):
        raise ValidationError({"key": f"Use the form {OWN_KEY_RULE}."})
    if canonical.split(".", 1)[0] in RESERVED_ENTITIES:
        raise ValidationError({"key": f"{canonical.split('.', 1)[0]}.* keys are Hookline's own."})
    if EventType.objects.filter(account=account, key=canonical).exists():
        raise ValidationError({"key": f"Your account has an event type {canonical} already."})
    return canonical


def event_type_create(
    *,
    account: Account,
    key: Any,
    entity: Any,
    schema: Any,
    description: Any = "",
    payload_example: Any = None,
) -> EventType:
    """Create an own event type of the account; ValidationError with a message per field:
    a malformed key, one naming a built-in (aliases too) or one the account has, a bad
    entity, a schema its metaschema refuses (or referring outside itself), an example that
    fails the schema."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned["key"] = _clean_key(account=account, key=key)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        cleaned.update(
            _clean_content(
                entity=entity,
                description=description,
                schema=schema,
                payload_example=payload_example,
            )
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return EventType.objects.create(account=account, built_in=False, **cleaned)
    except IntegrityError as error:  # a concurrent create of the same key won
        raise ValidationError(
            {"key": f"Your account has an event type {cleaned['key']} already."}
        ) from error


def event_type_change(
    *,
    event_type: EventType,
    entity: Any,
    schema: Any,
    description: Any = "",
    payload_example: Any = KEEP,
) -> EventType:
    """Replace an own type's entity, description, schema and (unless KEEP) example.

    The example kept or given must meet the new schema (ValidationError otherwise, per field).
    Events already published keep their envelope (their entity was stored with them). Raises
    BuiltInEventTypeReadOnly for a built-in.
    """
    if event_type.built_in:
        raise BuiltInEventTypeReadOnly(event_type.key)
    if payload_example is KEEP:
        stored = event_type.payload_example_json
        payload_example = json.loads(stored) if stored else None
        try:
            cleaned = _clean_content(
                entity=entity,
                description=description,
                schema=schema,
                payload_example=payload_example,
            )
        except ValidationError as error:
            messages = error.message_dict
            if "payload_example" in messages:
                messages["schema"] = [
                    "The stored payload example does not meet this schema; change the "
                    "example along with it: " + " ".join(messages.pop("payload_example"))
                ]
            raise ValidationError(messages) from error
    else:
        cleaned = _clean_content(
            entity=entity, description=description, schema=schema, payload_example=payload_example
        )
    for field, value in cleaned.items():
        setattr(event_type, field, value)
    # updated_at moves on, which retires every process's cached validator of the old schema.
    event_type.save()
    return event_type


def event_type_delete(*, event_type: EventType) -> None:
    """Delete an own type. Whether a subscription still lists it is the webhooks layer's
    rule (webhooks.rules.check_event_key_unused), checked before. Events published with it
    stay (with their stored entity). Raises BuiltInEventTypeReadOnly for a built-in."""
    if event_type.built_in:
        raise BuiltInEventTypeReadOnly(event_type.key)
    event_type.delete()


# ---------------------------------------------------------------------------------------------
# Built-ins


@lru_cache(maxsize=len(BUILTIN_EVENT_TYPES))
def _builtin_row(key: str) -> dict[str, Any]:
    """A built-in's row values from the catalog and the shipped schema; computed once per
    process (the example generator is deterministic, so rows only change with a release)."""
    entry = BUILTIN_EVENT_TYPES[key]
    return {
        "entity": entry.entity,
        "description": entry.description,
        "schema_json": compact_json(builtin_payload_schema(key)),
        "payload_example_json": compact_json(example(key)),
    }


def builtin_event_types_sync() -> int:
    """Make the built-in rows (account NULL) match the shipped catalog: add new ones, refresh
    changed ones, remove withdrawn ones. Returns how many rows changed. Runs after every
    `migrate` (events.apps)."""
    changed = 0
    with transaction.atomic():
        stored = {row.key: row for row in EventType.objects.filter(account__isnull=True)}
        for key in BUILTIN_EVENT_TYPES:
            values = _builtin_row(key)
            row = stored.pop(key, None)
            if row is None:
                EventType.objects.create(key=key, built_in=True, account=None, **values)
                changed += 1
            elif any(getattr(row, field) != value for field, value in values.items()):
                EventType.objects.filter(id=row.id).update(**values, updated_at=timezone.now())
                changed += 1
        if stored:
            EventType.objects.filter(id__in=[row.id for row in stored.values()]).delete()
            changed += len(stored)
    return changed
