"""A subscription's own request headers and its signature scheme through the API (SPEC 4):
stored (headers encrypted), validated with field-level 400s, editable, secrets of the scheme's
form generated on create, switch and regeneration."""

import base64

import pytest
from django.db import connection

from deliveries.engine.signing import standard_webhooks_key
from tests.api.conftest import EVENT, create_webhook
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"
WHSEC = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_headers_are_stored_encrypted_shown_to_the_owner_and_replaced_on_patch(api):
    # given
    body = {
        "url": "https://example.com/hook",
        "events": [EVENT],
        "headers": {"X-Api-Key": "  gw-key-123 ", "X-Tenant": "berlin"},
    }

    # when
    created = api.post(URL, body, format="json")

    # then: the values are trimmed, shown as given, and not in clear in the table
    assert created.status_code == 201, created.json()
    assert created.json()["headers"] == {"X-Api-Key": "gw-key-123", "X-Tenant": "berlin"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers FROM webhooks_webhook WHERE id = %s", [created.json()["id"]])
        (stored,) = cursor.fetchone()
    assert stored and "gw-key-123" not in stored and "X-Api-Key" not in stored

    # when the headers are replaced, then cleared
    detail = f"{URL}{created.json()['id']}/"
    replaced = api.patch(detail, {"headers": {"X-Other": "1"}}, format="json")
    kept = api.patch(detail, {"description": "d"}, format="json")
    cleared = api.patch(detail, {"headers": None}, format="json")

    # then
    assert replaced.json()["headers"] == {"X-Other": "1"}
    assert kept.json()["headers"] == {"X-Other": "1"}
    assert cleared.status_code == 200 and cleared.json()["headers"] == {}
    assert Webhook.objects.get(id=created.json()["id"]).headers == {}


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Content-Type": "text/plain"}, "Content-Type"),
        ({"user-agent": "x"}, "user-agent"),
        ({"Authorization": "Bearer x"}, "Authorization"),
        ({"Tillhub-Signature": "x"}, "Tillhub-Signature"),
        ({"Host": "example.org"}, "Host"),
        ({"Content-Length": "1"}, "Content-Length"),
        ({"Transfer-Encoding": "chunked"}, "Transfer-Encoding"),
        ({"Connection": "close"}, "Connection"),
        ({"Keep-Alive": "5"}, "Keep-Alive"),
        ({"Upgrade": "h2c"}, "Upgrade"),
        ({"TE": "trailers"}, "TE"),
        ({"Proxy-Authorization": "x"}, "Proxy-Authorization"),
        ({"webhook-signature": "v1,x"}, "webhook-signature"),
        ({"Webhook-Id": "x"}, "Webhook-Id"),
        ({"X Api": "x"}, "X Api"),
        ({"X-Api:": "x"}, "X-Api:"),
        ({"X-Ä": "x"}, "X-Ä"),
        ({"X-Line": "a\r\nInjected: yes"}, "X-Line"),
        ({"X-Long": "v" * 1001}, "X-Long"),
        ({"X-Empty": "  "}, "X-Empty"),
        ({"X-Twice": "1", "x-twice": "2"}, "x-twice"),
    ],
)
def test_a_bad_header_is_a_400_on_headers_naming_it(api, headers, named):
    body = {"url": "https://example.com/hook", "events": [EVENT], "headers": headers}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    messages = response.json()["errors"]["headers"]
    assert any(named in message for message in messages), messages
    assert not Webhook.objects.exists()


def test_more_than_twenty_headers_or_not_an_object_is_a_400(api, tenant):
    webhook = create_webhook(tenant.account)
    detail = f"{URL}{webhook.id}/"

    too_many = api.patch(detail, {"headers": {f"X-{n}": "v" for n in range(21)}}, format="json")
    a_list = api.patch(detail, {"headers": ["X-A: 1"]}, format="json")
    twenty = api.patch(detail, {"headers": {f"X-{n}": "v" for n in range(20)}}, format="json")

    assert too_many.status_code == 400 and "20" in str(too_many.json()["errors"]["headers"])
    assert a_list.status_code == 400 and "headers" in a_list.json()["errors"]
    assert twenty.status_code == 200 and len(twenty.json()["headers"]) == 20


