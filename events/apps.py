from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_builtin_event_types(**kwargs: Any) -> None:
    # Imported here: models are not ready while the app registry is being populated.
    from events.services import builtin_event_types_sync

    builtin_event_types_sync()


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        # After every migrate (and every test database flush) the built-in event types'
        # rows match the shipped catalog: adding a built-in needs no data migration.
        post_migrate.connect(
            _sync_builtin_event_types, sender=self, dispatch_uid="events.sync_builtin_types"
        )
