import json
import sys
import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.catalog import UnknownEventKey
from simulator.loadtest import (
    LoadTest,
    LoadTestPlan,
    LoadTestProgress,
    LoadTestReport,
    resolve_keys,
    webhook_for_url,
)
from webhooks.models import Webhook

# Bounds that keep a mistyped option from starting a run nobody meant.
MAX_RATE = 100_000
MAX_DURATION_SECONDS = 24 * 3600


class Command(BaseCommand):
    help = (
        "Publish realistic events at a rate for a duration to one webhook (or URL) and report "
        "deliveries, failures, throughput and publish-to-2xx latency. Workers must be running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--webhook", help="id of an existing webhook")
        target.add_argument("--url", help="endpoint URL (a load-test webhook is created for it)")
        parser.add_argument("--rate", type=float, required=True, help="events per second")
        parser.add_argument("--duration", type=float, required=True, help="seconds")
        parser.add_argument(
            "--events",
            help="comma-separated event keys (default: the types the webhook subscribes to; "
            "with --url, all)",
        )
        parser.add_argument("--username", default="", help="Basic auth, with --url")
        parser.add_argument("--password", default="", help="Basic auth, with --url")
        parser.add_argument("--drain-seconds", type=float, default=30.0)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--max-error-rate", type=float, default=None)
        parser.add_argument(
            "--json", metavar="FILE", help="write the report as JSON ('-' = stdout)"
        )

    def handle(self, *args: object, **options: object) -> None:
        rate, duration = float(options["rate"]), float(options["duration"])  # type: ignore[arg-type]
        if not 0 < rate <= MAX_RATE:
            raise CommandError(f"--rate must be above 0 and at most {MAX_RATE}")
        if not 0 < duration <= MAX_DURATION_SECONDS:
            raise CommandError(f"--duration must be above 0 and at most {MAX_DURATION_SECONDS}")
        max_error_rate = options["max_error_rate"]
        if max_error_rate is not None and not 0 <= float(max_error_rate) <= 1:  # type: ignore[arg-type]
            raise CommandError("--max-error-rate must be between 0 and 1")
        existing = self._existing_webhook(options)
        try:
            keys = resolve_keys(options["events"], webhook=existing)  # type: ignore[arg-type]
        except UnknownEventKey as error:
            raise CommandError(str(error)) from error
        webhook = existing or self._webhook_for_url(options, keys)
        console = Console(stderr=True)
        console.print(f"Load test: {rate:g} events/s for {duration:g} s to {webhook.url}")
        if options["url"]:
            console.print(f"  webhook {webhook.id}, signing secret {webhook.secret}")
        plan = LoadTestPlan(
            webhook=webhook,
            keys=keys,
            rate=rate,
            duration=duration,
            drain_seconds=float(options["drain_seconds"]),  # type: ignore[arg-type]
            seed=options["seed"],  # type: ignore[arg-type]
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("publishing", total=None, status="")

            def show(progress: LoadTestProgress) -> None:
                bar.update(
                    task,
                    description="publishing" if progress.publishing else "draining",
                    completed=progress.succeeded,
                    total=progress.planned,
                    status=(
                        f"published {progress.published}, delivered {progress.succeeded}, "
                        f"failed attempts {progress.failed_attempts}, waiting {progress.waiting}"
                    ),
                )

            report = LoadTest(plan, on_progress=show).run()
        self._print(report, console)
        if options["json"]:
            text = json.dumps(report.as_dict(), indent=2)
            if options["json"] == "-":
                self.stdout.write(text)
            else:
                with open(str(options["json"]), "w") as out:
                    out.write(text + "\n")
        if max_error_rate is not None and report.error_rate > float(max_error_rate):  # type: ignore[arg-type]
            console.print(
                f"[red]error rate {report.error_rate:.2%} is above --max-error-rate "
                f"{float(max_error_rate):.2%}[/red]"  # type: ignore[arg-type]
            )
            sys.exit(1)

    def _existing_webhook(self, options: dict[str, object]) -> Webhook | None:
        """The webhook named by --webhook; None with --url."""
        if not options["webhook"]:
            return None
        try:
            return Webhook.objects.select_related("account").get(
                id=uuid.UUID(str(options["webhook"]))
            )
        except (ValueError, Webhook.DoesNotExist) as error:
            raise CommandError(f"no webhook with id {options['webhook']}") from error

    def _webhook_for_url(self, options: dict[str, object], keys: list[str]) -> Webhook:
        try:
            return webhook_for_url(
                url=str(options["url"]),
                keys=keys,
                username=str(options["username"]),
                password=str(options["password"]),
            )
        except ValidationError as error:
            messages = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()
            )
            raise CommandError(messages) from error

    def _print(self, report: LoadTestReport, console: Console) -> None:
        table = Table(title="Load test report", show_header=False)
        latency = report.latency_ms
        rows = [
            (
                "events published",
                f"{report.events_published} in {report.publish_seconds} s "
                f"({report.publish_rate}/s)",
            ),
            ("deliveries", str(report.deliveries)),
            ("succeeded", str(report.succeeded)),
            (
                "not succeeded",
                ", ".join(f"{k} {v}" for k, v in report.not_succeeded.items()) or "none",
            ),
            ("attempts", f"{report.attempts} ({report.retries} retries)"),
            (
                "failed attempts",
                ", ".join(f"{k} {v}" for k, v in report.failures_by_kind.items()) or "none",
            ),
            ("error rate", f"{report.error_rate:.2%}"),
            ("throughput", f"{report.throughput_per_second} deliveries/s"),
            (
                "publish → 2xx",
                (
                    f"p50 {latency['p50']} ms, p95 {latency['p95']} ms, "
                    f"p99 {latency['p99']} ms, max {latency['max']} ms"
                )
                if latency["p50"] is not None
                else "no successful delivery",
            ),
            ("drained", "yes" if report.drained else "no: deliveries were still waiting"),
        ]
        if report.extra.get("database_errors"):
            rows.append(
                (
                    "database",
                    f"connection lost {report.extra['database_errors']} times, reconnected",
                )
            )
        for name, value in rows:
            table.add_row(name, value)
        console.print(table)
