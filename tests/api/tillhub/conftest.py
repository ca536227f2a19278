"""Clients of the Tillhub-compatible API: logged in through /api/v0/users/login as the SDK
does, then sending `Authorization: Bearer <token>` on every call."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import Tenant

BASE = "/api/v0"


@dataclass
class TillhubClient:
    """The SDK's view of one tenant: the account id from the login and a bearer client."""

    tenant: Tenant
    acc: str
    token: str
    http: APIClient

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(f"{BASE}{path}", params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.http.post(f"{BASE}{path}", json.dumps(body), content_type="application/json")

    def post_empty(self, path: str) -> Any:
        """A POST as axios sends one without data: empty, urlencoded."""
        return self.http.post(f"{BASE}{path}", "", content_type="application/x-www-form-urlencoded")

    def put(self, path: str, body: Any) -> Any:
        return self.http.put(f"{BASE}{path}", json.dumps(body), content_type="application/json")

    def delete(self, path: str) -> Any:
        return self.http.delete(f"{BASE}{path}")


def login(tenant: Tenant, login_name: str | None = None) -> TillhubClient:
    http = APIClient()
    response = http.post(
        f"{BASE}/users/login",
        {"email": login_name or tenant.user.username, "password": "pw-123456789"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    return TillhubClient(tenant, body["user"]["id"], body["token"], http)


@pytest.fixture
def th(tenant: Tenant) -> TillhubClient:
    return login(tenant)


@pytest.fixture
def other_th(other_tenant: Tenant) -> TillhubClient:
    return login(other_tenant)


def assert_envelope(body: dict[str, Any], count: int | None = None) -> list[Any]:
    """The SDK's envelope: msg, count == len(results), results a list, cursors.after."""
    assert set(body) == {"msg", "count", "results", "cursors"}
    assert isinstance(body["msg"], str) and body["msg"]
    assert isinstance(body["results"], list)
    assert body["count"] == len(body["results"])
    assert set(body["cursors"]) == {"after"}
    if count is not None:
        assert body["count"] == count
    return body["results"]


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"msg", "errors"}
    assert isinstance(body["msg"], str) and body["msg"]
    assert isinstance(body["errors"], list)
    return body
