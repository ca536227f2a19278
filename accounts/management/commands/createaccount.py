from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import AccountUserConflict, account_create


class Command(BaseCommand):
    help = "Create an account and its first user; print that user's API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account")
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: str) -> None:
        if not options["account"].strip() or not options["username"].strip():
            raise CommandError("account and username must not be empty")
        try:
            result = account_create(
                account_name=options["account"].strip(),
                username=options["username"].strip(),
                password=options["password"],
                email=options["email"],
            )
        except AccountUserConflict as error:
            raise CommandError(str(error)) from error
        self.stdout.write(result.token)
