"""Baseline (a), "raw": the least code that does the job. Claims due rows in batches with one
SQL statement, POSTs them signed with aiohttp, records results with execute_values. No Django,
no Celery, no limits, no redirects: the ceiling a delivery platform on this machine could reach.
Its headers come from the engine's one request builder (plain Python), as every sender's do.

    python bench/baseline_raw.py DATABASE_URL SECRETS_JSON
"""

import asyncio
import json
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psycopg2
import psycopg2.extras
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deliveries.engine.request import delivery_headers

BATCH = 500
CLAIM = """
UPDATE deliveries_delivery d
SET state = 'sending', next_attempt_at = now() + interval '120 seconds', claim_token = %s
FROM (
    SELECT id FROM deliveries_delivery
    WHERE state IN ('pending', 'failed', 'sending') AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED
) due
WHERE d.id = due.id
RETURNING d.id, d.webhook_id, d.event_id, d.attempt_count, d.event_created_at
"""
EVENTS = (
    "SELECT id, key, entity_instance_id, payload_json FROM events_event WHERE id = ANY(%s::uuid[])"
)
INSERT_ATTEMPTS = """
INSERT INTO deliveries_attempt (delivery_id, webhook_id, number, trigger, started_at, duration_ms,
    outcome, request_url, request_headers, response_status, response_headers, response_body,
    error_kind, error_message, redirect_hops) VALUES %s
"""
UPDATE_DELIVERIES = """
UPDATE deliveries_delivery d SET state = v.state, attempt_count = v.number, claim_token = NULL,
    next_attempt_at = NULL, last_attempt_at = v.started_at, last_status_code = v.status
FROM (VALUES %s) AS v(id, state, number, started_at, status)
WHERE d.id = v.id
"""
ENTITY = {
    "transactions": ("transaction", "create"),
    "customers": ("customer", None),
    "products": ("product", None),
    "stocks": ("stocks-book", None),
    "balances": ("balance", None),
}


def body_for(webhook_id, event, created_at) -> bytes:
    entities, action, version = event[1].split(".")
    entity = ENTITY[entities][0]
    stamp = created_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created_at.microsecond // 1000:03d}Z"
    head = json.dumps(
        {
            "webhook_id": str(webhook_id),
            "event_id": str(event[0]),
            "event_entity": entity,
            "event_type": action,
            "event_version": int(version[1:]),
            "entity_instance_id": str(event[2]),
            "timestamp": stamp,
        },
        separators=(",", ":"),
    )
    return f'{head[:-1]},"payload":{event[3]}}}'.encode()


async def main(database_url: str, webhooks: dict[str, dict[str, str]]) -> None:
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))

    async def post(row, event):
        webhook = webhooks[str(row[1])]
        body = body_for(row[1], event, row[4])
        headers = delivery_headers(
            body=body,
            signing_secrets=(webhook["secret"],),
            user_agent="Tillhub HTTP Connector/2.1.0",
        )
        started = time.time()
        try:
            async with session.post(webhook["url"], data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except Exception:
            status = None
        return row, started, (time.time() - started) * 1000, status

    while not stop.is_set():
        with connection.cursor() as cursor:
            cursor.execute(CLAIM, (str(uuid.uuid4()), BATCH))
            rows = cursor.fetchall()
            if not rows:
                await asyncio.sleep(0.05)
                continue
            cursor.execute(EVENTS, ([str(row[2]) for row in rows],))
            events = {str(row[0]): row for row in cursor.fetchall()}
        results = await asyncio.gather(*(post(row, events[str(row[2])]) for row in rows))
        attempts, updates = [], []
        for row, started, duration, status in results:
            ok = status is not None and 200 <= status < 300
            # Not psycopg2.TimestampFromTicks: it rounds .9999995 s up to a microsecond of
            # 1,000,000 and raises (it stopped a benchmark run).
            stamp = datetime.fromtimestamp(started, UTC)
            attempts.append(
                (
                    row[0],
                    row[1],
                    row[3] + 1,
                    "automatic",
                    stamp,
                    duration,
                    "success" if ok else "retry",
                    webhooks[str(row[1])]["url"],
                    "{}",
                    status,
                    "{}",
                    "",
                    "" if ok else "error",
                    "",
                    "[]",
                )
            )
            updates.append((row[0], "succeeded" if ok else "failed", row[3] + 1, stamp, status))
        with connection.cursor() as cursor:
            psycopg2.extras.execute_values(cursor, INSERT_ATTEMPTS, attempts, page_size=1000)
            psycopg2.extras.execute_values(
                cursor,
                UPDATE_DELIVERIES,
                updates,
                template="(%s, %s, %s, %s::timestamptz, %s::smallint)",
                page_size=1000,
            )
    await session.close()


if __name__ == "__main__":
    uvloop.install()
    with open(sys.argv[2]) as secrets:
        webhooks = json.load(secrets)
    asyncio.run(main(sys.argv[1], webhooks))
