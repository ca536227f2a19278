"""Server time of the pages that list deliveries and events, with 1,000,000 deliveries in one
account (issue 13: each under 300 ms on PostgreSQL).

    python bench/pages.py                  # 1,000,000 deliveries, 5 timed requests per page
    python bench/pages.py --deliveries 20000 --repeat 2    # a quick look

It creates a database of its own on DATABASE_URL's server (`hookline_pages_bench`, dropped
first and at the end unless --keep), migrates it, makes one account with four webhooks and
fills it in a few statements (`INSERT ... SELECT generate_series`): one event per four
deliveries, spread over the last 7 days, most delivered at the first attempt, some failing
(503, 404, timeouts), some queued, paused or given up, one attempt row per attempted delivery.
Then it asks each page and endpoint through Django's test client in this process, so the
figure is the server's time (routing, queries, rendering) without a network, and prints the
median and the slowest of the timed requests after one warm-up request.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_NAME = "hookline_pages_bench"
# Subscriptions of the account: the deliveries are spread evenly over them.
WEBHOOKS = 4
# How far back the events go: the retention period, so every row is one a user may look at.
SPREAD_SECONDS = 7 * 86400
# Server time each page must stay under (issue 13).
TARGET_MS = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def server_url(database: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", "", ""))


def recreate_database(*, drop_only: bool = False) -> None:
    import psycopg2

    admin = psycopg2.connect(server_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")
        if not drop_only:
            cursor.execute(f"CREATE DATABASE {DATABASE_NAME}")
    admin.close()


def setup_django() -> None:
    os.environ["DATABASE_URL"] = server_url(DATABASE_NAME)
    os.environ.setdefault("SECRET_KEY", "pages-bench-only")
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


FILL_EVENTS = """
INSERT INTO events_event (id, account_id, key, entity_instance_id, payload_json, source,
                          created_at)
SELECT gen_random_uuid(), %(account)s,
       (ARRAY['customers.create.v0', 'products.update.v0', 'transactions.create.v0'])[1 + n %% 3],
       gen_random_uuid(), '{"id": "bench"}', 'api',
       now() - make_interval(secs => %(spread)s * (%(events)s - n)::float / %(events)s)
FROM generate_series(1, %(events)s) AS n
"""

# Per delivery, by its bucket ((event row number * 4 + webhook index) mod 100): 88 % succeeded
# at once, 5 % pending retry after a 503, 2 % after a timeout, 2 % given up after 404s, 2 %
# queued (never attempted), 1 % paused.
FILL_DELIVERIES = """
INSERT INTO deliveries_delivery (event_id, webhook_id, event_key, event_created_at, state,
    attempt_count, next_attempt_at, next_trigger, last_attempt_at, last_status_code,
    last_error_kind, last_duration_ms, succeeded_at, created_at)
SELECT event_id, webhook_id, key, created_at, state, attempts,
       CASE WHEN state = 'failed' THEN created_at + interval '1 hour' END,
       'automatic',
       CASE WHEN attempts > 0 THEN created_at + interval '40 milliseconds' END,
       CASE WHEN bucket < 88 THEN 200 WHEN bucket < 93 THEN 503 WHEN bucket < 95 THEN NULL
            WHEN bucket < 97 THEN 404 END,
       CASE WHEN bucket < 88 THEN '' WHEN bucket < 93 THEN 'http_status'
            WHEN bucket < 95 THEN 'timeout' WHEN bucket < 97 THEN 'http_status' ELSE '' END,
       CASE WHEN attempts > 0 THEN 40 + bucket %% 50 END,
       CASE WHEN state = 'succeeded' THEN created_at + interval '40 milliseconds' END,
       created_at
FROM (
    SELECT e.id AS event_id, w.id AS webhook_id, e.key, e.created_at, b.bucket,
           CASE WHEN b.bucket < 88 THEN 'succeeded' WHEN b.bucket < 95 THEN 'failed'
                WHEN b.bucket < 97 THEN 'gave_up' WHEN b.bucket < 99 THEN 'pending'
                ELSE 'paused' END AS state,
           CASE WHEN b.bucket < 88 THEN 1 WHEN b.bucket < 93 THEN 2 WHEN b.bucket < 95 THEN 1
                WHEN b.bucket < 97 THEN 3 ELSE 0 END AS attempts
    FROM (SELECT id, key, created_at, row_number() OVER (ORDER BY created_at) AS r
          FROM events_event WHERE account_id = %(account)s) AS e
    CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i
                FROM webhooks_webhook WHERE account_id = %(account)s) AS w
    CROSS JOIN LATERAL (SELECT ((e.r * 4 + w.i) %% 100)::int AS bucket) AS b
    ORDER BY e.created_at, w.i
) AS rows
"""

# One attempt row per attempted delivery (its latest), as the recorder writes it.
FILL_ATTEMPTS = """
INSERT INTO deliveries_attempt (delivery_id, webhook_id, number, trigger, started_at,
    duration_ms, outcome, request_url, request_headers, response_status, response_headers,
    response_body, error_kind, error_message, redirect_hops)
SELECT d.id, d.webhook_id, d.attempt_count, 'automatic', d.last_attempt_at,
       d.last_duration_ms, CASE WHEN d.state = 'succeeded' THEN 'success' ELSE 'retry' END,
       'https://shop.example.com/hook', '{"Content-Type": "application/json"}',
       d.last_status_code, '{}', '', d.last_error_kind, '', '[]'
