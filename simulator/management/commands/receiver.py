import asyncio
import json
import signal

from aiohttp import web
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deliveries.engine.signing import SignatureScheme, standard_webhooks_key
from simulator.receiver import Receiver, ReceiverConfig


class Command(BaseCommand):
    help = "Run the reference webhook receiver: verifies signatures, reports what it saw."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--secret", action="append", default=[], help="signing secret (repeatable)"
        )
        parser.add_argument(
            "--scheme",
            choices=[scheme.value for scheme in SignatureScheme],
            default=SignatureScheme.TILLHUB.value,
            help="how deliveries are signed: Tillhub-Signature (tillhub, the default) or "
            "webhook-id/-timestamp/-signature with whsec_ secrets (standard-webhooks)",
        )
        parser.add_argument("--username")
        parser.add_argument("--password")
        parser.add_argument(
            "--tolerance-seconds",
            type=float,
            default=None,
            help="refuse signatures older than this (default: no check)",
        )
        parser.add_argument("--fail-rate", type=float, default=0.0)
        parser.add_argument("--status", type=int, default=200)
        parser.add_argument("--latency-ms", type=float, default=0.0)
        parser.add_argument("--hang", action="store_true", help="never answer deliveries")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--quiet", action="store_true", help="no live summary")

    def handle(self, *args: object, **options: object) -> None:
        fail_rate = float(options["fail_rate"])  # type: ignore[arg-type]
        status = int(options["status"])  # type: ignore[call-overload]
        if not 0 <= fail_rate <= 1:
            raise CommandError("--fail-rate must be between 0 and 1")
        if not 100 <= status <= 599:
            raise CommandError("--status must be an HTTP status code (100-599)")
        if float(options["latency_ms"]) < 0:  # type: ignore[arg-type]
            raise CommandError("--latency-ms must not be negative")
        tolerance = options["tolerance_seconds"]
        if tolerance is not None and float(tolerance) <= 0:  # type: ignore[arg-type]
            raise CommandError("--tolerance-seconds must be positive")
        if (options["username"] is None) != (options["password"] is None):
            raise CommandError("--username and --password go together")
        if options["scheme"] == SignatureScheme.STANDARD_WEBHOOKS:
            for secret in options["secret"]:  # type: ignore[attr-defined]
                try:
                    standard_webhooks_key(secret)
                except ValueError as error:
                    raise CommandError(f"--secret: {error} (whsec_<base64>)") from None
        config = ReceiverConfig(
            secrets=list(options["secret"]),  # type: ignore[call-overload]
            scheme=str(options["scheme"]),
            username=options["username"],  # type: ignore[arg-type]
            password=options["password"],  # type: ignore[arg-type]
            tolerance_seconds=options["tolerance_seconds"],  # type: ignore[arg-type]
            fail_rate=fail_rate,
            status=status,
            latency_ms=float(options["latency_ms"]),  # type: ignore[arg-type]
            hang=bool(options["hang"]),
            seed=options["seed"],  # type: ignore[arg-type]
        )
        receiver = Receiver(config)
        try:
            asyncio.run(self._serve(receiver, options))
        except OSError as error:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {error}"
            ) from error
        self.stdout.write(json.dumps(receiver.stats.as_dict(), indent=2))

    async def _serve(self, receiver: Receiver, options: dict[str, object]) -> None:
        # Seconds Ctrl-C waits for requests in flight: hanging or slow ones (--hang,
        # --latency-ms) are cut off rather than holding the shutdown for aiohttp's default 60.
        runner = web.AppRunner(receiver.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, str(options["host"]), int(options["port"]))  # type: ignore[call-overload]
        await site.start()
        # The bound port, not the requested one: with --port 0 the system picks it.
        host, port = runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        self.stdout.write(f"receiver listening on http://{host}:{port}/")
        self.stdout.flush()  # a supervisor or test reading a pipe sees it now, not at exit
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        last_requests = -1
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=2)
            except TimeoutError:
                stats = receiver.stats
                if not options["quiet"] and stats.requests != last_requests:
                    last_requests = stats.requests
                    self.stdout.write(
                        f"received {stats.requests} requests: {stats.accepted} accepted, "
                        f"{stats.duplicates} duplicates, {sum(stats.rejected.values())} "
                        f"rejected, {stats.injected_failures} failed on purpose"
                    )
                    self.stdout.flush()
        await runner.cleanup()
