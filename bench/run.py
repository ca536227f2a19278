"""Hookline's delivery benchmark: one command, bounded scenarios, a table of figures.

    python bench/run.py            # full run (N = 50,000 events x 4 subscriptions, 3 runs each)
    python bench/run.py --smoke    # seconds: small N, one run (the test suite runs this)

It uses PostgreSQL and Redis as they run on this machine (DATABASE_URL's server, a database of
its own named `hookline_bench`, dropped and created anew; REDIS_URL's server, database 13;
HOOKLINE_BENCH_DATABASE, HOOKLINE_BENCH_REDIS_DB and HOOKLINE_BENCH_PORT change them), and
starts everything else itself: Hookline's workers, fast local receivers, the two baselines.

Scenarios (figures are medians over --runs):
 1  throughput: N events fanned out to K subscriptions, from first publish to last attempt
    recorded; baselines (a) raw async batch script and (b) one Celery task per delivery, with
    Hookline's throughput as a ratio to each
 3  latency: publish-to-first-attempt p50/p95/p99 at half the measured maximum rate
 3b the throughput scenario against a receiver that takes 100 ms per response
 4  isolation: throughput with one extra subscription whose endpoint hangs until the timeout
 5  backlog: time to claim one batch with 10,000 and with 1,000,000 deliveries waiting for retry
 7  worker processes: scenario 1 with 1 and with 2 worker processes, in the same run
 8  sqlite: scenario 1 on the embedded default (`make run`'s SQLite file and filesystem broker,
    bench/embedded.py, --sqlite-events events), as a ratio to scenario 1 of the same run

Besides the table it writes the figures as JSON and a chart of throughput over time per
scenario (raw baseline beside them) as a PNG, under bench/results/ unless --results says
otherwise (the smoke mode: a temporary folder).
 6  ordering: the throughput scenario's N events spread over 1,000 entities, to subscriptions
    with `ordering: "entity"` (one delivery per entity at a time), as a ratio to the same
    events with ordering off
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.chart import draw_chart  # noqa: E402
from bench.cpu import CpuMeter, describe  # noqa: E402

PYTHON = sys.executable
CELERY = str(Path(PYTHON).parent / "celery")
# Two benchmarks on one machine (engineers side by side) each set these to their own values:
# the receivers' first port, the database's name and the Redis database's number.
_PORT = int(os.environ.get("HOOKLINE_BENCH_PORT", "18081"))
RECEIVER_PORTS = {"fast": _PORT, "slow": _PORT + 1, "hang": _PORT + 2}
DATABASE_NAME = os.environ.get("HOOKLINE_BENCH_DATABASE", "hookline_bench")
REDIS_DATABASE = int(os.environ.get("HOOKLINE_BENCH_REDIS_DB", "13"))
# Entities the ordering scenario spreads its events over (the figure): each entity's
# events go one at a time, so at most this many deliveries per subscription are in flight.
ORDERING_ENTITIES = 1_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny N, one run: checks it works")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--task-baseline-deliveries",
        type=int,
        default=20_000,
        help="deliveries for the slow task-per-delivery baseline",
    )
    parser.add_argument("--backlog", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--json", help="write the figures to this file (default: in --results)")
    parser.add_argument(
        "--results",
        type=Path,
        help="folder for the JSON and the PNG chart (default: bench/results/, smoke: a temp dir)",
    )
    parser.add_argument(
        "--note", default="", help="a line for the chart's title, e.g. 'machine busy, run 2'"
    )
    parser.add_argument(
        "--sqlite-events",
        type=int,
        default=10_000,
        help="events for the embedded-default scenario (SQLite is slower to fill)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(SCENARIOS),
        help="run only these scenarios (for profiling; the full table needs all of them)",
    )
    options = parser.parse_args()
    if options.smoke:
        options.events, options.subscriptions, options.runs = 300, 2, 1
        options.task_baseline_deliveries = 200
        options.backlog = [1_000, 10_000]
        options.sqlite_events = 200
    if options.results is None:
        options.results = (
            Path(tempfile.mkdtemp(prefix="hookline-bench-results-"))
            if options.smoke
            else ROOT / "bench" / "results"
        )
    return options


def database_urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    admin = urlunsplit(parts._replace(path="/postgres"))
    return admin, urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))


ADMIN_URL, BENCH_URL = database_urls()
REDIS_URL = urlunsplit(
    urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(
        path=f"/{REDIS_DATABASE}"
    )
)
ENVIRONMENT = {
    **os.environ,
    "DATABASE_URL": BENCH_URL,
    "REDIS_URL": REDIS_URL,
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key",
    "WEBHOOK_ALLOW_HTTP_LOCAL": "true",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "LOG_LEVEL": "WARNING",
    "PYTHONPATH": str(ROOT),
}


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="hookline-bench-"))

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=ENVIRONMENT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.remove(process)

    def check_alive(self) -> None:
        for process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited; see the logs in {self.logs}")

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process)


def prepare_database() -> None:
    import psycopg2

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE_NAME}")
    admin.close()
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=ENVIRONMENT,
        check=True,
    )
    os.environ.update({k: v for k, v in ENVIRONMENT.items() if k != "PYTHONPATH"})
    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"receiver on {port} did not start")


class Bench:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.processes = Processes()
        from accounts.models import Account

        self.account = Account.objects.create(name="bench")
        self.cpu_shares: dict[str, dict[str, float]] = {}
        # Scenario -> [[seconds since its start, deliveries recorded], ...] (its last run).
        self.timelines: dict[str, list[list[float]]] = {}
        for name, port in RECEIVER_PORTS.items():
            extra = {"slow": ["--latency-ms", "100"], "hang": ["--hang"]}.get(name, [])
            self.processes.start(
                f"receiver-{name}", [PYTHON, "bench/receiver.py", str(port), *extra]
            )
            wait_for_port(port)

    # --- helpers ---------------------------------------------------------------------------
    @contextmanager
    def cpu(self, scenario: str) -> Iterator[None]:
        """Record the cores each role used during the scenario (the last run of it)."""
        with CpuMeter() as meter:
            yield
        self.cpu_shares[scenario] = meter.shares()

    @contextmanager
    def timeline(self, scenario: str, webhook_ids: list | None = None) -> Iterator[None]:
        """Sample the attempts recorded during the scenario (for the chart), on a thread of its
        own with its own connection, so that publishing is sampled too."""
        from django.db import connection

        samples: list[list[float]] = []
        done = threading.Event()
        started = time.monotonic()

        def sample() -> None:
            try:
                while not done.is_set():
                    recorded = self.attempts_recorded(webhook_ids)
                    samples.append([time.monotonic() - started, recorded])
                    done.wait(TIMELINE_INTERVAL_SECONDS)
            finally:
                connection.close()

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            done.set()
            sampler.join()
        samples.append([time.monotonic() - started, self.attempts_recorded(webhook_ids)])
        self.timelines[scenario] = samples

    def reset(self) -> None:
        from django.db import connection

        from webhooks.models import Webhook

        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE deliveries_attempt, deliveries_delivery, events_event RESTART IDENTITY"
            )
        Webhook.objects.all().delete()
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    def webhooks(self, receiver: str, count: int, **fields: object) -> list:
        from webhooks.services import webhook_create

        return [
            webhook_create(
                account=self.account,
                url=f"http://127.0.0.1:{RECEIVER_PORTS[receiver]}/hook/{index}",
                events=["products.create.v0"],
                max_in_flight=None,
                **fields,
            )
            for index in range(count)
        ]

    def items(self, count: int) -> list:
        from events.payloads import PayloadGenerator

        generator = PayloadGenerator(seed=1)
        return [
            ("products.create.v0", generator.payload("products.create.v0")) for _ in range(count)
        ]

    def entity_items(self, count: int, entities: int) -> list:
        """`count` events cycling over `entities` entity ids, so each entity's events are
        spread through the stream as interleaved updates would be."""
        from events.payloads import PayloadGenerator

        generator = PayloadGenerator(seed=1)
        ids = [generator.world.uuid() for _ in range(entities)]
        return [
            (
                "products.create.v0",
                generator.payload("products.create.v0", ids[index % entities]),
            )
            for index in range(count)
        ]

    def publish(self, items: list, batch: int = 500) -> None:
        from deliveries.services.publishing import events_publish_batch

        for start in range(0, len(items), batch):
            events_publish_batch(account=self.account, items=items[start : start + batch])

    def attempts_recorded(self, webhook_ids: list | None = None) -> int:
        from deliveries.models import Attempt

        attempts = Attempt.objects.all()
        if webhook_ids is not None:
            attempts = attempts.filter(webhook_id__in=webhook_ids)
        return attempts.count()

    def wait_recorded(
        self, expected: int, webhook_ids: list | None = None, timeout: float = 900
    ) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.processes.check_alive()
            if self.attempts_recorded(webhook_ids) >= expected:
                return time.monotonic()
            time.sleep(0.2)  # a count over every attempt: not too often
        raise RuntimeError(f"only {self.attempts_recorded(webhook_ids)} of {expected} attempts")

    def celery_workers(
        self, name: str, app: str, *extra: str, processes: int | None = None
    ) -> subprocess.Popen[bytes]:
        return self.processes.start(
            name,
            [
                CELERY,
                "-A",
                app,
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(processes or self.options.worker_processes),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *extra,
            ],
        )

    def hookline_workers(self, processes: int | None = None) -> subprocess.Popen[bytes]:
        return self.celery_workers("hookline-worker", "config", processes=processes)

    def warm_up(self) -> None:
        self.reset()
        self.webhooks("fast", 1)
        self.publish(self.items(50))
        self.wait_recorded(50, timeout=60)

    # --- scenarios -------------------------------------------------------------------------
    def throughput(
        self, receiver: str = "fast", hanging: bool = False, label: str | None = None
    ) -> float:
        self.reset()
        healthy = self.webhooks(receiver, self.options.subscriptions)
        if hanging:
            from webhooks.services import webhook_create

            webhook_create(
                account=self.account,
                url=f"http://127.0.0.1:{RECEIVER_PORTS['hang']}/hook",
                events=["products.create.v0"],
                max_in_flight=100,
            )
        items = self.items(self.options.events)
        expected = self.options.events * len(healthy)
        label = label or f"throughput-{receiver}{'-hanging' if hanging else ''}"
        with self.cpu(label), self.timeline(label, [w.id for w in healthy]):
            started = time.monotonic()
            self.publish(items)
            finished = self.wait_recorded(expected, [w.id for w in healthy])
        return expected / (finished - started)

    def ordering_throughput(self, ordered: bool) -> float:
        """Scenario 6: deliveries/s of N events over ORDERING_ENTITIES entities, with the
        subscriptions' ordering on or off (everything else as scenario 1)."""
        self.reset()
        webhooks = self.webhooks(
            "fast", self.options.subscriptions, ordering="entity" if ordered else "none"
        )
        items = self.entity_items(self.options.events, ORDERING_ENTITIES)
        expected = self.options.events * len(webhooks)
        with self.cpu(f"ordering-{'on' if ordered else 'off'}"):
            started = time.monotonic()
            self.publish(items)
            finished = self.wait_recorded(expected, [w.id for w in webhooks])
        return expected / (finished - started)

    def raw_baseline(self) -> float:
        self.reset()
        webhooks = self.webhooks("fast", self.options.subscriptions)
        secrets = Path(self.processes.logs / "secrets.json")
        secrets.write_text(
            json.dumps({str(w.id): {"url": w.url, "secret": w.secret} for w in webhooks})
        )
        consumers = [
            self.processes.start(
                f"raw-{index}", [PYTHON, "bench/baseline_raw.py", BENCH_URL, str(secrets)]
            )
            for index in range(self.options.worker_processes)
        ]
        time.sleep(1)
        items = self.items(self.options.events)
        expected = self.options.events * len(webhooks)
        with self.cpu("raw baseline"), self.timeline("raw baseline"):
            started = time.monotonic()
            self.publish(items)
            finished = self.wait_recorded(expected)
        for consumer in consumers:
            self.processes.stop(consumer)
        return expected / (finished - started)

    def task_baseline(self) -> float:
        from bench.baseline_tasks import deliver_one
        from deliveries.models import Delivery

        self.reset()
        webhooks = self.webhooks("fast", self.options.subscriptions)
        worker = self.celery_workers("task-worker", "bench.baseline_tasks", "-Q", "bench-tasks")
        time.sleep(3)
        events = max(1, self.options.task_baseline_deliveries // len(webhooks))
        items = self.items(events)
        expected = events * len(webhooks)
        started = time.monotonic()
        for start in range(0, len(items), 500):
            from deliveries.services.publishing import events_publish_batch

            published = events_publish_batch(account=self.account, items=items[start : start + 500])
            # Only the task queue sends: the deliveries are parked away from Hookline's claims.
            ids = list(Delivery.objects.filter(event_id__in=published).values_list("id", flat=True))
            Delivery.objects.filter(id__in=ids).update(state="paused", next_attempt_at=None)
            for delivery_id in ids:
                deliver_one.delay(delivery_id)
        finished = self.wait_recorded(expected)
        self.processes.stop(worker)
        return expected / (finished - started)

    def embedded(self) -> float:
        """Scenario 8: scenario 1 on the embedded default, in a process of its own
        (bench/embedded.py) against the same fast receiver."""
        folder = Path(tempfile.mkdtemp(prefix="hookline-bench-sqlite-"))
        output = folder / "figures.json"
        subprocess.run(
            [
                PYTHON,
                "bench/embedded.py",
                "--folder",
                str(folder),
                "--port",
                str(RECEIVER_PORTS["fast"]),
                "--events",
                str(self.options.sqlite_events),
                "--subscriptions",
                str(self.options.subscriptions),
                "--worker-processes",
                str(self.options.worker_processes),
                "--json",
                str(output),
            ],
            cwd=ROOT,
            check=True,
            timeout=900,
        )
        figures = json.loads(output.read_text())
        self.timelines["sqlite (embedded)"] = figures["samples"]
        # Measured inside: the meter here would miss its processes, gone by the end.
        self.cpu_shares["sqlite (embedded)"] = figures["cpu"]
        return figures["throughput"]

    def latency(self, deliveries_per_second: float, seconds: float) -> dict[str, float]:
        from django.db import connection

        from deliveries.services.publishing import events_publish_batch

        self.reset()
        webhooks = self.webhooks("fast", self.options.subscriptions)
        events_per_second = deliveries_per_second / len(webhooks)
        items = self.items(int(events_per_second * seconds) + 1)
        tick = 0.02
        started = time.monotonic()
        sent = 0
        while sent < len(items):
            due = min(len(items), int((time.monotonic() - started) * events_per_second) + 1)
            if due > sent:
                events_publish_batch(account=self.account, items=items[sent:due])
                sent = due
            time.sleep(tick)
        self.wait_recorded(len(items) * len(webhooks))
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
                    ORDER BY extract(epoch FROM a.started_at - d.event_created_at) * 1000)
                FROM deliveries_attempt a JOIN deliveries_delivery d ON d.id = a.delivery_id
                WHERE a.number = 1
            """)
            p50, p95, p99 = cursor.fetchone()[0]
        return {"p50": p50, "p95": p95, "p99": p99, "rate": deliveries_per_second}

    def backlog(self, waiting: int) -> float:
        """Median seconds to claim one batch of 500 due deliveries behind `waiting` retries."""
        from django.db import connection

        from deliveries.services.claiming import deliveries_claim_due

        self.reset()
        (webhook,) = self.webhooks("fast", 1, active=False)
        self.publish(self.items(1))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, created_at FROM events_event LIMIT 1")
            event_id, created_at = cursor.fetchone()
            insert = """
                INSERT INTO deliveries_delivery (event_id, webhook_id, event_key,
                    event_created_at, state, attempt_count, next_attempt_at, next_trigger,
                    last_error_kind, created_at)
                SELECT %s, %s, 'products.create.v0', %s, %s, 3, now() + %s * interval '1 second',
                    'automatic', '', now()
                FROM generate_series(1, %s)
            """
            cursor.execute(insert, [event_id, webhook.id, created_at, "failed", 86400, waiting])
            cursor.execute(insert, [event_id, webhook.id, created_at, "pending", -1, 500])
            cursor.execute("ANALYZE deliveries_delivery")
        timings = []
        for _ in range(7):
            with connection.cursor() as cursor:
                cursor.execute("""UPDATE deliveries_delivery SET state = 'pending',
                    next_attempt_at = now() - interval '1 second', claim_token = NULL
                    WHERE state = 'sending'""")
            clock = time.perf_counter()
            jobs = deliveries_claim_due(limit=500)
            timings.append(time.perf_counter() - clock)
            assert len(jobs) == 500, len(jobs)
        return statistics.median(timings)


def median_of(runs: int, measure) -> float:
    return statistics.median(measure() for _ in range(runs))


SCENARIOS = (
    "throughput",
    "slow",
    "hanging",
    "latency",
    "raw",
    "tasks",
    "backlog",
    "ordering",
    "processes",
    "sqlite",
)
# Seconds between counts of the recorded attempts for the chart (each is a count query).
TIMELINE_INTERVAL_SECONDS = 0.25
# Worker processes compared by scenario 7 (this machine has two cores).
SCALING_PROCESSES = (1, 2)


def main() -> int:
    options = parse_args()
    wanted = set(options.only or SCENARIOS)
    prepare_database()
    bench = Bench(options)
    figures: dict[str, object] = {}
    runs = options.runs
    if "sqlite" in wanted:
        wanted.add("throughput")  # its ratio's denominator, from the same run
    try:
        if wanted & {"throughput", "slow", "hanging", "latency", "ordering"}:
            workers = bench.hookline_workers()
            bench.warm_up()
            if "throughput" in wanted or "latency" in wanted:
                figures["throughput"] = median_of(runs, bench.throughput)
            if "slow" in wanted:
                figures["throughput_slow_receiver"] = median_of(
                    runs, lambda: bench.throughput("slow")
                )
            if "hanging" in wanted:
                figures["throughput_with_hanging"] = median_of(
                    runs, lambda: bench.throughput(hanging=True)
                )
            if "latency" in wanted:
                latency_seconds = 3 if options.smoke else 10
                figures["latency"] = bench.latency(figures["throughput"] / 2, latency_seconds)
            if "ordering" in wanted:
                figures["ordering_off"] = median_of(
                    runs, lambda: bench.ordering_throughput(ordered=False)
                )
                figures["ordering_on"] = median_of(
                    runs, lambda: bench.ordering_throughput(ordered=True)
                )
            bench.processes.stop(workers)
        if "processes" in wanted:
            figures["throughput_by_worker_processes"] = {}
            for processes in SCALING_PROCESSES:
                workers = bench.hookline_workers(processes)
                bench.warm_up()
                figures["throughput_by_worker_processes"][processes] = median_of(
                    runs, lambda p=processes: bench.throughput(label=f"{p} worker process(es)")
                )
                bench.processes.stop(workers)
        if "sqlite" in wanted:
            figures["throughput_sqlite"] = median_of(runs, bench.embedded)
        if "raw" in wanted:
            figures["baseline_raw"] = median_of(runs, bench.raw_baseline)
        if "tasks" in wanted:
            figures["baseline_tasks"] = median_of(runs, bench.task_baseline)
        if "backlog" in wanted:
            figures["backlog"] = {waiting: bench.backlog(waiting) for waiting in options.backlog}
    finally:
        bench.processes.stop_all()
    figures["cpu_cores_by_role"] = bench.cpu_shares
    figures["timelines"] = bench.timelines
    report(options, figures)
    save_results(options, figures)
    return 0


def save_results(options: argparse.Namespace, figures: dict) -> None:
    """The figures as JSON and the chart as PNG, named after the run's start (UTC)."""
    options.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    json_path = Path(options.json) if options.json else options.results / f"run-{stamp}.json"
    json_path.write_text(json.dumps(figures, indent=2, default=str))
    png_path = options.results / f"run-{stamp}.png"
    title = (
        f"Hookline benchmark ({'smoke' if options.smoke else 'full'}: N={options.events} x "
        f"{options.subscriptions}, {options.worker_processes} worker processes)"
        + (f"\n{options.note}" if options.note else "")
    )
    draw_chart(figures["timelines"], png_path, title=title)
    print(f"\nFigures: {json_path}\nChart:   {png_path}")


