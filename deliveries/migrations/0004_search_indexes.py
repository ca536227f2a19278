"""An index for the account-wide delivery list (SPEC 5 `GET /deliveries/`, the dashboard's
Deliveries page), measured with bench/pages.py on 1,000,000 deliveries in one account.

`delivery_created_idx` (created_at DESC, id DESC): newest first across all of an account's
subscriptions. Without it PostgreSQL sorts every delivery of the account for each page (492 ms
for the first page, 710 ms for page 400); with it, 0.1 ms. The per-subscription indexes cannot
serve it (PostgreSQL does not merge several index scans in order). Plain SQL rather than a
model index, so the model's own index list stays the one the publishing hot path is tuned
for; it is the only index the new pages needed (search by entity instance id stays at 35 ms
through the events' (account, created_at) index, so the events table gets none).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deliveries", "0003_fewer_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS delivery_created_idx "
            "ON deliveries_delivery (created_at DESC, id DESC)",
            "DROP INDEX IF EXISTS delivery_created_idx",
        ),
    ]
