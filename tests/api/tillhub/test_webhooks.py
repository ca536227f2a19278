"""/api/v0/webhooks and /api/v0/supported-events in the SDK's shapes (SPEC 8)."""

from datetime import datetime
from urllib.parse import urlsplit

from django.test import override_settings

from events.catalog import EVENT_TYPES
from tests.api.tillhub.conftest import BASE, assert_envelope, assert_error
from webhooks.models import Webhook

WEBHOOK_FIELDS = {
    "id",
    "url",
    "eventList",
    "description",
    "active",
    "secret",
    "createdBy",
    "updatedBy",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "ratePerSecond",
    "burst",
    "maxInFlight",
    "connectTimeoutMs",
    "requestTimeoutMs",
}


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _create(th, **fields):
    body = {"url": "https://shop.example/hooks", "eventList": ["products.create.v0"], **fields}
    response = th.post(f"/webhooks/{th.acc}", body)
    assert response.status_code == 200, response.content
    (webhook,) = assert_envelope(response.json(), count=1)
    return webhook


def test_create_answers_200_with_the_webhook_in_camel_case(th):
    # when
    response = th.post(
        f"/webhooks/{th.acc}",
        {
            "url": "https://shop.example/hooks",
            "eventList": ["products:create:v0", "transactions.create.v0"],
            "description": "shop sync",
            "maxInFlight": 7,
            "ratePerSecond": 2.5,
        },
    )

    # then: exactly 200 (a 201 makes the SDK throw), one result, field by field
    assert response.status_code == 200
    body = response.json()
    (webhook,) = assert_envelope(body, count=1)
    assert body["cursors"] == {"after": None}
    assert set(webhook) == WEBHOOK_FIELDS
    stored = Webhook.objects.get(id=webhook["id"])
    assert webhook["url"] == "https://shop.example/hooks"
    assert webhook["eventList"] == ["products.create.v0", "transactions.create.v0"]
    assert webhook["description"] == "shop sync"
    assert webhook["active"] is True
    assert webhook["secret"] == stored.secret and len(webhook["secret"]) >= 24
    assert webhook["createdBy"] == th.acc and webhook["updatedBy"] == th.acc
    assert _iso(webhook["createdAt"]) == stored.created_at
    assert _iso(webhook["updatedAt"]) == stored.updated_at
    assert webhook["deletedAt"] is None
    assert webhook["ratePerSecond"] == 2.5
    assert webhook["burst"] is None
    assert webhook["maxInFlight"] == 7
    assert webhook["connectTimeoutMs"] == 5000
    assert webhook["requestTimeoutMs"] == 30000
    assert stored.account_id == th.tenant.account.id


def test_get_one(th):
    created = _create(th)

    response = th.get(f"/webhooks/{th.acc}/{created['id']}")

    assert response.status_code == 200
    assert assert_envelope(response.json(), count=1) == [created]


def test_list_follows_cursors_after_verbatim_across_three_pages(th):
    # given: 5 webhooks
    created = [_create(th, description=f"hook {n}")["id"] for n in range(5)]

    # when: the first page with limit 2, then each cursor as it is
    first = th.get(f"/webhooks/{th.acc}", limit=2)
    pages = [first.json()]
    while pages[-1]["cursors"]["after"]:
        after = pages[-1]["cursors"]["after"]
        assert urlsplit(after).scheme == "http" and urlsplit(after).netloc == "testserver"
        response = th.http.get(after)
        assert response.status_code == 200
        pages.append(response.json())
        assert len(pages) <= 5

    # then: 2 + 2 + 1, every webhook once, newest first
    assert [len(assert_envelope(page)) for page in pages] == [2, 2, 1]
    listed = [webhook["id"] for page in pages for webhook in page["results"]]
    assert listed == list(reversed(created))
    assert pages[-1]["cursors"]["after"] is None


def test_an_empty_list_is_an_empty_array(th):
    response = th.get(f"/webhooks/{th.acc}")

    assert response.status_code == 200
    assert response.json() == {
        "msg": response.json()["msg"],
        "count": 0,
        "results": [],
        "cursors": {"after": None},
    }


def test_put_is_partial_and_null_clears_a_limit(th):
    # given
    created = _create(th, description="keep me", maxInFlight=9, burst=5, connectTimeoutMs=900)

    # when: only two fields, one of them null; and a null timeout
    response = th.put(
        f"/webhooks/{th.acc}/{created['id']}",
        {"maxInFlight": None, "active": False, "connectTimeoutMs": None},
    )

    # then: those change, everything else is kept
    assert response.status_code == 200
    (webhook,) = assert_envelope(response.json(), count=1)
    assert webhook["maxInFlight"] is None
    assert webhook["active"] is False
    assert webhook["connectTimeoutMs"] == 5000  # back to the default
    assert webhook["burst"] == 5
    assert webhook["description"] == "keep me"
    assert webhook["eventList"] == ["products.create.v0"]
    assert webhook["secret"] == created["secret"]
    stored = Webhook.objects.get(id=created["id"])
    assert stored.max_in_flight is None and stored.active is False and stored.burst == 5


def test_put_of_the_whole_object_the_sdk_read_back(th):
    # The SDK's users often send back what they fetched, read-only fields included.
    created = _create(th)
    changed = {**created, "url": "https://shop.example/other", "eventList": ["customers:update:v0"]}

    response = th.put(f"/webhooks/{th.acc}/{created['id']}", changed)

    (webhook,) = assert_envelope(response.json(), count=1)
    assert webhook["url"] == "https://shop.example/other"
    assert webhook["eventList"] == ["customers.update.v0"]
    assert webhook["id"] == created["id"] and webhook["secret"] == created["secret"]


