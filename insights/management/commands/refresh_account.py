"""`manage.py refresh_account <id>`: one refresh now, in this process, for operators."""

import json

from django.core.management.base import BaseCommand, CommandError

from insights.models import InstagramAccount
from insights.refresh import account, schedule


class Command(BaseCommand):
    help = "Refresh one connected Instagram account synchronously and print what was fetched."

    def add_arguments(self, parser):
        parser.add_argument("account_id", type=int)

    def handle(self, *args, account_id: int, **options):
        if not InstagramAccount.objects.filter(pk=account_id).exists():
            raise CommandError(f"No Instagram account with id {account_id}.")
        token = schedule.claim_one(account_id)
        if token is None:
            raise CommandError("That account is being refreshed right now; try again shortly.")
        stats = account.run(account_id, token)
        self.stdout.write(json.dumps(stats, indent=2, default=str, sort_keys=True))
        if "error" in stats:
            raise CommandError(f"The refresh failed: {stats['error']}")
