"""No input yields a 5xx (SPEC 5): arbitrary text in every query parameter, body field, header
parameter and path parameter of every API operation, and in every form field and path parameter
of every dashboard page (signed in, with CSRF enforced).

The operations and their parameters come from the OpenAPI document (so a new endpoint or field
is covered without touching this file); the dashboard's pages from its URL conf and its fields
from its forms. Each case starts from a request that would succeed and puts the text into one
place, so the text reaches the code that parses it rather than stopping at a missing field.

Two layers: fixed cases with the digits Python reads differently from a person (`²`, `①`,
Arabic-Indic and other Unicode decimal digits), in every place; then hypothesis with arbitrary
text, bounded (MAX_EXAMPLES per place, no deadline) so the module runs in well under a minute.
"""

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import forms as dashboard_forms
from dashboard.urls import urlpatterns as dashboard_urlpatterns
from deliveries.models import Delivery
from tests.api.conftest import EVENT, Tenant, add_attempt, create_webhook, publish

pytestmark = pytest.mark.django_db

# Arbitrary-text cases per place; API_FUZZ_EXAMPLES raises it for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
# Text that looks like a number to str.isdigit() or int() but is not ASCII digits: each must be
# refused with a 4xx (or ignored where the place takes any text), never a 500.
UNICODE_DIGITS = [
    "²",  # superscript two: isdigit() is true, int() fails
    "①",  # circled one: the same
    "٣",  # Arabic-Indic three: int() reads 3
    "۱۲",  # Extended Arabic-Indic twelve
    "१",  # Devanagari one
    "\uff11\uff10",  # fullwidth ten
    "1²",
    "5\u0663",
]
PUBLISHED_EVENT = "products.create.v0"
SERVER_ERROR = 500


def _closed_local_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: pre-flight and test sends fail at once and
    no traffic leaves the machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


# --- the API, from its OpenAPI document ---------------------------------------------------------


@dataclass(frozen=True)
class ApiPlace:
    """One place of one operation where text can go."""

    method: str
    path: str  # the template, e.g. /api/v1/webhooks/{webhook_id}/
    where: str  # query, body, header or path
    name: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _request_properties(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return sorted(schema.get("properties", {}))


def _api_places() -> list[ApiPlace]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    places = []
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter.get("response"):
                    continue  # a response header, documented with the operation
                places.append(ApiPlace(method.upper(), path, parameter["in"], parameter["name"]))
            for name in _request_properties(document, operation):
                places.append(ApiPlace(method.upper(), path, "body", name))
    return places


API_PLACES = _api_places()

# A body each operation accepts, so a case differs from a success in one field only.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/webhooks/"): {"url": "<url>", "events": [EVENT]},
    ("PUT", "/api/v1/webhooks/{webhook_id}/"): {"url": "<url>", "events": [EVENT]},
    ("PATCH", "/api/v1/webhooks/{webhook_id}/"): {"description": "fuzzed"},
    ("POST", "/api/v1/webhooks/{webhook_id}/test/"): {"events": [EVENT]},
    ("POST", "/api/v1/webhooks/{webhook_id}/resend/"): {"all": True},
    ("POST", "/api/v1/webhooks/{webhook_id}/regenerate-secret/"): {"grace_seconds": 0},
    ("POST", "/api/v1/events/"): {"event": PUBLISHED_EVENT},
}


@dataclass
class ApiWorld:
    tenant: Tenant
    ids: dict[str, str]
    url: str


@pytest.fixture
def api_world(tenant: Tenant) -> ApiWorld:
    url = _closed_local_url()
    webhook = create_webhook(tenant.account, url=url)
    event = publish(tenant.account)
    delivery = Delivery.objects.get(event=event)
    add_attempt(delivery)
    ids = {
        "webhook_id": str(webhook.id),
        "event_id": str(event.id),
        "delivery_id": str(delivery.id),
    }
    return ApiWorld(tenant, ids, url)


def _api_request(world: ApiWorld, place: ApiPlace, text: str) -> int:
    """Send the operation with `text` in `place` (everything else valid); the status code."""
    path = place.path
    for name, value in world.ids.items():
        replacement = (
            quote(text, safe="") if place.where == "path" and name == place.name else value
        )
        path = path.replace("{" + name + "}", replacement)
    query = {place.name: text} if place.where == "query" else {}
    headers = {}
    if place.where == "header":
        headers[f"HTTP_{place.name.upper().replace('-', '_')}"] = text
    body = dict(VALID_BODIES.get((place.method, place.path), {}))
    body = {name: world.url if value == "<url>" else value for name, value in body.items()}
    if place.where == "body":
        body[place.name] = text
    if query:
        path = f"{path}?{urlencode(query)}"
    client = world.tenant.client
    send = getattr(client, place.method.lower())
    if place.method in ("POST", "PUT", "PATCH"):
        response = send(path, data=json.dumps(body), content_type="application/json", **headers)
    else:
        response = send(path, **headers)
    return response.status_code


