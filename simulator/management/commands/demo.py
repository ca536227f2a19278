import json

from django.core.management.base import BaseCommand, CommandParser

from accounts.services import account_create
from deliveries.services.publishing import event_publish
from events.catalog import EVENT_TYPES
from webhooks.models import Webhook
from webhooks.services import webhook_create


class Command(BaseCommand):
    help = "Create the demo account, user, API token and a webhook; publish a few events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--receiver-url", default="http://127.0.0.1:8001/webhooks")
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-password")
        parser.add_argument("--publish", type=int, default=5, help="events to publish")

    def handle(self, *args: object, **options: object) -> None:
        created = account_create(
            account_name="Demo",
            username=str(options["username"]),
            password=str(options["password"]),
            email="demo@example.com",
        )
        url = str(options["receiver_url"])
        webhook = Webhook.objects.filter(account=created.account, url=url).first()
        if webhook is None:
            webhook = webhook_create(
                account=created.account,
                url=url,
                events=list(EVENT_TYPES),
                description="Demo receiver started by make run",
            )
        keys = list(EVENT_TYPES)
        for index in range(int(options["publish"])):  # type: ignore[call-overload]
            event_publish(account=created.account, key=keys[index % len(keys)], source="generated")
        self.stdout.write(
            json.dumps(
                {
                    "username": options["username"],
                    "password": options["password"],
                    "token": created.token,
                    "webhook_id": str(webhook.id),
                    "webhook_url": webhook.url,
                    "secret": webhook.secret,
                }
            )
        )
