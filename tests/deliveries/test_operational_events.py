"""Operational events (SPEC 3): hookline.webhook_disabled.v1, webhook_circuit_opened.v1 and
webhook_recovered.v1 go to the account's subscriptions that list them, never to the
subscription they are about; a 410 deactivation e-mails the account's users."""

import json

import pytest

from config.celery import app as celery_app
from deliveries.engine.outcome import AttemptOutcome
from deliveries.models import Delivery, EndpointCircuit
from deliveries.services.circuit import CircuitWatch
from deliveries.services.claiming import deliveries_claim_due
from deliveries.services.publishing import event_publish
from deliveries.services.recording import attempts_record
from events.envelope import render_event
from events.models import Event
from events.validation import builtin_validator, payload_errors
from tests.deliveries.test_services import report
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

EVENT = "customers.create.v0"
DISABLED = "hookline.webhook_disabled.v1"
OPENED = "hookline.webhook_circuit_opened.v1"
RECOVERED = "hookline.webhook_recovered.v1"
OPERATIONAL = [DISABLED, OPENED, RECOVERED]


@pytest.fixture
def watched(account):
    """A subscription that fails, and itself lists the operational events (no loops)."""
    return webhook_create(
        account=account, url="https://shop.example.com/hook", events=[EVENT, *OPERATIONAL]
    )


@pytest.fixture
def monitor(account):
    return webhook_create(account=account, url="https://ops.example.com/hook", events=OPERATIONAL)


def operational_deliveries(key):
    return list(Delivery.objects.filter(event_key=key).select_related("event"))


def record(jobs, outcome, status, capture):
    with capture(execute=True):
        return attempts_record([report(job, status=status, outcome=outcome) for job in jobs])


def test_circuit_opened_and_recovered_reach_other_subscriptions_never_the_subject(
    account, watched, monitor, settings, django_capture_on_commit_callbacks
):
    # given
    settings.WEBHOOK_CIRCUIT_FAILURES = 3
    for _ in range(3):
        event_publish(account=account, key=EVENT)

    # when: three failures in a row open the circuit
    changes = record(
        deliveries_claim_due(limit=3), AttemptOutcome.RETRY, 503, django_capture_on_commit_callbacks
    )

    # then
    assert set(changes.opened) == {watched.id}
    (opened,) = operational_deliveries(OPENED)
    assert opened.webhook_id == monitor.id
    payload = json.loads(opened.event.payload_json)
    assert payload["id"] == str(watched.id)
    assert payload["url"] == watched.url
    assert payload["consecutive_failures"] == 3
    assert payload["times_opened"] == 1
    assert payload_errors(builtin_validator(OPENED), payload) == []
    envelope = json.loads(render_event(opened.event, webhook_id=str(monitor.id)))
    assert envelope["event_entity"] == "webhook"
    assert envelope["event_type"] == "webhook_circuit_opened"
    assert envelope["event_version"] == 1
    assert envelope["entity_instance_id"] == str(watched.id)

    # when: the probe (the oldest due delivery) succeeds
    EndpointCircuit.objects.filter(webhook_id=watched.id).update(next_probe_at=opened.created_at)
    Delivery.objects.filter(webhook=watched).update(next_attempt_at=opened.created_at)
    probe_jobs = deliveries_claim_due(limit=10, circuits=CircuitWatch(refresh_seconds=0))
    assert [job.webhook_id for job in probe_jobs].count(watched.id) == 1
    changes = record(
        [job for job in probe_jobs if job.webhook_id == watched.id],
        AttemptOutcome.SUCCESS,
        200,
        django_capture_on_commit_callbacks,
    )

    # then
    assert set(changes.closed) == {watched.id}
    (recovered,) = operational_deliveries(RECOVERED)
    assert recovered.webhook_id == monitor.id
    assert (
        payload_errors(builtin_validator(RECOVERED), json.loads(recovered.event.payload_json)) == []
    )
    assert not Delivery.objects.filter(webhook=watched, event_key__in=OPERATIONAL).exists()


def test_a_410_disables_emails_the_users_and_tells_the_other_subscriptions(
    account, watched, monitor, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    # given
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    account.users.update(email="ops@acme.example")
    event_publish(account=account, key=EVENT)

    # when
    record(
        deliveries_claim_due(limit=1), AttemptOutcome.GONE, 410, django_capture_on_commit_callbacks
    )

    # then
    watched.refresh_from_db()
    assert watched.active is False
    (mail,) = mailoutbox
    assert mail.to == ["ops@acme.example"]
    assert "410 Gone" in mail.body
    (disabled,) = operational_deliveries(DISABLED)
    assert disabled.webhook_id == monitor.id
    payload = json.loads(disabled.event.payload_json)
    assert payload["id"] == str(watched.id)
    assert payload["active"] is False
    assert "410 Gone" in payload["reason"]
    assert payload_errors(builtin_validator(DISABLED), payload) == []
    assert Event.objects.filter(key=DISABLED).count() == 1


def test_an_event_about_the_only_listing_subscription_is_not_stored(
    account, watched, settings, django_capture_on_commit_callbacks
):
    # given: nobody but the failing subscription itself lists the operational events
    settings.WEBHOOK_CIRCUIT_FAILURES = 1
    event_publish(account=account, key=EVENT)

    # when
    record(
        deliveries_claim_due(limit=1), AttemptOutcome.RETRY, 500, django_capture_on_commit_callbacks
    )

    # then
    assert EndpointCircuit.objects.get(webhook_id=watched.id).state == "open"
    assert not Event.objects.filter(key__in=OPERATIONAL).exists()
