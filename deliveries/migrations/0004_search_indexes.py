"""Indexes for the account-wide views (SPEC 5 `GET /deliveries/`, the dashboard's Deliveries
and Events pages), measured with bench/pages.py on 1,000,000 deliveries.

Plain SQL rather than model indexes, on purpose:
- `delivery_created_idx` (created_at DESC, id DESC): the account-wide list, newest first,
  across all of an account's subscriptions. Without it PostgreSQL sorts every delivery of the
  account for each page. The per-subscription indexes cannot serve it (no merge of several
  index scans in order).
- `event_entity_instance_idx` (account_id, entity_instance_id): search by entity instance id.
  It sits on the events table but only this search needs it, so it lives with the search.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deliveries", "0003_fewer_indexes"),
        ("events", "0004_idempotency_fingerprint"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS delivery_created_idx "
            "ON deliveries_delivery (created_at DESC, id DESC)",
            "DROP INDEX IF EXISTS delivery_created_idx",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS event_entity_instance_idx "
            "ON events_event (account_id, entity_instance_id)",
            "DROP INDEX IF EXISTS event_entity_instance_idx",
        ),
    ]
