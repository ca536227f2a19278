"""/api/v0 login, bearer tokens, logout and the account in the path (SPEC 8)."""

from datetime import datetime

from rest_framework.test import APIClient

from accounts.models import User
from tests.api.conftest import create_webhook
from tests.api.tillhub.conftest import BASE, assert_envelope, assert_error, login


def test_login_answers_the_account_id_and_a_token_the_sdk_sends_as_bearer(tenant):
    # when
    response = APIClient().post(
        f"{BASE}/users/login", {"email": "acme", "password": "pw-123456789"}, format="json"
    )

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user", "features", "expires_at"}
    assert isinstance(body["token"], str) and body["token"]
    assert body["user"] == {
        "id": str(tenant.account.id),
        "legacy_id": str(tenant.account.id),
        "name": "acme",
        "scopes": [],
        "role": "owner",
    }
    assert body["features"] == {}
    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    listed = client.get(f"{BASE}/webhooks/{body['user']['id']}")
    assert listed.status_code == 200
    assert_envelope(listed.json(), count=0)


def test_login_by_email_address(tenant):
    tenant.user.email = "Owner@Acme.example"
    tenant.user.save()

    client = login(tenant, "owner@acme.example")

    assert client.acc == str(tenant.account.id)


def test_wrong_credentials_are_a_401(tenant):
    for credentials in (
        {"email": "acme", "password": "wrong"},
        {"email": "nobody", "password": "pw-123456789"},
    ):
        response = APIClient().post(f"{BASE}/users/login", credentials, format="json")
        assert_error(response, 401)
    missing = APIClient().post(f"{BASE}/users/login", {"email": "acme"}, format="json")
    body = assert_error(missing, 400)
    assert body["errors"][0]["field"] == "password"


def test_a_user_without_an_account_cannot_log_in(db):
    User.objects.create_user(username="root", password="pw-123456789")
    response = APIClient().post(
        f"{BASE}/users/login", {"email": "root", "password": "pw-123456789"}, format="json"
    )
    assert_error(response, 403)


def test_a_hookline_api_token_works_as_bearer_token_and_as_token(tenant):
    for keyword in ("Bearer", "Token"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {tenant.token}")
        response = client.get(f"{BASE}/webhooks/{tenant.account.id}")
        assert response.status_code == 200, keyword


def test_no_or_a_bad_token_is_a_401(tenant):
    assert_error(APIClient().get(f"{BASE}/webhooks/{tenant.account.id}"), 401)
    for token in ("nonsense", "eyJ1c2VyIjoxfQ:1abc:forged", "0" * 40):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert_error(client.get(f"{BASE}/webhooks/{tenant.account.id}"), 401)


def test_changing_the_password_revokes_login_tokens(th):
    th.tenant.user.set_password("a-new-password-1")
    th.tenant.user.save()

    assert_error(th.get(f"/webhooks/{th.acc}"), 401)


def test_logout_answers_200_without_a_token(db):
    # The SDK calls it with plain axios, without its Authorization header.
    response = APIClient().get(f"{BASE}/users/logout")

    assert response.status_code == 200
    assert set(response.json()) == {"msg"}


def test_another_accounts_id_in_the_path_is_a_403_without_data(th, other_tenant):
    # given: the other account has a webhook with events
    foreign = create_webhook(other_tenant.account)
    other = str(other_tenant.account.id)

    # then: no route under its id answers data
    for response in (
        th.get(f"/webhooks/{other}"),
        th.post(
            f"/webhooks/{other}",
            {"url": "https://example.com/x", "eventList": ["products.create.v0"]},
        ),
        th.get(f"/webhooks/{other}/{foreign.id}"),
        th.put(f"/webhooks/{other}/{foreign.id}", {"active": False}),
        th.delete(f"/webhooks/{other}/{foreign.id}"),
        th.post_empty(f"/webhooks/{other}/{foreign.id}/regenerate-secret"),
        th.get(f"/events/{other}/{foreign.id}"),
        th.get(f"/events/{other}/{foreign.id}/meta"),
        th.post_empty(f"/events/{other}/{foreign.id}/replay"),
        th.post(f"/events/{other}/{foreign.id}/test", {"events": ["products.create.v0"]}),
        th.get("/webhooks/not-an-account"),
    ):
        body = assert_error(response, 403)
        assert "results" not in body
    foreign.refresh_from_db()
    assert foreign.active is True


def test_another_accounts_webhook_under_ones_own_id_is_a_404(th, other_tenant):
    foreign = create_webhook(other_tenant.account)

    for response in (
        th.get(f"/webhooks/{th.acc}/{foreign.id}"),
        th.put(f"/webhooks/{th.acc}/{foreign.id}", {"active": False}),
        th.delete(f"/webhooks/{th.acc}/{foreign.id}"),
        th.post_empty(f"/webhooks/{th.acc}/{foreign.id}/regenerate-secret"),
        th.get(f"/events/{th.acc}/{foreign.id}"),
        th.post_empty(f"/events/{th.acc}/{foreign.id}/replay"),
    ):
        assert_error(response, 404)
    foreign.refresh_from_db()
    assert foreign.active is True
