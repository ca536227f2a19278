"""The throughput scenario on the embedded default (`make run`'s SQLite file and filesystem
broker, no server at all), run by bench/run.py (`--only sqlite`) in a process of its own so
that it sees a settings module built for SQLite.

    python bench/embedded.py --folder DIR --port 18081 --events N --subscriptions K \
        --worker-processes P --json OUT

Creates DIR/hookline.sqlite3 and DIR/broker, starts Hookline's workers on them, publishes N
events to K subscriptions pointed at the receiver on PORT, waits for every attempt and writes
{"throughput": deliveries/s, "samples": [[seconds, attempts], ...], "cpu": {role: cores}}
to OUT.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.cpu import CpuMeter  # noqa: E402

CELERY = str(Path(sys.executable).parent / "celery")
# Seconds between counts of the recorded attempts (a count reads the whole attempts table:
# not too often; often enough for the chart of throughput over time).
SAMPLE_INTERVAL_SECONDS = 0.2
# Seconds the whole scenario may take before it is called failed.
TIMEOUT_SECONDS = 300


def embedded_environment(folder: Path) -> dict[str, str]:
    """The environment of `make run` without a `.env`: no server URLs, files under `folder`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    environment.update(
        # Set empty rather than left out, so that a local `.env` cannot bring a server back.
        REDIS_URL="",
        DATABASE_URL=f"sqlite:///{folder / 'hookline.sqlite3'}",
        HOOKLINE_VAR_DIR=str(folder),
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key",  # noqa: S106 - a throwaway database
        WEBHOOK_ALLOW_HTTP_LOCAL="true",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--subscriptions", type=int, required=True)
    parser.add_argument("--worker-processes", type=int, required=True)
    parser.add_argument("--json", type=Path, required=True)
    options = parser.parse_args()

    environment = embedded_environment(options.folder)
    # As `make run` does: the filesystem broker expects its folders to exist.
    for folder in ("broker/processed", "broker/control"):
        (options.folder / folder).mkdir(parents=True, exist_ok=True)
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import Account
    from deliveries.models import Attempt
    from deliveries.services.publishing import events_publish_batch
    from events.payloads import PayloadGenerator
    from webhooks.services import webhook_create

    account = Account.objects.create(name="bench-embedded")
    for index in range(options.subscriptions):
        webhook_create(
            account=account,
            url=f"http://127.0.0.1:{options.port}/hook/{index}",
            events=["products.create.v0"],
            max_in_flight=None,
        )
    generator = PayloadGenerator(seed=1)

    def publish(count: int) -> None:
        items = [
            ("products.create.v0", generator.payload("products.create.v0")) for _ in range(count)
        ]
        for start in range(0, len(items), 500):
            events_publish_batch(account=account, items=items[start : start + 500])

    def publish_then_close(count: int) -> None:
        try:
            publish(count)
        finally:
            connection.close()

    def wait_for(expected: int, started: float, already: int = 0) -> list[list[float]]:
        samples = []
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError("the embedded worker exited")
            recorded = Attempt.objects.count()
            samples.append([time.monotonic() - started, recorded - already])
            if recorded >= expected:
                return samples
            time.sleep(SAMPLE_INTERVAL_SECONDS)
        raise RuntimeError(f"only {Attempt.objects.count()} of {expected} attempts")

    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(options.worker_processes),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=environment,
        stdout=open(options.folder / "worker.log", "ab"),  # noqa: SIM115 - lives with it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Warm-up: the workers are up and have delivered once before the clock starts.
        publish(10)
        warm_up = 10 * options.subscriptions
        wait_for(warm_up, time.monotonic())
        expected = warm_up + options.events * options.subscriptions
        # Published on a thread of its own (with its own connection), so that the samples
        # cover the publishing too.
        publisher = threading.Thread(target=publish_then_close, args=(options.events,))
        # Measured here, while the workers live (the CPU meter counts running processes).
        with CpuMeter() as meter:
            started = time.monotonic()
            publisher.start()
            samples = wait_for(expected, started, already=warm_up)
            publisher.join()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    delivered = options.events * options.subscriptions
    elapsed = samples[-1][0]
    options.json.write_text(
        json.dumps({"throughput": delivered / elapsed, "samples": samples, "cpu": meter.shares()})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