def test_every_operation_and_place_is_covered() -> None:
    operations = {(place.method, place.path) for place in API_PLACES}
    # every list paginates, every {id} is a place, every body field is one
    assert ("GET", "/api/v1/webhooks/{webhook_id}/deliveries/") in operations
    assert ApiPlace("GET", "/api/v1/events/", "query", "limit") in API_PLACES
    assert ApiPlace("GET", "/api/v1/events/", "query", "offset") in API_PLACES
    assert ApiPlace("POST", "/api/v1/deliveries/{delivery_id}/resend/", "path", "delivery_id") in (
        API_PLACES
    )
    assert ApiPlace("POST", "/api/v1/webhooks/{webhook_id}/resend/", "body", "delivery_ids") in (
        API_PLACES
    )
    assert ApiPlace("POST", "/api/v1/events/", "header", "Idempotency-Key") in API_PLACES


@pytest.mark.parametrize("place", API_PLACES, ids=str)
def test_api_answers_unicode_digits_without_a_server_error(
    api_world: ApiWorld, place: ApiPlace
) -> None:
    for text in UNICODE_DIGITS:
        status = _api_request(api_world, place, text)
        assert status < SERVER_ERROR, f"{place} = {text!r}: {status}"


@pytest.mark.parametrize("place", API_PLACES, ids=str)
def test_api_answers_arbitrary_text_without_a_server_error(
    api_world: ApiWorld, place: ApiPlace
) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=st.text(max_size=40))
    def check(text: str) -> None:
        status = _api_request(api_world, place, text)
        assert status < SERVER_ERROR, f"{place} = {text!r}: {status}"

    check()


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/",
        "/api/v1/events/",
        "/api/v1/event-types/",
        "/api/v1/webhooks/{webhook_id}/deliveries/",
    ],
)
@pytest.mark.parametrize("text", ["²", "①", "٣", "\u0661\u0660"])
def test_pagination_refuses_non_ascii_digits_with_a_field_message(
    api_world: ApiWorld, path: str, name: str, text: str
) -> None:
    # given
    url = path.replace("{webhook_id}", api_world.ids["webhook_id"])

    # when
    response = api_world.tenant.client.get(url, {name: text})

    # then: a 400 naming the field, even where int() would have read a number
    assert response.status_code == 400
    assert "ASCII digits" in response.json()["errors"][name][0]


def test_metrics_window_refuses_unicode_digits(api_world: ApiWorld) -> None:
    webhook_id = api_world.ids["webhook_id"]

    response = api_world.tenant.client.get(
        f"/api/v1/webhooks/{webhook_id}/metrics/", {"window": "٢٤h"}
    )

    assert response.status_code == 400
    assert "window" in response.json()["errors"]


def test_webhook_numbers_given_as_strings_must_be_ascii(api_world: ApiWorld) -> None:
    webhook_id = api_world.ids["webhook_id"]
    client = api_world.tenant.client

    refused = client.patch(
        f"/api/v1/webhooks/{webhook_id}/",
        {"burst": "٣", "rate_per_second": "\u0663.\u0665"},
        format="json",
    )
    accepted = client.patch(
        f"/api/v1/webhooks/{webhook_id}/", {"burst": "3", "rate_per_second": "3.5"}, format="json"
    )

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"burst", "rate_per_second"}
    assert accepted.status_code == 200
    assert (accepted.json()["burst"], accepted.json()["rate_per_second"]) == (3, 3.5)


# --- the dashboard, from its URL conf and forms --------------------------------------------------


def _dashboard_routes() -> list[str]:
    routes = []
    for pattern in dashboard_urlpatterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver)
        routes.append(str(pattern.pattern))
    return routes


def _form_field_names() -> list[str]:
    names = {"delivery_ids", "page", "next", "clear_password"}
    for form_class in (
        dashboard_forms.WebhookForm,
        dashboard_forms.TestEventsForm,
        dashboard_forms.PreflightForm,
        dashboard_forms.RegenerateSecretForm,
        dashboard_forms.HistoryFilterForm,
        dashboard_forms.MetricsWindowForm,
    ):
        names.update(form_class.base_fields)
    return sorted(names)