def test_a_value_that_is_a_secret_is_not_repeated_in_the_error(api):
    body = {
        "url": "https://example.com/hook",
        "events": [EVENT],
        "headers": {"X-Api-Key": "sk_live_abc\u0007def"},
    }

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert "sk_live" not in response.content.decode()


def test_standard_webhooks_subscriptions_get_a_whsec_secret_on_create_switch_and_regenerate(
    api,
):
    # given a Standard Webhooks subscription created without a secret
    body = {"url": "https://example.com/hook", "events": [EVENT]}
    created = api.post(URL, {**body, "signature_scheme": "standard-webhooks"}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()

    # then its secret is whsec_ and the base64 of 32 random bytes
    assert data["signature_scheme"] == "standard-webhooks"
    assert len(standard_webhooks_key(data["secret"])) == 32

    # when it is regenerated, then it has that form again
    regenerated = api.post(f"{URL}{data['id']}/regenerate-secret/", {}, format="json")
    assert len(standard_webhooks_key(regenerated.json()["secret"])) == 32

    # when a Tillhub-signed one switches scheme without a secret
    tillhub = api.post(URL, body, format="json").json()
    assert tillhub["signature_scheme"] == "tillhub"
    assert not tillhub["secret"].startswith("whsec_")
    switched = api.patch(
        f"{URL}{tillhub['id']}/", {"signature_scheme": "standard-webhooks"}, format="json"
    )

    # then it gets a whsec_ secret, and the old one stops signing at once
    assert switched.status_code == 200, switched.json()
    assert len(standard_webhooks_key(switched.json()["secret"])) == 32
    webhook = Webhook.objects.get(id=tillhub["id"])
    assert webhook.previous_secret == ""

    # when it switches back, then it gets a new Tillhub secret
    back = api.patch(f"{URL}{tillhub['id']}/", {"signature_scheme": "tillhub"}, format="json")
    assert not back.json()["secret"].startswith("whsec_")


def test_a_given_whsec_secret_is_kept_and_a_malformed_one_is_a_400(api, tenant):
    body = {"url": "https://example.com/hook", "events": [EVENT]}
    scheme = {"signature_scheme": "standard-webhooks"}

    given = api.post(URL, {**body, **scheme, "secret": WHSEC}, format="json")
    not_whsec = api.post(URL, {**body, **scheme, "secret": "x" * 40}, format="json")
    too_short = "whsec_" + base64.b64encode(b"k" * 20).decode()
    short = api.post(URL, {**body, **scheme, "secret": too_short}, format="json")
    not_base64 = api.post(URL, {**body, **scheme, "secret": "whsec_" + "*" * 40}, format="json")
    bad_scheme = api.post(URL, {**body, "signature_scheme": "svix"}, format="json")

    assert given.status_code == 201 and given.json()["secret"] == WHSEC
    for response in (not_whsec, short, not_base64):
        assert response.status_code == 400, response.json()
        assert list(response.json()["errors"]) == ["secret"]
        assert "whsec_" in response.json()["errors"]["secret"][0]
    assert too_short not in short.content.decode()
    assert bad_scheme.status_code == 400
    assert list(bad_scheme.json()["errors"]) == ["signature_scheme"]

    # a secret given on update is checked against the subscription's scheme
    webhook_id = given.json()["id"]
    wrong = api.patch(f"{URL}{webhook_id}/", {"secret": "y" * 40}, format="json")
    assert wrong.status_code == 400 and "secret" in wrong.json()["errors"]
    assert Webhook.objects.get(id=webhook_id).secret == WHSEC
    # a Tillhub subscription may use a whsec_-looking secret: it is printable ASCII
    tillhub = create_webhook(tenant.account, secret=WHSEC)
    assert tillhub.signature_scheme == "tillhub" and tillhub.secret == WHSEC
