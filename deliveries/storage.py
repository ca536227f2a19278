"""Storage of the delivery tables: every raw SQL statement and every PostgreSQL/SQLite fork.

The hot paths (publishing in bulk, claiming, recording, deferring) need statements the ORM
cannot write or writes too slowly; they all live here, behind one interface with one
implementation per database, chosen once per process (`delivery_storage()`). Services call
the interface and never look at `connection.vendor` themselves.

- PostgreSQL: one statement per batch (execute_values with a VALUES list, UPDATE ... FROM,
  UPDATE ... RETURNING with SKIP LOCKED). Django's bulk_create spends more time building model
  instances and SQL than PostgreSQL spends storing the rows (profiled: ~70 % of a 500-row
  insert); execute_values sends plain tuples in one statement for a fraction of that.
- SQLite (the embedded default): one statement per claim, one prepared statement run over
  each batch (executemany); SQLite has one writer at a time, so each write holds the lock as
  briefly as it can (see OrmStorage).
"""

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from django.db import connection, models, transaction
from psycopg2.extras import execute_values

from deliveries.models import Attempt, Delivery

# Rows per statement: large enough to amortise the round trip, small enough to keep each
# statement's memory modest.
ROWS_PER_STATEMENT = 1000

# Seconds a claim moves back an ordered delivery whose predecessor is unfinished: later claims
# then pass over it instead of checking it again each time. Its predecessor's success, give-up
# or expiry releases it at once (release_next_ordered), so this bounds only rarer waits: after
# an expiry by the sweep, or a success committed in the instant between a claim's snapshot and
# its moving the delivery back. 10 s: an ordered backlog is re-checked every 10 s at most.
PARK_SECONDS = 10.0
# Claim statements one claim may run while they only move blocked ordered deliveries back
# (each scans at most `limit` rows): 8 x 500 rows, about what one claim behind a large
# backlog reads anyway.
PARKING_ROUNDS = 8

# The columns a claim returns for each delivery, in this order.
CLAIM_COLUMNS = (
    "id",
    "attempt_count",
    "next_trigger",
    "webhook_id",
    "event_id",
    "event_created_at",
)

# An attempt row as the recorder gives it, in this order (JSON columns as Python values).
ATTEMPT_COLUMNS = (
    "delivery_id",
    "webhook_id",
    "number",
    "trigger",
    "started_at",
    "duration_ms",
    "outcome",
    "request_url",
    "request_headers",
    "response_status",
    "response_headers",
    "response_body",
    "error_kind",
    "error_message",
    "redirect_hops",
)
_ATTEMPT_JSON_POSITIONS = tuple(
    ATTEMPT_COLUMNS.index(name) for name in ("request_headers", "response_headers", "redirect_hops")
)

# A delivery's columns after an attempt, as the recorder gives them, in this order.
STATE_COLUMNS = (
    "state",
    "attempt_count",
    "next_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_error_kind",
    "last_duration_ms",
    "succeeded_at",
)


@dataclass(frozen=True)
class StateChange:
    """A delivery's new state after an attempt, applied only while `claim_token` still holds
    its claim (values for STATE_COLUMNS; `succeeded_at` None keeps the stored one)."""

    delivery_id: int
    claim_token: uuid.UUID
    values: tuple[object, ...]


@dataclass(frozen=True)
class Deferral:
    """A claimed delivery put back to wait until `due_at` (its limits held it back)."""

    delivery_id: int
    claim_token: uuid.UUID
    due_at: datetime


@dataclass(frozen=True)
class LatestAttemptTotals:
    deliveries: int
    succeeded: int
    mean_retries: float