DASHBOARD_ROUTES = _dashboard_routes()
FORM_FIELDS = _form_field_names()


@dataclass
class DashboardWorld:
    client: Client
    ids: dict[str, str]
    url: str
    csrf_token: str = field(default="")


@pytest.fixture
def dashboard_world(tenant: Tenant) -> Iterator[DashboardWorld]:
    url = _closed_local_url()
    webhook = create_webhook(tenant.account, url=url)
    event = publish(tenant.account)
    delivery = Delivery.objects.get(event=event)
    add_attempt(delivery)
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.user)
    client.get("/")
    world = DashboardWorld(
        client,
        {"webhook_id": str(webhook.id), "delivery_id": str(delivery.id)},
        url,
        client.cookies["csrftoken"].value,
    )
    yield world


def _dashboard_path(world: DashboardWorld, route: str, path_text: str | None) -> str:
    path = "/" + route
    for converter in ("<uuid:webhook_id>", "<int:delivery_id>"):
        name = converter.split(":")[1].rstrip(">")
        value = quote(path_text, safe="") if path_text is not None else world.ids[name]
        path = path.replace(converter, value)
    return path


def _dashboard_request(
    world: DashboardWorld, route: str, method: str, fields: dict[str, str], path_text: str | None
) -> int:
    """GET (fields in the query string) or POST (fields in the form, with the CSRF token) the
    page; the status code."""
    path = _dashboard_path(world, route, path_text)
    if method == "GET":
        return world.client.get(path, fields).status_code
    base = {"url": world.url, "events": [EVENT], "csrfmiddlewaretoken": world.csrf_token}
    return world.client.post(path, {**base, **fields}).status_code


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", DASHBOARD_ROUTES)
def test_dashboard_answers_unicode_digits_without_a_server_error(
    dashboard_world: DashboardWorld, route: str, method: str
) -> None:
    for text in UNICODE_DIGITS:
        # every field at once: each form parses all of its fields, whatever the others hold
        fields = dict.fromkeys(FORM_FIELDS, text)
        status = _dashboard_request(dashboard_world, route, method, fields, None)
        assert status < SERVER_ERROR, f"{method} /{route} every field = {text!r}: {status}"
        if "<" in route:
            status = _dashboard_request(dashboard_world, route, method, {}, text)
            assert status < SERVER_ERROR, f"{method} /{route} path={text!r}: {status}"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", DASHBOARD_ROUTES)
def test_dashboard_answers_arbitrary_text_without_a_server_error(
    dashboard_world: DashboardWorld, route: str, method: str
) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        fields=st.dictionaries(st.sampled_from(FORM_FIELDS), st.text(max_size=40), max_size=4),
        path_text=st.none() | st.text(max_size=40),
    )
    def check(fields: dict[str, str], path_text: str | None) -> None:
        status = _dashboard_request(dashboard_world, route, method, fields, path_text)
        assert status < SERVER_ERROR, f"{method} /{route} {fields!r} path={path_text!r}"

    check()


def test_resend_selected_refuses_a_delivery_id_that_is_not_ascii_digits(
    dashboard_world: DashboardWorld,
) -> None:
    # given
    path = f"/webhooks/{dashboard_world.ids['webhook_id']}/resend/"
    delivery_id = dashboard_world.ids["delivery_id"]
    form = {"csrfmiddlewaretoken": dashboard_world.csrf_token}

    # when
    superscript = dashboard_world.client.post(path, {**form, "delivery_ids": [delivery_id, "²"]})
    arabic = dashboard_world.client.post(path, {**form, "delivery_ids": "\u0661"})
    ascii_ids = dashboard_world.client.post(
        path, {**form, "delivery_ids": [delivery_id], "confirmed": "yes"}
    )

    # then
    assert superscript.status_code == 400
    assert arabic.status_code == 400
    assert b"delivery_ids" in superscript.content
    assert ascii_ids.status_code == 302


def test_webhook_form_refuses_unicode_digits_with_field_errors(
    dashboard_world: DashboardWorld,
) -> None:
    # given
    path = f"/webhooks/{dashboard_world.ids['webhook_id']}/edit/"
    form = {
        "csrfmiddlewaretoken": dashboard_world.csrf_token,
        "url": dashboard_world.url,
        "events": [EVENT],
        "burst": "٣",
        "rate_per_second": "٣",
    }

    # when
    response = dashboard_world.client.post(path, form)

    # then: the form again, with a message on each field
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "ASCII digits" in errors["burst"][0]
    assert "ASCII digits" in errors["rate_per_second"][0]
