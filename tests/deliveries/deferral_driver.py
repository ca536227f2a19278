"""Drives the dispatcher's admission by hand, so a test can stop the database at the moment
held-back deliveries are put back (tests/deliveries/test_outages.py).

    python -m tests.deliveries.deferral_driver URL EVENTS

On the database of DATABASE_URL: creates a subscription to URL limited to 1 request/s (burst
1), publishes EVENTS events, claims their deliveries and prints `claimed N`. Then waits for a
line `admit` on standard input, admits the claimed deliveries through the real Dispatcher's
Admission (one goes, the others are held back and deferred) and prints `admitted K`. Keeps its
event loop running (so deferrals that failed are tried again) until a line `stop`.
"""

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from accounts.services import account_create
    from deliveries.dispatch.admission import SATURATION_HOLD_SECONDS
    from deliveries.dispatch.loop import Dispatcher
    from deliveries.engine.http import Sender
    from deliveries.engine.limits import InProcessLimiter, SaturationHolds
    from deliveries.services.claiming import deliveries_claim_due
    from deliveries.services.publishing import event_publish
    from webhooks.services import webhook_create

    url, events = sys.argv[1], int(sys.argv[2])
    key = "transactions.create.v0"
    account = account_create(
        account_name="Deferrals", username="deferrals", password="pw-123456789"
    ).account
    webhook_create(account=account, url=url, events=[key], rate_per_second=1.0, burst=1)
    for _ in range(events):
        event_publish(account=account, key=key, payload={})
    jobs = deliveries_claim_due(limit=events)
    print(f"claimed {len(jobs)}", flush=True)

    async def admit_and_wait() -> None:
        loop = asyncio.get_running_loop()
        dispatcher = Dispatcher(
            sender=Sender(allow_private=True),
            database=ThreadPoolExecutor(max_workers=2),
            limiter=InProcessLimiter(),
            holds=SaturationHolds(base_seconds=SATURATION_HOLD_SECONDS),
            collect_garbage=lambda last, now: last,
        )
        assert (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "admit"
        admitted = await dispatcher.admission.admit(jobs)
        print(f"admitted {len(admitted)}", flush=True)
        assert (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "stop"
        await dispatcher.sender.close()

    asyncio.run(admit_and_wait())


if __name__ == "__main__":
    main()