def report(options: argparse.Namespace, figures: dict) -> None:
    throughput = figures.get("throughput")
    rows: list[tuple[str, str, str]] = []

    def ratio(value: float | None, other: float | None, form: str = "{:.2f}") -> str:
        return form.format(value / other) if value and other else "-"

    def rate(value: float | None) -> str:
        return f"{value:,.0f}" if value is not None else "-"

    raw, tasks = figures.get("baseline_raw"), figures.get("baseline_tasks")
    slow, hanging = figures.get("throughput_slow_receiver"), figures.get("throughput_with_hanging")
    rows += [
        ("1 throughput (deliveries/s)", rate(throughput), ">= 10,000"),
        ("1a raw baseline (deliveries/s)", rate(raw), ""),
        ("1a ratio to raw", ratio(throughput, raw), ">= 0.75"),
        ("1b task-per-delivery baseline (deliveries/s)", rate(tasks), ""),
        ("1b ratio to task-per-delivery", ratio(throughput, tasks, "{:.1f}x"), ">= 12x"),
    ]
    if "latency" in figures:
        latency = figures["latency"]
        rows.append(
            (
                f"3 latency at {latency['rate']:,.0f}/s: p50 / p95 / p99 (ms)",
                f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['p99']:.0f}",
                "p99 < 250",
            )
        )
    rows += [
        ("3b throughput, 100 ms receiver (deliveries/s)", rate(slow), ""),
        ("3b ratio to fast receiver", ratio(slow, throughput), ">= 0.80"),
        ("4 healthy throughput with a hanging endpoint", rate(hanging), ""),
        ("4 ratio to scenario 1", ratio(hanging, throughput), ">= 0.90"),
    ]
    if "ordering_on" in figures:
        ordered, unordered = figures["ordering_on"], figures["ordering_off"]
        rows += [
            (f"6 throughput, {ORDERING_ENTITIES:,} entities, ordering off", rate(unordered), ""),
            ("6 the same with ordering per entity", rate(ordered), ""),
            ("6 ratio ordering on / off", ratio(ordered, unordered), ">= 0.70"),
        ]
    if "backlog" in figures:
        small, large = options.backlog
        backlog = figures["backlog"]
        rows += [
            (f"5 claim a batch, {small:,} waiting (ms)", f"{backlog[small] * 1000:.1f}", ""),
            (f"5 claim a batch, {large:,} waiting (ms)", f"{backlog[large] * 1000:.1f}", ""),
            ("5 ratio", ratio(backlog[large], backlog[small]), "<= 2"),
        ]
    by_processes = figures.get("throughput_by_worker_processes")
    if by_processes:
        one, two = (by_processes.get(p) for p in SCALING_PROCESSES)
        rows += [
            ("7 throughput, 1 worker process", rate(one), ""),
            ("7 throughput, 2 worker processes", rate(two), ""),
            ("7 ratio 2 / 1 processes", ratio(two, one), ""),
        ]
    if "throughput_sqlite" in figures:
        sqlite = figures["throughput_sqlite"]
        rows += [
            (f"8 sqlite (embedded) throughput, N={options.sqlite_events:,}", rate(sqlite), ""),
            ("8 ratio to PostgreSQL (scenario 1)", ratio(sqlite, throughput), ""),
        ]
    mode = "smoke" if options.smoke else "full"
    print(
        f"\nHookline benchmark ({mode}: N={options.events} events x {options.subscriptions} "
        f"subscriptions, {options.worker_processes} worker processes, median of {options.runs})"
    )
    width = max(len(name) for name, _, _ in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>16}  {target}")
    print("\nCPU by role, cores used on average (last run of each scenario):")
    for scenario, shares in figures["cpu_cores_by_role"].items():
        print(f"  {scenario:<24} {describe(shares)}")


if __name__ == "__main__":
    sys.exit(main())
