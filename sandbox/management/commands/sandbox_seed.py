"""`manage.py sandbox_seed [--reset]`: create the sandbox's seed world (sandbox/seed.py)."""

from django.core.management.base import BaseCommand

from sandbox import seed


class Command(BaseCommand):
    help = "Create the sandbox's default people, Pages and Instagram accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every sandbox person, token, fault and log first (control API reset).",
        )

    def handle(self, *args, reset: bool = False, **options):
        if reset:
            seed.reset_world()
        added = seed.ensure_seed_world()
        self.stdout.write(f"Sandbox seed world ready ({added} people added).")
        for person in seed.WORLD:
            for n, name, _ in person.pages_without_instagram:
                page_id = seed.ids(n)["page_id"]
                self.stdout.write(
                    f"  {person.login:<6} (Page {name!r} {page_id}: no Instagram account)"
                )
            for account in person.accounts:
                ids = seed.ids(account.n)
                page = f"page {ids['page_id']}" if account.page else "no Page"
                self.stdout.write(
                    f"  {person.login:<6} @{account.username:<20} {account.account_type:<13} "
                    f"{account.followers:>7} followers  ig {ids['ig_user_id']}  {page}"
                )
