from django.core.management.base import BaseCommand

from webhooks.services import webhooks_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret and password with the newest FIELD_ENCRYPTION_KEY. "
        "Prepend the new key to FIELD_ENCRYPTION_KEY, run this, then drop the old key."
    )

    def handle(self, *args: object, **options: object) -> None:
        count = webhooks_reencrypt()
        self.stdout.write(f"re-encrypted the credentials of {count} webhooks")