FROM deliveries_delivery AS d
WHERE d.attempt_count > 0
"""


def fill(deliveries: int) -> dict[str, Any]:
    """The account, its webhooks and `deliveries` deliveries; returns what the pages need."""
    from django.db import connection

    from accounts.services import account_create
    from deliveries.models import Delivery
    from webhooks.services import webhook_create

    created = account_create(
        account_name="Bench Shop", username="bench", password=secrets.token_urlsafe(16)
    )
    account = created.account
    webhooks = [
        webhook_create(
            account=account,
            url=f"https://shop.example.com/hook/{index}",
            events=["customers.create.v0", "products.update.v0", "transactions.create.v0"],
        )
        for index in range(WEBHOOKS)
    ]
    events = max(1, deliveries // WEBHOOKS)
    values = {"account": account.id, "events": events, "spread": SPREAD_SECONDS}
    with connection.cursor() as cursor:
        for name, statement in (
            ("events", FILL_EVENTS),
            ("deliveries", FILL_DELIVERIES),
            ("attempts", FILL_ATTEMPTS),
        ):
            started = time.perf_counter()
            cursor.execute(statement, values)
            elapsed = time.perf_counter() - started
            print(f"  filled {name}: {cursor.rowcount:,} rows in {elapsed:.1f} s")
        cursor.execute("VACUUM ANALYZE")
    sample = Delivery.objects.filter(webhook=webhooks[0], state="failed").order_by("id").last()
    assert sample is not None
    return {
        "user": created.user,
        "token": created.token,
        "webhook": webhooks[0],
        "delivery": sample,
        "event": sample.event,
    }


def pages(data: dict[str, Any]) -> list[tuple[str, str]]:
    webhook = data["webhook"].id
    delivery = data["delivery"]
    event = data["event"]
    return [
        ("dashboard: overview", "/"),
        ("dashboard: webhook detail (metrics 24 h, chart, history)", f"/webhooks/{webhook}/"),
        ("dashboard: detail, metrics over 7 days", f"/webhooks/{webhook}/?window=7d"),
        ("dashboard: live poll (history + metrics + chart)", f"/webhooks/{webhook}/history/"),
        ("dashboard: history page 400", f"/webhooks/{webhook}/?page=400"),
        ("dashboard: history, status failure", f"/webhooks/{webhook}/?status=failure"),
        ("dashboard: Deliveries (all webhooks)", "/deliveries/"),
        ("dashboard: Deliveries page 400", "/deliveries/?page=400"),
        ("dashboard: Deliveries, status paused", "/deliveries/?status=paused"),
        ("dashboard: Deliveries, status code 5xx", "/deliveries/?status_code=5xx"),
        (
            "dashboard: Deliveries, webhook + failure",
            f"/deliveries/?webhook={webhook}&status=failure",
        ),
        ("dashboard: Deliveries, q = delivery id", f"/deliveries/?q={delivery.id}"),
        ("dashboard: Deliveries, q = event id", f"/deliveries/?q={event.id}"),
        ("dashboard: Deliveries, q = entity id", f"/deliveries/?q={event.entity_instance_id}"),
        ("dashboard: Events", "/events/"),
        ("dashboard: Events page 500", "/events/?page=500"),
        ("dashboard: delivery detail", f"/deliveries/{delivery.id}/"),
        ("API: GET /deliveries/", "/api/v1/deliveries/"),
        ("API: /deliveries/?status_code=4xx", "/api/v1/deliveries/?status_code=4xx"),
        ("API: /deliveries/?q=<entity id>", f"/api/v1/deliveries/?q={event.entity_instance_id}"),
        ("API: /deliveries/?offset=9000", "/api/v1/deliveries/?offset=9000"),
        ("API: webhook deliveries", f"/api/v1/webhooks/{webhook}/deliveries/"),
        ("API: webhook metrics 24 h", f"/api/v1/webhooks/{webhook}/metrics/"),
        ("API: GET /events/", "/api/v1/events/"),
    ]


def time_pages(data: dict[str, Any], repeat: int) -> list[tuple[str, float, float, int]]:
    from django.test import Client

    browser = Client()
    browser.force_login(data["user"])
    api = Client(HTTP_AUTHORIZATION=f"Token {data['token']}")
    results = []
    for name, path in pages(data):
        client = api if path.startswith("/api/") else browser
        client.get(path)  # warm-up: connection, caches, plans
        timings = []
        status = 0
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            status = response.status_code
        results.append((name, statistics.median(timings), max(timings), status))
    return results


def main() -> None:
    args = parse_args()
    print(f"Creating {DATABASE_NAME} with {args.deliveries:,} deliveries ...")
    recreate_database()
    try:
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        data = fill(args.deliveries)
        print(f"  filled in {time.perf_counter() - started:.0f} s")
        results = time_pages(data, args.repeat)
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep:
            recreate_database(drop_only=True)
    width = max(len(name) for name, *_ in results)
    print(f"\n{'page':<{width}}  median ms    max ms  status")
    for name, median, slowest, status in results:
        flag = "" if slowest < TARGET_MS else f"  over {TARGET_MS} ms"
        print(f"{name:<{width}}  {median:9.1f} {slowest:9.1f}  {status}{flag}")


if __name__ == "__main__":
    main()
