"""`manage.py seed_demo`: the demo agency on a first `make run` (see insights/demo.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from insights.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoError, seed_demo


class Command(BaseCommand):
    help = "Create the demo agency with connected sandbox accounts, on an empty database only."

    def handle(self, *args, **options):
        try:
            result = seed_demo()
        except DemoError as error:
            raise CommandError(str(error))
        if result is None:
            self.stdout.write("Existing agencies found: no demo added, nothing changed.")
            return
        if result.created:
            # The worker starts right after this (make run): a dispatch waiting on the broker
            # starts the backfill at once, not at beat's first minute.
            from insights.tasks import dispatch_due_work

            dispatch_due_work.delay()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo agency '{result.agency.name}' created with {result.accounts} "
                    "connected sandbox accounts; the worker backfills their history now."
                )
            )
        self.stdout.write(
            f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}  ->  "
            f"{settings.SITE_URL}/a/{result.agency.slug}/"
        )
