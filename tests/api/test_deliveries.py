"""Delivery history, delivery detail with attempts, single and bulk resend, and metrics."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deliveries.models import Delivery
from events.catalog import event_type
from events.envelope import render_envelope
from tests.api.conftest import add_attempt, create_webhook, publish

pytestmark = pytest.mark.django_db


def history_url(webhook):
    return f"/api/v1/webhooks/{webhook.id}/deliveries/"


def set_states(*pairs):
    for delivery, state in pairs:
        Delivery.objects.filter(id=delivery.id).update(state=state, next_attempt_at=None)


@pytest.fixture
def webhook(tenant):
    return create_webhook(tenant.account, events=["products.update.v0", "customers.create.v0"])


def test_history_lists_deliveries_newest_first_with_their_fields(api, tenant, webhook):
    # given
    first = publish(tenant.account)
    second = publish(tenant.account, key="customers.create.v0")

    # when
    response = api.get(history_url(webhook))

    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["event_id"] for row in rows] == [str(second.id), str(first.id)]
    row = rows[0]
    assert row["event"] == "customers.create.v0"
    assert row["state"] == "pending"
    assert row["attempt_count"] == 0
    assert row["webhook_id"] == str(webhook.id)
    for field in (
        "id",
        "next_attempt_at",
        "last_status_code",
        "last_error_kind",
        "last_duration_ms",
        "created_at",
        "succeeded_at",
    ):
        assert field in row


def test_history_filters_by_status_event_and_time(api, tenant, webhook):
    # given
    succeeded = Delivery.objects.get(event=publish(tenant.account))
    failed = Delivery.objects.get(event=publish(tenant.account, key="customers.create.v0"))
    set_states((succeeded, "succeeded"), (failed, "failed"))
    old = Delivery.objects.get(event=publish(tenant.account))
    Delivery.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()

    def ids(**query):
        response = api.get(history_url(webhook), query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    # when / then
    assert ids(status="succeeded") == {succeeded.id}
    assert ids(status="failure") == {failed.id}
    assert ids(event="customer.create.v0") == {failed.id}
    assert ids(since=yesterday) == {succeeded.id, failed.id}
    assert ids(until=yesterday) == {old.id}
    assert ids(status="pending", until=yesterday) == {old.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"event": "orders.create.v0"}, "event"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45T00:00:00Z"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"limit": "many"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": str(10**30)}, "offset"),
    ],
)
def test_history_refuses_bad_query_parameters(api, webhook, query, field):
    # when
    response = api.get(history_url(webhook), query)

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_delivery_detail_shows_every_attempt_and_the_exact_body(api, tenant, webhook):
    # given: a failed attempt then a success
    event = publish(tenant.account, payload={"name": "Kaffee", "metadata": {"price": 3.5}})
    delivery = Delivery.objects.get(event=event)
    now = timezone.now()
    add_attempt(
        delivery,
        started_at=now - timedelta(seconds=30),
        outcome="retry",
        status=503,
        error_kind="http_status",
        error_message="503 Service Unavailable",
        request_headers={"Authorization": "Basic [redacted]", "Tillhub-Signature": "t=1,v1=x"},
        response_headers={"Retry-After": "5"},
        response_body="busy",
        redirect_hops=[{"url": "https://example.com/old", "status": 307}],
    )
    add_attempt(delivery, started_at=now, duration_ms=42.0)

    # when
    response = api.get(f"/api/v1/deliveries/{delivery.id}/")

    # then
    assert response.status_code == 200
    data = response.json()
    entry = event_type(event.key)
    expected_body = render_envelope(
        webhook_id=str(webhook.id),
        event_id=str(event.id),
        event_entity=entry.entity,
        event_type=entry.action,
        event_version=entry.version,
        entity_instance_id=str(event.entity_instance_id),
        timestamp=event.created_at,
        payload_json=event.payload_json,
    ).decode()
    assert data["request_body"] == expected_body
    assert json.loads(expected_body)["payload"]["metadata"]["price"] == 3.5
    first, second = data["attempts"]
    assert first["number"] == 1 and second["number"] == 2
    assert first["request_body"] == expected_body
    assert first["request_headers"]["Authorization"] == "Basic [redacted]"
    assert first["response_status"] == 503
    assert first["response_headers"] == {"Retry-After": "5"}
    assert first["response_body"] == "busy"
    assert first["error_kind"] == "http_status"
    assert first["error_message"] == "503 Service Unavailable"
    assert first["redirect_hops"] == [{"url": "https://example.com/old", "status": 307}]
    assert first["outcome"] == "retry"
    assert first["trigger"] == "automatic"
    assert second["duration_ms"] == 42.0


def test_resend_one_delivery_queues_a_manual_attempt(api, tenant, webhook):
    # given
    delivery = Delivery.objects.get(event=publish(tenant.account))
    set_states((delivery, "gave_up"))

    # when
    response = api.post(f"/api/v1/deliveries/{delivery.id}/resend/")

    # then
    assert response.status_code == 202
    assert response.json() == {"queued": 1, "paused": 0}
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert delivery.next_trigger == "manual"
    assert delivery.next_attempt_at is not None


def test_bulk_resend_by_ids_ignores_ids_of_other_subscriptions(api, tenant, webhook):
    # given: deliveries of this subscription and of another one of the same account
    other = create_webhook(tenant.account, events=["products.update.v0"])
    publish(tenant.account)
    publish(tenant.account)
    mine = list(Delivery.objects.filter(webhook=webhook).order_by("id"))
    theirs = Delivery.objects.get(webhook=other, event=mine[0].event)
    set_states(*[(delivery, "gave_up") for delivery in [*mine, theirs]])

    # when
    response = api.post(
        f"/api/v1/webhooks/{webhook.id}/resend/",
        {"delivery_ids": [mine[0].id, theirs.id, 999_999_999]},
        format="json",
    )

    # then
    assert response.status_code == 202
    assert response.json() == {"queued": 1, "paused": 0}
    states = dict(Delivery.objects.values_list("id", "state"))
    assert states[mine[0].id] == "pending"
    assert states[mine[1].id] == "gave_up"
    assert states[theirs.id] == "gave_up"
    assert Delivery.objects.get(id=mine[0].id).next_trigger == "manual"


def test_bulk_resend_all_matching_a_filter_is_one_update(api, tenant, webhook):
    # given: failures of two keys and a success
    failed_products = [Delivery.objects.get(event=publish(tenant.account)) for _ in range(3)]
    failed_customer = Delivery.objects.get(event=publish(tenant.account, key="customers.create.v0"))
    succeeded = Delivery.objects.get(event=publish(tenant.account))
    set_states(
        *[(delivery, "failed") for delivery in failed_products],
        (failed_customer, "expired"),
        (succeeded, "succeeded"),
    )

    # when
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            f"/api/v1/webhooks/{webhook.id}/resend/",
            {"all": True, "status": "failure", "event": "products.update.v0"},
            format="json",
        )

    # then: the three product failures queued as manual, in a single UPDATE, none loaded
    assert response.status_code == 202
    assert response.json() == {"queued": 3, "paused": 0}
    for delivery in failed_products:
        delivery.refresh_from_db()
        assert (delivery.state, delivery.next_trigger) == ("pending", "manual")
    assert Delivery.objects.get(id=failed_customer.id).state == "expired"
    assert Delivery.objects.get(id=succeeded.id).state == "succeeded"
    delivery_sql = [q["sql"] for q in queries.captured_queries if "deliveries_delivery" in q["sql"]]
    assert len(delivery_sql) == 1
    assert delivery_sql[0].startswith("UPDATE")


def test_bulk_resend_all_without_filters_takes_everything_of_the_subscription(api, tenant, webhook):
    # given
    publish(tenant.account)
    publish(tenant.account, key="customers.create.v0")
    other = create_webhook(tenant.account)
    Delivery.objects.update(state="gave_up")

    # when
    response = api.post(f"/api/v1/webhooks/{webhook.id}/resend/", {"all": True}, format="json")

    # then
    assert response.json() == {"queued": 2, "paused": 0}
    assert not Delivery.objects.filter(webhook=other).exclude(state="gave_up").exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all": False},
        {"delivery_ids": []},
        {"delivery_ids": [1], "all": True},
        {"delivery_ids": ["x"]},
        {"delivery_ids": [2**70]},
        {"all": True, "status": "nope"},
        {"all": True, "since": "not a date"},
    ],
)
def test_bulk_resend_refuses_bad_bodies(api, webhook, body):
    # when
    response = api.post(f"/api/v1/webhooks/{webhook.id}/resend/", body, format="json")

    # then
    assert response.status_code == 400
    assert response.json()["errors"]


def test_metrics_match_hand_computed_values(api, tenant, webhook):
    # given: within the last hour, 3 deliveries with these attempts
    #   A: 500 (120 ms) -> 200 (80 ms)
    #   B: timeout (no response, 5000 ms) -> timeout (5000 ms) -> 200 (40 ms)
    #   C: an old 500 outside the window (must not count) -> 200 (60 ms)
    now = timezone.now()
    a, b, c = (Delivery.objects.get(event=publish(tenant.account)) for _ in range(3))
    add_attempt(a, started_at=now - timedelta(minutes=50), duration_ms=120, outcome="retry",
                status=500, error_kind="http_status")  # fmt: skip
    add_attempt(a, started_at=now - timedelta(minutes=40), duration_ms=80)
    add_attempt(b, started_at=now - timedelta(minutes=30), duration_ms=5000, outcome="retry",
                status=None, error_kind="timeout")  # fmt: skip
    add_attempt(b, started_at=now - timedelta(minutes=20), duration_ms=5000, outcome="retry",
                status=None, error_kind="timeout")  # fmt: skip
    add_attempt(b, started_at=now - timedelta(minutes=10), duration_ms=40)
    add_attempt(c, started_at=now - timedelta(hours=3), duration_ms=9999, outcome="retry",
                status=500, error_kind="http_status")  # fmt: skip
    add_attempt(c, started_at=now - timedelta(minutes=5), duration_ms=60)

    # when
    response = api.get(f"/api/v1/webhooks/{webhook.id}/metrics/", {"window": "1h"})

    # then
    assert response.status_code == 200, response.json()
    metrics = response.json()
    assert metrics["window_seconds"] == 3600
    # per delivery (SPEC 3): all three ended in a success
    assert metrics["deliveries"] == 3
    assert metrics["success_rate"] == 1.0
    assert metrics["error_rate"] == 0.0
    # per attempt, beside them: 6 in the window, 3 successes
    assert (metrics["attempts"], metrics["succeeded"], metrics["failed"]) == (6, 3, 3)
    assert metrics["attempt_success_rate"] == 0.5
    assert metrics["attempt_error_rate"] == 0.5
    # successful attempts only: 80, 40, 60 -> average 60; nearest-rank p95 of 3 = the 3rd = 80
    assert metrics["average_response_ms"] == 60.0
    assert metrics["p95_response_ms"] == 80.0
    # attempts per delivery 2, 3, 2 -> mean of attempts - 1 = 4/3
    assert metrics["retries_per_event"] == 1.333
    # failure patterns of the window's error attempts
    assert metrics["failures_by_kind"] == {"timeout": 2, "http_status": 1}
    assert metrics["failures_by_status"] == {"500": 1}
    # minute buckets for a 1 h window, each with its attempts
    assert metrics["bucket_seconds"] == 60
    assert sum(bucket["succeeded"] for bucket in metrics["volume"]) == 3
    assert sum(bucket["failed"] for bucket in metrics["volume"]) == 3
    assert len(metrics["volume"]) == 6


def test_rates_count_deliveries_not_attempts(api, tenant, webhook):
    # given: 4 deliveries; one succeeded on its 2nd attempt, three failed twice each (8
    # attempts, 1 success: 12.5 % of attempts, but 1 of 4 deliveries)
    now = timezone.now()
    deliveries = [Delivery.objects.get(event=publish(tenant.account)) for _ in range(4)]
    for index, delivery in enumerate(deliveries):
        add_attempt(delivery, started_at=now - timedelta(minutes=30), outcome="retry",
                    status=503, error_kind="http_status")  # fmt: skip
        if index == 0:
            add_attempt(delivery, started_at=now - timedelta(minutes=20), duration_ms=50)
        else:
            add_attempt(delivery, started_at=now - timedelta(minutes=20), outcome="retry",
                        status=None, error_kind="connection_refused")  # fmt: skip

    # when
    metrics = api.get(f"/api/v1/webhooks/{webhook.id}/metrics/", {"window": "1h"}).json()

    # then
    assert metrics["success_rate"] == 0.25
    assert metrics["error_rate"] == 0.75
    assert metrics["attempt_success_rate"] == 0.125
    assert metrics["average_response_ms"] == 50.0
    assert metrics["failures_by_kind"] == {"http_status": 4, "connection_refused": 3}
    assert metrics["failures_by_status"] == {"503": 4}


def test_deliveries_carry_the_seeds_sent_successfully_and_last_response_type(api, tenant, webhook):
    # given: one never attempted, one whose last attempt errored, one that succeeded
    never, errored, succeeded = (
        Delivery.objects.get(event=publish(tenant.account)) for _ in range(3)
    )
    add_attempt(errored, outcome="retry", status=500, error_kind="http_status")
    add_attempt(succeeded, outcome="retry", status=None, error_kind="timeout")
    add_attempt(succeeded, status=200)

    # when
    rows = {row["id"]: row for row in api.get(history_url(webhook)).json()["results"]}

    # then
    assert (rows[never.id]["sent_successfully"], rows[never.id]["last_response_type"]) == (
        None,
        None,
    )
    assert (rows[errored.id]["sent_successfully"], rows[errored.id]["last_response_type"]) == (
        False,
        "error",
    )
    assert (
        rows[succeeded.id]["sent_successfully"],
        rows[succeeded.id]["last_response_type"],
    ) == (True, "success")


def test_metrics_without_attempts_are_empty_not_errors(api, webhook):
    # when
    response = api.get(f"/api/v1/webhooks/{webhook.id}/metrics/")

    # then: the default window is 24 h
    assert response.status_code == 200
    metrics = response.json()
    assert metrics["window_seconds"] == 86400
    assert metrics["attempts"] == 0
    assert metrics["success_rate"] is None
    assert metrics["p95_response_ms"] is None
    assert metrics["volume"] == []


def test_metrics_show_an_average_response_time_of_zero_as_zero_not_null(api, tenant, webhook):
    # given: answers faster than the clock resolution, recorded as 0 ms
    for _ in range(2):
        add_attempt(Delivery.objects.get(event=publish(tenant.account)), duration_ms=0.0)

    # when
    response = api.get(f"/api/v1/webhooks/{webhook.id}/metrics/", {"window": "1h"})

    # then: 0 is a measurement; null would say "no responses"
    metrics = response.json()
    assert metrics["attempts"] == 2
    assert metrics["average_response_ms"] == 0.0
    assert metrics["p95_response_ms"] == 0.0


@pytest.mark.parametrize("window", ["24", "1y", "0h", "31d", "99999d", "1h; drop"])
def test_metrics_refuse_bad_windows(api, webhook, window):
    # when
    response = api.get(f"/api/v1/webhooks/{webhook.id}/metrics/", {"window": window})

    # then
    assert response.status_code == 400
    assert "window" in response.json()["errors"]
