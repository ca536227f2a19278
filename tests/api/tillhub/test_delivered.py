"""Test events and replays through /api/v0 reach a real receiver, signed, through a real
Celery worker and scheduler on the test database (the delivery path of /api/v1)."""

import json

import pytest

from deliveries.engine.signing import verify_signature
from deliveries.models import Delivery
from tests.api.tillhub.conftest import assert_envelope
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _signed_by(request, secret: str) -> bool:
    return verify_signature(
        request.headers["Tillhub-Signature"],
        request.body,
        [secret],
        now_ms=int(request.received_at * 1000),
        tolerance_seconds=300,
    )


def test_test_events_and_a_replay_are_delivered_with_valid_signatures(stack, th, receiver):
    # given: a webhook created through /api/v0, pointed at a local receiver
    created = th.post(
        f"/webhooks/{th.acc}", {"url": receiver.url(), "eventList": ["customers.create.v0"]}
    )
    (webhook,) = assert_envelope(created.json(), count=1)
    events = f"/events/{th.acc}/{webhook['id']}"

    # when: two test events
    sent = th.post(f"{events}/test", {"events": ["products.create.v0", "customers:update:v0"]})

    # then: both arrive, signed with the webhook's secret, with the envelope /api/v0 shows
    items = assert_envelope(sent.json(), count=2)
    requests = receiver.wait_for_requests(2)
    bodies = {json.loads(request.body)["event_id"]: request for request in requests}
    assert set(bodies) == {item["id"] for item in items}
    for item in items:
        request = bodies[item["id"]]
        assert _signed_by(request, webhook["secret"])
        assert json.loads(request.body) == item["requestPayload"]
    wait_until(
        lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 2, timeout=20
    )
    listed = th.get(events, returnRetries="true").json()["results"]
    assert all(item["sentSuccessfully"] is True for item in listed)
    assert all(item["lastResponseType"] == "success" for item in listed)
    assert all(len(item["children"]) == 1 for item in listed)

    # when: a new secret, then one event replayed by its id
    secret = th.post_empty(f"/webhooks/{th.acc}/{webhook['id']}/regenerate-secret")
    (new_secret,) = assert_envelope(secret.json(), count=1)
    replayed_id = items[0]["id"]
    replay = th.post(f"{events}/replay", {"eventId": [replayed_id]})

    # then: the same event id and body again, signed with the new secret
    assert assert_envelope(replay.json(), count=1) == [{"count": 1, "paused": 0}]
    third = receiver.wait_for_requests(3)[2]
    assert json.loads(third.body)["event_id"] == replayed_id
    assert third.body == bodies[replayed_id].body
    assert _signed_by(third, new_secret["secret"])
    assert not _signed_by(third, webhook["secret"])
    detail = wait_until(
        lambda: (lambda item: item if item["triesCount"] == 2 else None)(
            th.get(f"{events}/{replayed_id}").json()["results"][0]
        ),
        timeout=20,
    )
    assert [child["sentSuccessfully"] for child in detail["children"]] == [True, True]
