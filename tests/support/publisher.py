"""A steady stream of events from its own process, for fault tests.

    python -m tests.support.publisher ACCOUNT_ID KEY COUNT RATE OUTFILE

Publishes COUNT events at RATE per second; writes each committed event id to OUTFILE, one a
line. A publish that fails (the database is restarting) is tried again until it commits, as a
client of the API would on a 5xx.
"""

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import close_old_connections

    from accounts.models import Account
    from deliveries.services.publishing import event_publish

    account_id, key, count, rate, outfile = sys.argv[1:6]
    while True:
        try:
            account = Account.objects.get(id=account_id)
            break
        except Exception:
            close_old_connections()
            time.sleep(0.1)
    interval = 1 / float(rate)
    with open(outfile, "a") as out:
        for _ in range(int(count)):
            started = time.monotonic()
            while True:
                try:
                    close_old_connections()
                    published = event_publish(account=account, key=key, payload={})
                    break
                except Exception:
                    time.sleep(0.1)
            out.write(f"{published.event.id}\n")
            out.flush()
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
