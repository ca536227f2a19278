import io
import json
import shutil
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.table import Table
from rich.text import Text

from deliveries.engine.signing import SignatureScheme
from deliveries.preflight import (
    CheckResult,
    CheckStatus,
    display_url,
    endpoint_of_webhook,
    preflight_counts,
    preflight_failed,
    preflight_report,
    preflight_verdict,
    run_preflight,
)
from events.catalog import UnknownEventKey
from webhooks.models import Webhook
from webhooks.rules import target_policy

STATUS_STYLES = {
    CheckStatus.PASS: ("PASS", "bold green"),
    CheckStatus.WARN: ("WARN", "bold yellow"),
    CheckStatus.FAIL: ("FAIL", "bold red"),
    CheckStatus.SKIPPED: ("SKIP", "dim"),
}


class Command(BaseCommand):
    help = (
        "Run Tillhub's pre-flight checklist against an endpoint: DNS, TCP, HTTPS, response "
        "time, signature verification, idempotency and Basic auth. Exits 1 if a check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", nargs="?", help="endpoint URL (default: the webhook's)")
        parser.add_argument(
            "--webhook", help="take URL, secret, credentials and timeouts from this subscription"
        )
        parser.add_argument("--secret", action="append", help="signing secret (repeatable)")
        parser.add_argument(
            "--scheme",
            choices=[scheme.value for scheme in SignatureScheme],
            help="signature scheme (default: the webhook's, else tillhub)",
        )
        parser.add_argument("--username")
        parser.add_argument("--password")
        parser.add_argument("--timeout-ms", type=int, help="request timeout in milliseconds")
        parser.add_argument("--connect-timeout-ms", type=int, help="connect timeout in ms")
        parser.add_argument(
            "--event", default="transactions.create.v0", help="event key of the test event"
        )
        parser.add_argument("--json", action="store_true", help="print JSON for machines")

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = self._endpoint(options)
        try:
            results = run_preflight(
                **endpoint,
                policy=target_policy(),
                user_agent=settings.WEBHOOK_USER_AGENT,
                max_redirects=settings.WEBHOOK_MAX_REDIRECTS,
                event_key=options["event"],
            )
        except UnknownEventKey as error:  # raised before anything is sent
            raise CommandError(str(error)) from error
        if options["json"]:
            report = preflight_report(results, url=endpoint["url"])
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self._table(display_url(endpoint["url"]), results), ending="")
        if preflight_failed(results):
            raise SystemExit(1)

    def _endpoint(self, options: dict[str, Any]) -> dict[str, Any]:
        """``run_preflight`` arguments: the webhook's settings, overridden by the options."""
        endpoint: dict[str, Any] = {
            "secrets": [],
            "username": "",
            "password": "",
            "connect_timeout_ms": settings.WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS,
            "request_timeout_ms": settings.WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS,
        }
        if options["webhook"]:
            endpoint.update(
                endpoint_of_webhook(self._webhook(options["webhook"]), now=timezone.now())
            )
        elif not options["url"]:
            raise CommandError("give the endpoint URL or --webhook ID")
        if (options["username"] is None) != (options["password"] is None):
            raise CommandError("--username and --password go together")
        overrides = {
            "url": options["url"],
            "secrets": options["secret"],
            "username": options["username"],
            "password": options["password"],
            "request_timeout_ms": options["timeout_ms"],
            "connect_timeout_ms": options["connect_timeout_ms"],
            "signature_scheme": options["scheme"],
        }
        endpoint.update({name: value for name, value in overrides.items() if value is not None})
        for name in ("request_timeout_ms", "connect_timeout_ms"):
            if endpoint[name] <= 0:
                flag = "--timeout-ms" if name == "request_timeout_ms" else "--connect-timeout-ms"
                raise CommandError(f"{flag} must be a positive number of milliseconds")
        return endpoint

    def _webhook(self, raw_id: str) -> Webhook:
        try:
            return Webhook.objects.get(id=uuid.UUID(raw_id))
        except (ValueError, Webhook.DoesNotExist):
            raise CommandError(f"no webhook with id {raw_id}") from None

    def _table(self, url: str, results: list[CheckResult]) -> str:
        interactive = self.stdout.isatty()
        width = shutil.get_terminal_size().columns if interactive else 120
        console = Console(
            file=io.StringIO(), width=width, force_terminal=interactive, no_color=not interactive
        )
        table = Table(title=f"Pre-flight checks for {url}", title_justify="left", expand=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("Check", no_wrap=True)
        table.add_column("Result", no_wrap=True)
        table.add_column("Detail and advice", ratio=1)
        for number, result in enumerate(results, start=1):
            label, style = STATUS_STYLES[result.status]
            detail = Text(result.detail)
            if result.advice:
                detail.append(f"\n→ {result.advice}", style="italic")
            table.add_row(str(number), result.title, Text(label, style=style), detail)
        console.print(table)
        counts = preflight_counts(results)
        console.print(
            f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, "
            f"{counts['skipped']} skipped: {preflight_verdict(results)}"
        )
        assert isinstance(console.file, io.StringIO)
        return console.file.getvalue()
