"""The claim's cost under concurrency: K processes claim 500 due deliveries each at the same
moment, round after round, on PostgreSQL.

    python bench/claimers.py                 # K = 1, 2, 4, 8; 10 rounds each
    python bench/claimers.py --claimers 2 4 --rounds 5 --json out.json

Uses DATABASE_URL's server with a database of its own (`hookline_bench_claimers`, dropped and
created anew). For each K it fills K x rounds x 500 due deliveries (plus as many waiting for a
later retry, so the claim walks past rows it must not take), then starts K processes that meet
at a barrier before each round and time one claim (PostgresStorage.claim_due: the statement
itself, SKIP LOCKED and all, without building the jobs). Prints, per K, the median and p95
milliseconds of one claim and the rows claimed per second by all of them together, and checks
that no delivery was claimed twice.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_NAME = "hookline_bench_claimers"
BATCH = 500  # deliveries per claim, as the dispatcher claims (WEBHOOK_DISPATCH_BATCH_SIZE)


def database_urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path=f"/{DATABASE_NAME}")),
    )


def prepare(admin_url: str, bench_url: str) -> None:
    import subprocess

    import psycopg2

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE_NAME}")
    admin.close()
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key",  # noqa: S106 - a throwaway database
        LOG_LEVEL="WARNING",
        WEBHOOK_ALLOW_HTTP_LOCAL="true",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    import django

    django.setup()


def fill(due: int) -> None:
    """`due` deliveries due now and as many waiting for a retry a day away."""
    from django.db import connection

    from accounts.models import Account
    from deliveries.services.publishing import events_publish_batch
    from events.payloads import PayloadGenerator
    from webhooks.services import webhook_create

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE deliveries_attempt, deliveries_delivery, events_event RESTART IDENTITY"
        )
    account = Account.objects.first() or Account.objects.create(name="claimers")
    webhook = webhook_create(
        account=account,
        url="http://127.0.0.1:9/hook",
        events=["products.create.v0"],
        active=False,
    )
    payload = PayloadGenerator(seed=1).payload("products.create.v0")
    events_publish_batch(account=account, items=[("products.create.v0", payload)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, created_at FROM events_event LIMIT 1")
        event_id, created_at = cursor.fetchone()
        insert = """
            INSERT INTO deliveries_delivery (event_id, webhook_id, event_key,
                event_created_at, state, attempt_count, next_attempt_at, next_trigger,
                last_error_kind, created_at)
            SELECT %s, %s, 'products.create.v0', %s, %s, 1, now() + %s * interval '1 second',
                'automatic', '', now()
            FROM generate_series(1, %s)
        """
        cursor.execute(insert, [event_id, webhook.id, created_at, "failed", 86400, due])
        cursor.execute(insert, [event_id, webhook.id, created_at, "pending", -1, due])
        cursor.execute("ANALYZE deliveries_delivery")


def claimer(barrier, rounds: int, results) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.utils import timezone

    from deliveries.storage import PostgresStorage

    connection.close()  # the parent's connection is not ours to use after the fork
    storage = PostgresStorage()
    timings, claimed = [], []
    for _ in range(rounds):
        barrier.wait()
        now = timezone.now()
        clock = time.perf_counter()
        rows = storage.claim_due(
            limit=BATCH,
            now=now,
            lease_ends_at=now + timedelta(minutes=5),
            token=uuid.uuid4(),
            exclude_webhook_ids=[],
        )
        timings.append(time.perf_counter() - clock)
        claimed.extend(row["id"] for row in rows)
    connection.close()
    results.put((timings, claimed))


def measure(claimers: int, rounds: int) -> dict[str, float]:
    from django.db import connection

    fill(claimers * rounds * BATCH)
    connection.close()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(claimers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=claimer, args=(barrier, rounds, results)) for _ in range(claimers)
    ]
    for process in processes:
        process.start()
    started = None
    for _ in range(rounds):
        barrier.wait()
        started = started or time.perf_counter()
    collected = [results.get(timeout=300) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    timings = sorted(t for process_timings, _ in collected for t in process_timings)
    claimed = [delivery_id for _, ids in collected for delivery_id in ids]
    if len(claimed) != len(set(claimed)):
        raise RuntimeError(f"{len(claimed) - len(set(claimed))} deliveries claimed twice")
    return {
        "claim_ms_median": statistics.median(timings) * 1000,
        "claim_ms_p95": timings[int(0.95 * (len(timings) - 1))] * 1000,
        "rows_per_second": len(claimed) / elapsed,
        "claimed": len(claimed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--claimers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    prepare(*database_urls())
    figures = {claimers: measure(claimers, options.rounds) for claimers in options.claimers}
    print(f"\nConcurrent claims of {BATCH} (PostgreSQL, {options.rounds} rounds each)")
    print(f"  {'claimers':>8}  {'median ms':>10}  {'p95 ms':>8}  {'rows/s, all':>12}")
    for claimers, figure in figures.items():
        print(
            f"  {claimers:>8}  {figure['claim_ms_median']:>10.1f}  {figure['claim_ms_p95']:>8.1f}"
            f"  {figure['rows_per_second']:>12,.0f}"
        )
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