def test_delete_answers_200_with_msg_only(th):
    created = _create(th)

    response = th.delete(f"/webhooks/{th.acc}/{created['id']}")

    assert response.status_code == 200
    assert set(response.json()) == {"msg"}
    assert not Webhook.objects.filter(id=created["id"]).exists()
    assert_error(th.get(f"/webhooks/{th.acc}/{created['id']}"), 404)


def test_regenerate_secret_takes_an_empty_urlencoded_post(th):
    created = _create(th)

    response = th.post_empty(f"/webhooks/{th.acc}/{created['id']}/regenerate-secret")

    assert response.status_code == 200
    (result,) = assert_envelope(response.json(), count=1)
    assert set(result) == {"secret"}
    assert result["secret"] != created["secret"]
    assert Webhook.objects.get(id=created["id"]).secret == result["secret"]


def test_a_urlencoded_body_with_content_is_refused(th):
    # Only the empty form body axios sends without data is accepted: fields come as JSON.
    response = th.http.post(
        f"{BASE}/webhooks/{th.acc}",
        "url=https%3A%2F%2Fshop.example%2Fh&eventList=products.create.v0",
        content_type="application/x-www-form-urlencoded",
    )

    assert_error(response, 415)
    assert not Webhook.objects.exists()


@override_settings(WEBHOOK_DEFAULT_MAX_IN_FLIGHT=42, WEBHOOK_DEFAULT_RATE_PER_SECOND=None)
def test_defaults_are_routed_before_the_account(th):
    response = th.get("/webhooks/defaults")

    assert response.status_code == 200
    (defaults,) = assert_envelope(response.json(), count=1)
    assert defaults == {
        "ratePerSecond": None,
        "burst": None,
        "maxInFlight": 42,
        "connectTimeoutMs": 5000,
        "requestTimeoutMs": 30000,
    }


def test_supported_events_list_the_catalog_with_a_payload_example(th):
    response = th.get("/supported-events")

    assert response.status_code == 200
    results = assert_envelope(response.json(), count=len(EVENT_TYPES))
    by_key = {item["event"]: item for item in results}
    assert set(by_key) == set(EVENT_TYPES)
    assert by_key["stocks.update.v0"] | {"payloadExample": None} == {
        "event": "stocks.update.v0",
        "entity": "stocks",
        "eventType": "update",
        "version": 0,
        "payloadExample": None,
    }
    for item in results:
        assert set(item) == {"event", "entity", "eventType", "version", "payloadExample"}
        assert isinstance(item["version"], int)
        assert isinstance(item["payloadExample"], dict) and item["payloadExample"]


def test_bad_input_is_a_4xx_with_msg_and_errors(th):
    # given
    created = _create(th)
    cases = [
        ({"url": "https://shop.example/h", "eventList": ["products.explode.v9"]}, "eventList"),
        ({"url": "ftp://shop.example/h", "eventList": ["products.create.v0"]}, "url"),
        ({"url": "https://shop.example/h", "eventList": "products.create.v0"}, "eventList"),
        ({"url": "https://shop.example/h", "eventList": []}, "eventList"),
        ({"eventList": ["products.create.v0"]}, "url"),
        (
            {"url": "https://h.example", "eventList": ["products.create.v0"], "maxInFlight": "9"},
            "maxInFlight",
        ),
        ({"url": "https://h.example", "eventList": ["products.create.v0"], "burst": 1.5}, "burst"),
        ({"url": "https://h.example", "eventList": ["products.create.v0"], "burst": True}, "burst"),
        (
            {"url": "https://h.example", "eventList": ["products.create.v0"], "maxInFlight": 0},
            "maxInFlight",
        ),
        (
            {"url": "https://h.example", "eventList": ["products.create.v0"], "active": "maybe"},
            "active",
        ),
        (
            {
                "url": "https://h.example",
                "eventList": ["products.create.v0"],
                "requestTimeoutMs": 10**30,
            },
            "requestTimeoutMs",
        ),
    ]

    for body, field in cases:
        # when
        response = th.post(f"/webhooks/{th.acc}", body)
        # then
        errors = assert_error(response, 400)["errors"]
        assert field in {error["field"] for error in errors}, (body, errors)
        assert all(set(error) == {"field", "message"} and error["message"] for error in errors)
    unknown = th.put(f"/webhooks/{th.acc}/{created['id']}", {"eventList": ["nope"]})
    message = assert_error(unknown, 400)["errors"][0]["message"]
    assert "products.create.v0" in message  # the known keys are listed
    for raw in ("[1, 2]", "{not json", '"text"'):
        response = th.http.post(f"{BASE}/webhooks/{th.acc}", raw, content_type="application/json")
        assert_error(response, 400)
    assert Webhook.objects.count() == 1


def test_unknown_paths_and_methods_answer_in_the_error_shape(th):
    assert_error(th.get("/nothing/here"), 404)
    assert_error(th.get(f"/webhooks/{th.acc}/not-a-uuid"), 404)
    assert_error(th.get(f"/webhooks/{th.acc}/"), 404)
    assert_error(th.delete(f"/webhooks/{th.acc}"), 405)


def test_the_v1_openapi_document_leaves_v0_out(th):
    schema = th.tenant.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert schema.status_code == 200
    assert "/api/v0" not in schema.content.decode()
    assert "/api/v1/webhooks/" in schema.content.decode()