class DeliveryStorage(Protocol):
    def insert_rows(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert rows given as tuples of database-ready values for `columns` (attribute
        names; JSON fields as Python values)."""

    def claim_due(
        self,
        *,
        limit: int,
        now: datetime,
        lease_ends_at: datetime,
        token: uuid.UUID,
        exclude_webhook_ids: Collection[uuid.UUID],
        open_circuit_webhook_ids: Collection[uuid.UUID] = (),
    ) -> list[dict[str, Any]]:
        """Lease up to `limit` due deliveries under `token` until `lease_ends_at`; returns
        their CLAIM_COLUMNS. See deliveries.services.claiming for what "due" means.

        Deliveries of `exclude_webhook_ids` are left; so are the automatic ones of
        `open_circuit_webhook_ids` (a manual resend is a person's request and goes out), and
        an ordered delivery while an earlier one of its entity is unfinished."""

    def claim_oldest_due(
        self, *, webhook_id: uuid.UUID, now: datetime, lease_ends_at: datetime, token: uuid.UUID
    ) -> list[dict[str, Any]]:
        """Lease the subscription's oldest due delivery (its circuit's probe), if any, under
        the same rules as claim_due; returns its CLAIM_COLUMNS in a list of at most one."""

    def insert_attempts(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Insert attempt rows (ATTEMPT_COLUMNS) of deliveries that still exist and still
        belong to the attempt's subscription; the others are skipped."""

    def write_states(self, changes: Sequence[StateChange]) -> None:
        """Apply each delivery's new state where its claim token still matches; clears the
        claim and makes the next trigger automatic."""

    def defer(self, deferrals: Sequence[Deferral]) -> None:
        """Put claimed deliveries back to `pending` until their due time (not an attempt),
        where their claim token still matches."""

    def release_next_ordered(self, *, finished_ids: Sequence[int], now: datetime) -> None:
        """Make the next delivery of each finished ordered delivery's entity due at `now`
        (a claim moved it back while it was blocked; see PARK_SECONDS)."""

    def latest_attempt_totals(
        self, *, webhook_ids: Collection[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, LatestAttemptTotals]:
        """Per subscription, the deliveries with an attempt started at or after `since`, judged
        by their latest attempt (which is in that range too): how many, how many of those
        latest attempts succeeded, and the mean number of attempts - 1. Subscriptions with none
        are left out. Reads only the attempts table (SPEC 3's health metrics)."""


_DELIVERIES = Delivery._meta.db_table
_ATTEMPTS = Attempt._meta.db_table


class PostgresStorage:
    """One statement per batch."""

    def insert_rows(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        if not rows:
            return
        meta = model._meta
        fields = [meta.get_field(column) for column in columns]
        names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        table = connection.ops.quote_name(meta.db_table)
        json_positions = [
            i for i, field in enumerate(fields) if isinstance(field, models.JSONField)
        ]
        if json_positions:
            rows = [_with_json_text(row, json_positions) for row in rows]
        with connection.cursor() as cursor:
            execute_values(
                cursor,
                f"INSERT INTO {table} ({names}) VALUES %s",  # noqa: S608 - names from the model
                rows,
                page_size=ROWS_PER_STATEMENT,
            )

    # Picks the due rows (the partial index delivery_due_idx, other claimers' rows skipped),
    # leases them and returns what a job needs: one statement, one round trip. Subscriptions
    # at their cap or with an open circuit come in as arrays (usually empty: a per-row array
    # test, no join). An ordered delivery (ordering_entity_id set, only for subscriptions with
    # `ordering: "entity"`) waits while an earlier delivery of its entity is unfinished: one
    # probe of delivery_order_idx; unordered rows stop at the IS NULL. A blocked one found
    # is moved back by PARK_SECONDS (`parked`), so claims pass over an ordered backlog once,
    # not on every claim: the claim's work stays bounded by `limit`, whatever waits behind.
    _CLAIM_SQL_TEMPLATE = f"""
    WITH scanned AS (
        SELECT c.id, (c.ordering_entity_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM {_DELIVERIES} AS earlier
            WHERE earlier.webhook_id = c.webhook_id
                AND earlier.ordering_entity_id = c.ordering_entity_id
                AND earlier.id < c.id
                AND earlier.state IN ('pending', 'failed', 'sending', 'paused')
        )) AS blocked
        FROM {_DELIVERIES} AS c
        WHERE c.state IN ('pending', 'failed', 'sending') AND c.next_attempt_at <= %(now)s
            {{condition}}
        ORDER BY c.next_attempt_at, c.id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ), parked AS (
        UPDATE {_DELIVERIES} AS d SET next_attempt_at = %(parked_until)s
        FROM scanned WHERE d.id = scanned.id AND scanned.blocked
        RETURNING d.id
    ), claimed AS (
        UPDATE {_DELIVERIES} AS d
        SET state = 'sending', next_attempt_at = %(lease_ends_at)s, claim_token = %(token)s
        FROM scanned
        WHERE d.id = scanned.id AND NOT scanned.blocked
        RETURNING d.id, d.attempt_count, d.next_trigger, d.webhook_id, d.event_id,
            d.event_created_at
    )
    SELECT id, attempt_count, next_trigger, webhook_id, event_id, event_created_at FROM claimed
    UNION ALL
    SELECT id, NULL, NULL, NULL, NULL, NULL FROM parked
    """  # noqa: S608 - the names come from our model; every value is bound
    _CLAIM_SQL = _CLAIM_SQL_TEMPLATE.format(
        condition="""AND NOT (c.webhook_id = ANY(%(excluded)s::uuid[]))
            AND (c.next_trigger = 'manual' OR NOT (c.webhook_id = ANY(%(open)s::uuid[])))"""
    )
    # A circuit's probe: the subscription's oldest due delivery (delivery_history_state_idx
    # narrows to the subscription first).
    _CLAIM_OLDEST_SQL = _CLAIM_SQL_TEMPLATE.format(condition="AND c.webhook_id = %(webhook_id)s")

    def claim_due(
        self,
        *,
        limit: int,
        now: datetime,
        lease_ends_at: datetime,
        token: uuid.UUID,
        exclude_webhook_ids: Collection[uuid.UUID],
        open_circuit_webhook_ids: Collection[uuid.UUID] = (),
    ) -> list[dict[str, Any]]:
        return self._claim_in_rounds(
            self._CLAIM_SQL,
            {
                "excluded": [str(webhook_id) for webhook_id in exclude_webhook_ids],
                "open": [str(webhook_id) for webhook_id in open_circuit_webhook_ids],
            },
            limit=limit,
            now=now,
            lease_ends_at=lease_ends_at,
            token=token,
        )

    def claim_oldest_due(
        self, *, webhook_id: uuid.UUID, now: datetime, lease_ends_at: datetime, token: uuid.UUID
    ) -> list[dict[str, Any]]:
        return self._claim_in_rounds(
            self._CLAIM_OLDEST_SQL,
            {"webhook_id": str(webhook_id)},
            limit=1,
            now=now,
            lease_ends_at=lease_ends_at,
            token=token,
        )

    def _claim_in_rounds(
        self,
        sql: str,
        condition: dict[str, object],
        *,
        limit: int,
        now: datetime,
        lease_ends_at: datetime,
        token: uuid.UUID,
    ) -> list[dict[str, Any]]:
        """Run the claim, again while it moved blocked ordered deliveries back and claimed
        fewer than `limit` (at most PARKING_ROUNDS times, each its own short transaction):
        a claim that came back short only because an ordered backlog stood in front would
        otherwise leave the worker idle with work due. Unordered work takes one round."""
        claimed: list[dict[str, Any]] = []
        for _ in range(PARKING_ROUNDS):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    sql,
                    {
                        **condition,
                        "lease_ends_at": lease_ends_at,
                        "token": token,
                        "now": now,
                        "limit": limit - len(claimed),
                        "parked_until": now + timedelta(seconds=PARK_SECONDS),
                    },
                )
                rows = cursor.fetchall()
            # Parked rows come back with NULL in the claim's other columns.
            claimed += [
                dict(zip(CLAIM_COLUMNS, row, strict=True)) for row in rows if row[1] is not None
            ]
            if len(claimed) >= limit or all(row[1] is not None for row in rows):
                break
        return claimed

    # Attempts of deliveries that still exist (their subscription may have been deleted while
    # they were in flight), checked in the INSERT itself rather than by a query before it.
    _ATTEMPT_COLUMN_NAMES = ", ".join(Attempt._meta.get_field(n).column for n in ATTEMPT_COLUMNS)
    _INSERT_ATTEMPTS_SQL = f"""
    INSERT INTO {_ATTEMPTS} ({_ATTEMPT_COLUMN_NAMES})
    SELECT * FROM (VALUES %s) AS v({_ATTEMPT_COLUMN_NAMES})
    WHERE EXISTS (
        SELECT 1 FROM {_DELIVERIES} AS d
        WHERE d.id = v.delivery_id AND d.webhook_id = v.webhook_id
    )
    """  # noqa: S608 - the names come from our model; every value is bound
    _INSERT_ATTEMPTS_TEMPLATE = (
        "(%s, %s::uuid, %s, %s, %s::timestamptz, %s::float8, %s, %s, %s::jsonb, %s::smallint, "
        "%s::jsonb, %s, %s, %s, %s::jsonb)"
    )

    def insert_attempts(self, rows: Sequence[tuple[object, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            execute_values(
                cursor,
                self._INSERT_ATTEMPTS_SQL,
                [_with_json_text(row, _ATTEMPT_JSON_POSITIONS) for row in rows],
                template=self._INSERT_ATTEMPTS_TEMPLATE,
                page_size=ROWS_PER_STATEMENT,
            )

    # Each delivery's new state, joined from a VALUES list: one statement for a whole batch.
    # The claim token in the join means a claim taken over meanwhile (lease ran out) is left
    # alone. A success stamps succeeded_at; a later failure leaves it as it was.
    _UPDATE_STATES_SQL = f"""
    UPDATE {_DELIVERIES} AS d SET
        state = v.state, attempt_count = v.attempt_count, next_attempt_at = v.next_attempt_at,
        last_attempt_at = v.last_attempt_at, last_status_code = v.last_status_code,
        last_error_kind = v.last_error_kind, last_duration_ms = v.last_duration_ms,
        succeeded_at = COALESCE(v.succeeded_at, d.succeeded_at),
        claim_token = NULL, next_trigger = 'automatic'
    FROM (VALUES %s) AS v(id, token, {", ".join(STATE_COLUMNS)})
    WHERE d.id = v.id AND d.claim_token = v.token
    """  # noqa: S608 - the names come from our model; every value is bound
    _UPDATE_STATES_TEMPLATE = (
        "(%s, %s::uuid, %s, %s, %s::timestamptz, %s::timestamptz, %s::smallint, %s, %s::float8, "
        "%s::timestamptz)"
    )

    def write_states(self, changes: Sequence[StateChange]) -> None:
        if not changes:
            return
        rows = [(c.delivery_id, str(c.claim_token), *c.values) for c in changes]
        with connection.cursor() as cursor:
            execute_values(
                cursor,
                self._UPDATE_STATES_SQL,
                rows,
                template=self._UPDATE_STATES_TEMPLATE,
                page_size=ROWS_PER_STATEMENT,
            )

    # Each held-back delivery's new due time, joined from a VALUES list: one statement per
    # batch (the ORM's bulk_update builds a CASE per row, which profiled at 14 % of a worker's
    # time beside a hanging endpoint whose deliveries are held back again and again).
    _DEFER_SQL = f"""
    UPDATE {_DELIVERIES} AS d
    SET state = 'pending', next_attempt_at = v.due_at, claim_token = NULL
    FROM (VALUES %s) AS v(id, token, due_at)
    WHERE d.id = v.id AND d.claim_token = v.token
    """  # noqa: S608 - the names come from our model; every value is bound

    def defer(self, deferrals: Sequence[Deferral]) -> None:
        if not deferrals:
            return
        rows = [(d.delivery_id, str(d.claim_token), d.due_at) for d in deferrals]
        with connection.cursor() as cursor:
            execute_values(
                cursor,
                self._DEFER_SQL,
                rows,
                template="(%s, %s::uuid, %s::timestamptz)",
                page_size=ROWS_PER_STATEMENT,
            )

    # The next unfinished delivery of each finished one's entity (delivery_order_idx), made due
    # now if a claim had moved it back.
    _RELEASE_NEXT_ORDERED_SQL = f"""
    UPDATE {_DELIVERIES} AS d SET next_attempt_at = %(now)s
    FROM {_DELIVERIES} AS finished
    WHERE finished.id = ANY(%(ids)s::bigint[]) AND finished.ordering_entity_id IS NOT NULL
        AND d.id = (
            SELECT min(later.id) FROM {_DELIVERIES} AS later
            WHERE later.webhook_id = finished.webhook_id
                AND later.ordering_entity_id = finished.ordering_entity_id
                AND later.id > finished.id
                AND later.state IN ('pending', 'failed', 'sending', 'paused')
        )
        AND d.state = 'pending' AND d.next_attempt_at > %(now)s
    """  # noqa: S608 - the names come from our model; every value is bound

    def release_next_ordered(self, *, finished_ids: Sequence[int], now: datetime) -> None:
        if not finished_ids:
            return
        with connection.cursor() as cursor:
            cursor.execute(self._RELEASE_NEXT_ORDERED_SQL, {"ids": list(finished_ids), "now": now})

    LATEST_ATTEMPT_TOTALS = f"""
    SELECT webhook_id, count(*), count(*) FILTER (WHERE outcome = 'success'), avg(number - 1)
    FROM (
        SELECT DISTINCT ON (delivery_id) webhook_id, outcome, number
        FROM {_ATTEMPTS}
        WHERE webhook_id = ANY(%(webhook_ids)s::uuid[]) AND started_at >= %(since)s
        ORDER BY delivery_id, started_at DESC, id DESC
    ) AS latest
    GROUP BY webhook_id
    """  # noqa: S608 - the names come from our model; every value is bound

    def latest_attempt_totals(
        self, *, webhook_ids: Collection[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, LatestAttemptTotals]:
        # DISTINCT ON reads the window's attempts once along attempt_webhook_time_idx and keeps
        # each delivery's latest: a third of the time of joining the deliveries (measured with
        # bench/pages.py: 31 ms against 113 ms for 35,000 attempts).
        if not webhook_ids:
            return {}
        with connection.cursor() as cursor:
            cursor.execute(
                self.LATEST_ATTEMPT_TOTALS,
                {"webhook_ids": [str(webhook_id) for webhook_id in webhook_ids], "since": since},
            )
            return {
                uuid.UUID(str(webhook_id)): LatestAttemptTotals(total, succeeded, float(retries))
                for webhook_id, total, succeeded, retries in cursor.fetchall()
            }


class OrmStorage:
    """SQLite (the embedded default): one statement per claim, one prepared statement run over
    a whole batch (executemany) for publishing, attempts, states and deferrals.

    SQLite has one writer at a time, so what counts is how long each write holds the lock: a
    claim, record or publish written through the ORM a row at a time held it for most of a
    worker's time (profiled: a claim waited ~20 % of its time for the lock, states written
    row by row ~16 %), and the load test stalled at ~200 deliveries/s. No SKIP LOCKED is
    needed: the claim is one UPDATE, so two claimers are serialised by the lock itself.
    Values are bound as Django's SQLite backend stores them (UUIDs as 32 hex digits, times as
    naive UTC text), so the ORM reads these rows as its own.
    """

    def insert_rows(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        if not rows:
            return
        meta = model._meta
        fields = [meta.get_field(column) for column in columns]
        names = ", ".join(connection.ops.quote_name(field.column) for field in fields)  # type: ignore[union-attr]
        table = connection.ops.quote_name(meta.db_table)
        placeholders = ", ".join(["%s"] * len(fields))
        prepare = [field.get_db_prep_save for field in fields]  # type: ignore[union-attr]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608 - names from the model
                [
                    tuple(
                        to_db(value, connection) for to_db, value in zip(prepare, row, strict=True)
                    )
                    for row in rows
                ],
            )

    # The PostgreSQL claim without SKIP LOCKED: an UPDATE of the ids a subquery picks (the
    # partial index delivery_due_idx), returning what a job needs. Subscriptions at their cap
    # or with an open circuit come in as JSON arrays of hex ids (SQLite has no array type;
    # json_each keeps the statement the same whatever their number).
    _CLAIM_SQL_TEMPLATE = f"""
    UPDATE {_DELIVERIES}
    SET state = 'sending', next_attempt_at = %s, claim_token = %s
    WHERE id IN (
        SELECT c.id FROM {_DELIVERIES} AS c
        WHERE c.state IN ('pending', 'failed', 'sending') AND c.next_attempt_at <= %s
            {{condition}}
            AND (c.ordering_entity_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM {_DELIVERIES} AS earlier
                WHERE earlier.webhook_id = c.webhook_id
                    AND earlier.ordering_entity_id = c.ordering_entity_id
                    AND earlier.id < c.id
                    AND earlier.state IN ('pending', 'failed', 'sending', 'paused')
            ))
        ORDER BY c.next_attempt_at, c.id
        LIMIT %s
    )
    RETURNING id, attempt_count, next_trigger, webhook_id, event_id, event_created_at
    """  # noqa: S608 - the names come from our model; every value is bound
    _CLAIM_SQL = _CLAIM_SQL_TEMPLATE.format(
        condition="""AND c.webhook_id NOT IN (SELECT value FROM json_each(%s))
            AND (c.next_trigger = 'manual'
                OR c.webhook_id NOT IN (SELECT value FROM json_each(%s)))"""
    )
    _CLAIM_OLDEST_SQL = _CLAIM_SQL_TEMPLATE.format(condition="AND c.webhook_id = %s")

    def claim_due(
        self,
        *,
        limit: int,
        now: datetime,
        lease_ends_at: datetime,
        token: uuid.UUID,
        exclude_webhook_ids: Collection[uuid.UUID],
        open_circuit_webhook_ids: Collection[uuid.UUID] = (),
    ) -> list[dict[str, Any]]:
        return self._lease(
            self._CLAIM_SQL,
            [
                json.dumps([webhook_id.hex for webhook_id in exclude_webhook_ids]),
                json.dumps([webhook_id.hex for webhook_id in open_circuit_webhook_ids]),
            ],
            limit=limit,
            now=now,
            lease_ends_at=lease_ends_at,
            token=token,
        )

    def claim_oldest_due(
        self, *, webhook_id: uuid.UUID, now: datetime, lease_ends_at: datetime, token: uuid.UUID
    ) -> list[dict[str, Any]]:
        return self._lease(
            self._CLAIM_OLDEST_SQL,
            [webhook_id.hex],
            limit=1,
            now=now,
            lease_ends_at=lease_ends_at,
            token=token,
        )

    def _lease(
        self,
        sql: str,
        condition_values: list[object],
        *,
        limit: int,
        now: datetime,
        lease_ends_at: datetime,
        token: uuid.UUID,
    ) -> list[dict[str, Any]]:
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    _sqlite_time(lease_ends_at),
                    token.hex,
                    _sqlite_time(now),
                    *condition_values,
                    limit,
                ],
            )
            rows = cursor.fetchall()
        claimed = [dict(zip(CLAIM_COLUMNS, row, strict=True)) for row in rows]
        for job in claimed:
            job["webhook_id"] = uuid.UUID(str(job["webhook_id"]))
            job["event_id"] = uuid.UUID(str(job["event_id"]))
            job["event_created_at"] = _aware_time(job["event_created_at"])
        return claimed

    # Attempts of deliveries that still exist and still belong to the attempt's subscription,
    # checked in the INSERT itself: one prepared statement run for every row of the batch.
    _INSERT_ATTEMPT_SQL = f"""
    INSERT INTO {_ATTEMPTS} ({PostgresStorage._ATTEMPT_COLUMN_NAMES})
    SELECT {", ".join(["%s"] * len(ATTEMPT_COLUMNS))}
    WHERE EXISTS (SELECT 1 FROM {_DELIVERIES} WHERE id = %s AND webhook_id = %s)
    """  # noqa: S608 - the names come from our model; every value is bound

    def insert_attempts(self, rows: Sequence[tuple[object, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                self._INSERT_ATTEMPT_SQL,
                [(*_sqlite_attempt_row(row), row[0], row[1].hex) for row in rows],  # type: ignore[union-attr]
            )

    # A success stamps succeeded_at; a later failure leaves it as it was. The claim token in
    # the WHERE leaves a claim taken over meanwhile (lease ran out) alone.
    _UPDATE_STATE_SQL = f"""
    UPDATE {_DELIVERIES} SET
        state = %s, attempt_count = %s, next_attempt_at = %s, last_attempt_at = %s,
        last_status_code = %s, last_error_kind = %s, last_duration_ms = %s,
        succeeded_at = COALESCE(%s, succeeded_at), claim_token = NULL, next_trigger = 'automatic'
    WHERE id = %s AND claim_token = %s
    """  # noqa: S608 - the names come from our model; every value is bound

    def write_states(self, changes: Sequence[StateChange]) -> None:
        if not changes:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                self._UPDATE_STATE_SQL,
                [
                    (
                        *(_sqlite_value(value) for value in change.values),
                        change.delivery_id,
                        change.claim_token.hex,
                    )
                    for change in changes
                ],
            )

    _DEFER_SQL = f"""
    UPDATE {_DELIVERIES} SET state = 'pending', next_attempt_at = %s, claim_token = NULL
    WHERE id = %s AND claim_token = %s
    """  # noqa: S608 - the names come from our model; every value is bound

    def defer(self, deferrals: Sequence[Deferral]) -> None:
        if not deferrals:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                self._DEFER_SQL,
                [(_sqlite_time(d.due_at), d.delivery_id, d.claim_token.hex) for d in deferrals],
            )

    def release_next_ordered(self, *, finished_ids: Sequence[int], now: datetime) -> None:
        """Nothing to do: SQLite's claim leaves blocked ordered deliveries where they are."""

    def latest_attempt_totals(
        self, *, webhook_ids: Collection[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, LatestAttemptTotals]:
        # A delivery's last_* columns describe its latest attempt.
        recent = Attempt.objects.filter(webhook_id__in=webhook_ids, started_at__gte=since)
        rows = (
            Delivery.objects.filter(id__in=recent.values("delivery_id"))
            .values("webhook_id")
            .annotate(
                total=models.Count("id"),
                succeeded=models.Count(
                    "id",
                    filter=models.Q(
                        last_status_code__gte=200, last_status_code__lt=300, last_error_kind=""
                    ),
                ),
                attempts=models.Avg("attempt_count"),
            )
            .order_by()
        )
        return {
            row["webhook_id"]: LatestAttemptTotals(
                row["total"], row["succeeded"], float(row["attempts"]) - 1
            )
            for row in rows
        }


def _sqlite_time(value: datetime) -> str:
    """A time as Django's SQLite backend stores it (naive UTC text), so comparisons with the
    ORM's own rows hold."""
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _aware_time(value: datetime | str) -> datetime:
    """A stored time read back: Django's SQLite converters have already parsed a column of a
    known type into a naive datetime; a RETURNING value may still be text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        return _sqlite_time(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def _sqlite_attempt_row(row: Sequence[object]) -> list[object]:
    values = [_sqlite_value(value) for value in row]
    for position in _ATTEMPT_JSON_POSITIONS:
        values[position] = json.dumps(values[position])
    return values


@cache
def delivery_storage() -> DeliveryStorage:
    """The storage for the default database, chosen once per process."""
    if connection.vendor == "postgresql":
        return PostgresStorage()
    return OrmStorage()


def _with_json_text(row: Sequence[object], positions: Sequence[int]) -> tuple[object, ...]:
    values = list(row)
    for position in positions:
        values[position] = json.dumps(values[position])
    return tuple(values)
