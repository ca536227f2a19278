"""Publishing's validators (events/validation.py): the shipped Tillhub schemas, the payload part
of each, and the generated payloads meeting them. Pure Python, no database."""

from pathlib import Path

import pytest

from events.catalog import BUILTIN_EVENT_TYPES, KNOWN_EVENT_KEYS
from events.payloads import PayloadGenerator
from events.validation import (
    SCHEMA_FOLDER,
    InvalidSchema,
    builtin_payload_schema,
    builtin_validator,
    compile_schema,
    json_pointer,
    payload_errors,
)

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "tillhub" / "schemas"


def test_every_builtin_has_a_shipped_schema_and_the_notice_is_beside_them():
    for entry in BUILTIN_EVENT_TYPES.values():
        assert (SCHEMA_FOLDER / entry.schema_file).is_file()
    notice = (SCHEMA_FOLDER / "tillhub" / "NOTICE").read_text()
    assert "Apache License" in notice and "LICENSE-2.0" in notice and "tillhub/schemas" in notice


def test_the_shipped_schemas_are_unmodified_copies_of_the_published_ones():
    if not UPSTREAM.is_dir():
        pytest.skip(f"the published schemas are not at {UPSTREAM}")
    for shipped in (SCHEMA_FOLDER / "tillhub").glob("*.json"):
        assert shipped.read_bytes() == (UPSTREAM / shipped.name).read_bytes()


@pytest.mark.parametrize("key", KNOWN_EVENT_KEYS)
def test_generated_payloads_meet_the_payload_part_publishing_validates(key):
    # given
    generator = PayloadGenerator(seed=21)
    for bootstrap in ("products.create.v0", "customers.create.v0"):
        for _ in range(5):
            generator.payload(bootstrap)

    # when
    failures = [
        str(problem)
        for _ in range(40)
        for problem in payload_errors(builtin_validator(key), generator.payload(key))
    ]

    # then
    assert failures == []


def test_the_product_schema_is_the_repaired_property_map():
    schema = builtin_payload_schema("products.update.v0")

    assert schema["additionalProperties"] is False
    assert {"id", "name", "prices", "created_at"} <= set(schema["properties"])
    assert "response" not in schema["properties"]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_errors_carry_an_rfc6901_pointer_and_the_rule():
    validator = compile_schema(
        {"type": "object", "properties": {"a/b": {"type": "array", "items": {"type": "string"}}}}
    )

    (problem,) = payload_errors(validator, {"a/b": ["ok", 7]})

    assert (problem.pointer, problem.rule) == ("/a~1b/1", "type")
    assert json_pointer(["m~n"]) == "/m~0n"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": 12},
        {"$schema": "http://json-schema.org/draft-07/schema#", "required": "id"},
        {"properties": {"x": {"$ref": "other.json#/x"}}},
        True,
    ],
)
def test_invalid_schemas_are_refused(schema):
    with pytest.raises(InvalidSchema):
        compile_schema(schema)


def test_a_dangling_local_reference_is_reported_not_raised():
    validator = compile_schema({"$ref": "#/$defs/missing"})

    (problem,) = payload_errors(validator, {})

    assert problem.rule == "$ref"
