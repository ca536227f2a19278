"""Runs the SQLite storage (OrmStorage's own SQL) against a real SQLite file, for
tests/deliveries/test_sqlite_storage.py: the suite's settings are PostgreSQL's, so this runs
in a process of its own with DATABASE_URL=sqlite:///... and prints what it saw as one JSON
object on its last line.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.deliveries.sqlite_storage_driver
"""

import json
import os
import re
import uuid
from datetime import timedelta


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.services import account_create
    from deliveries.engine.http import SendResult
    from deliveries.engine.outcome import AttemptOutcome, ErrorKind, Verdict
    from deliveries.models import Attempt, Delivery
    from deliveries.services.claiming import deliveries_claim_due, deliveries_defer
    from deliveries.services.publishing import event_publish
    from deliveries.services.recording import AttemptReport, attempts_record
    from deliveries.storage import ATTEMPT_COLUMNS, StateChange, delivery_storage
    from events.models import Event
    from webhooks.services import webhook_create

    call_command("migrate", verbosity=0, interactive=False)
    seen: dict[str, object] = {"vendor": connection.vendor}
    storage = delivery_storage()
    seen["storage"] = type(storage).__name__
    key = "products.update.v0"
    account = account_create(
        account_name="SQLite", username="sqlite", password="pw-123456789"
    ).account
    first = webhook_create(account=account, url="https://example.com/a", events=[key])
    second = webhook_create(account=account, url="https://example.com/b", events=[key])
    for _ in range(3):
        event_publish(account=account, key=key, payload={"name": "Kaffee"})
    # Due a moment ago, oldest first by id.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    def report(job, status, outcome):
        return AttemptReport(
            job=job,
            started_at=timezone.now(),
            request_headers={"Authorization": "Basic dTpw"},
            result=SendResult(
                status=status,
                response_headers={"Content-Type": "text/plain"},
                response_body="ok",
                duration_ms=12.5,
                error_kind=None if status < 500 else ErrorKind.HTTP_STATUS,
                error_message=None if status < 500 else "boom",
                hops=(),
                final_url=job.url,
            ),
            verdict=Verdict(outcome, None),
        )

    statements: list[str] = []

    def count_statements(execute, sql, params, many, context):
        table = re.search(r"deliveries_\w+", sql)
        statements.append(f"{sql.split(None, 1)[0].upper()} {table[0] if table else ''}")
        return execute(sql, params, many, context)

    # Claim: a batch, then the rest, then nothing (all leased).
    with connection.execute_wrapper(count_statements):
        batch = deliveries_claim_due(limit=4)
    seen["claim_statements"] = [kind for kind in statements if kind.endswith("deliveries_delivery")]
    rest = deliveries_claim_due(limit=10)
    seen["claimed"] = [len(batch), len(rest), len(deliveries_claim_due(limit=10))]
    seen["claimed_overlap"] = len({j.delivery_id for j in batch} & {j.delivery_id for j in rest})
    seen["claimed_in_order"] = [j.delivery_id for j in batch] == sorted(
        Delivery.objects.values_list("id", flat=True)
    )[:4]
    job = batch[0]
    event = Event.objects.get(id=job.event_id)
    seen["job_fields_match"] = (
        job.webhook_id in {first.id, second.id}
        and job.event_created_at == event.created_at
        and job.attempt_number == 1
        and job.trigger == "automatic"
    )
    seen["claimed_rows"] = sorted(
        {
            (state, token is not None)
            for state, token in Delivery.objects.filter(
                id__in=[j.delivery_id for j in batch]
            ).values_list("state", "claim_token")
        }
    )
    seen["claimed_tokens_match"] = all(
        Delivery.objects.get(id=j.delivery_id).claim_token == j.claim_token for j in batch
    )

    # Record: two successes and a failure in one batch (attempts and states in batches).
    statements.clear()
    with connection.execute_wrapper(count_statements):
        attempts_record(
            [
                report(batch[0], 200, AttemptOutcome.SUCCESS),
                report(batch[1], 200, AttemptOutcome.SUCCESS),
                report(batch[2], 500, AttemptOutcome.RETRY),
            ]
        )
    # Writes to the delivery tables (the recorder also keeps the subscriptions' health).
    seen["record_writes"] = [
        kind
        for kind in statements
        if kind in {"INSERT deliveries_attempt", "UPDATE deliveries_delivery"}
    ]
    recorded = {d.id: d for d in Delivery.objects.filter(id__in=[j.delivery_id for j in batch[:3]])}
    now = timezone.now()
    seen["recorded_states"] = [recorded[j.delivery_id].state for j in batch[:3]]
    seen["recorded_tokens_cleared"] = all(d.claim_token is None for d in recorded.values())
    seen["succeeded_at_set"] = [recorded[j.delivery_id].succeeded_at is not None for j in batch[:3]]
    seen["failure_due_later"] = recorded[batch[2].delivery_id].next_attempt_at > now
    seen["last_status_codes"] = [recorded[j.delivery_id].last_status_code for j in batch[:3]]
    attempts = list(Attempt.objects.order_by("id"))
    seen["attempts"] = len(attempts)
    seen["attempt_stored"] = {
        "request_headers": attempts[0].request_headers,
        "response_headers": attempts[0].response_headers,
        "redirect_hops": attempts[0].redirect_hops,
        "duration_ms": attempts[0].duration_ms,
        "webhook_matches": attempts[0].webhook_id == batch[0].webhook_id,
    }

    # A state written under a claim token that no longer holds changes nothing.
    storage.write_states(
        [
            StateChange(
                batch[3].delivery_id,
                uuid.uuid4(),
                ("succeeded", 1, None, now, 200, "", 1.0, now),
            )
        ]
    )
    seen["stale_token_state"] = Delivery.objects.get(id=batch[3].delivery_id).state

    # An attempt whose delivery belongs to another subscription (or is gone) is skipped.
    row = dict.fromkeys(ATTEMPT_COLUMNS)
    row.update(
        delivery_id=batch[3].delivery_id,
        webhook_id=uuid.uuid4(),
        number=1,
        trigger="automatic",
        started_at=now,
        duration_ms=1.0,
        outcome="success",
        request_url="https://example.com/",
        request_headers={},
        response_headers={},
        response_body="",
        error_kind="",
        error_message="",
        redirect_hops=[],
    )
    storage.insert_attempts([tuple(row.values())])
    seen["foreign_attempt_skipped"] = Attempt.objects.count() == 3

    # Deferral: back to pending until its time, then claimable, unless its subscription is
    # excluded (at its cap).
    deferred = batch[3]
    deliveries_defer(deferrals=[(deferred, now - timedelta(seconds=1))])
    row_after = Delivery.objects.get(id=deferred.delivery_id)
    seen["deferred"] = [row_after.state, row_after.claim_token is None]
    excluded = deliveries_claim_due(limit=10, exclude_webhook_ids=[deferred.webhook_id])
    seen["excluded_claim"] = [j.delivery_id for j in excluded]
    seen["claim_after_defer"] = [j.delivery_id for j in deliveries_claim_due(limit=10)] == [
        deferred.delivery_id
    ]

    # A lease that ran out is claimed again (a worker died holding it).
    later = timezone.now() + timedelta(hours=1)
    seen["expired_leases_reclaimed"] = len(
        storage.claim_due(
            limit=10,
            now=later,
            lease_ends_at=later + timedelta(minutes=5),
            token=uuid.uuid4(),
            exclude_webhook_ids=[],
        )
    )

    # Open circuit: automatic deliveries of that subscription stay, a manual resend goes; the
    # circuit's probe takes the subscription's oldest due delivery only.
    Delivery.objects.update(
        state="pending", claim_token=None, next_attempt_at=now - timedelta(seconds=1)
    )
    manual = Delivery.objects.filter(webhook=first).order_by("id").last()
    Delivery.objects.filter(id=manual.id).update(next_trigger="manual")
    open_claim = storage.claim_due(
        limit=10,
        now=timezone.now(),
        lease_ends_at=later,
        token=uuid.uuid4(),
        exclude_webhook_ids=[],
        open_circuit_webhook_ids=[first.id],
    )
    seen["open_circuit_claim"] = sorted(
        (str(row["webhook_id"]) == str(first.id), row["next_trigger"]) for row in open_claim
    )
    Delivery.objects.update(
        state="pending", claim_token=None, next_attempt_at=now - timedelta(seconds=1)
    )
    oldest = Delivery.objects.filter(webhook=second).order_by("next_attempt_at", "id").first()
    probe = storage.claim_oldest_due(
        webhook_id=second.id, now=timezone.now(), lease_ends_at=later, token=uuid.uuid4()
    )
    seen["probe"] = [row["id"] for row in probe] == [oldest.id]

    # Ordering: a delivery waits while an earlier one of its entity is unfinished.
    Delivery.objects.update(state="succeeded", claim_token=None)
    entity = uuid.uuid4()
    earlier, following = Delivery.objects.filter(webhook=second).order_by("id")[:2]
    Delivery.objects.filter(id__in=[earlier.id, following.id]).update(
        state="pending", ordering_entity_id=entity, next_attempt_at=now - timedelta(seconds=1)
    )
    Delivery.objects.filter(id=earlier.id).update(state="paused")
    seen["ordered_while_earlier_unfinished"] = len(
        storage.claim_due(
            limit=10,
            now=timezone.now(),
            lease_ends_at=later,
            token=uuid.uuid4(),
            exclude_webhook_ids=[],
        )
    )
    Delivery.objects.filter(id=earlier.id).update(state="succeeded")
    seen["ordered_after_earlier_finished"] = [
        row["id"]
        for row in storage.claim_due(
            limit=10,
            now=timezone.now(),
            lease_ends_at=later,
            token=uuid.uuid4(),
            exclude_webhook_ids=[],
        )
    ] == [following.id]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
