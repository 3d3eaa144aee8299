"""Re-encrypt every stored token under the newest key in TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from insights import crypto
from insights.models import InstagramAccount, PendingConnection


class Command(BaseCommand):
    help = "Re-encrypt all stored OAuth tokens under the newest TOKEN_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        rotated = failed = 0
        for model in (InstagramAccount, PendingConnection):
            pks = list(model.objects.exclude(token_ciphertext="").values_list("pk", flat=True))
            for start in range(0, len(pks), 200):
                with transaction.atomic():
                    # Row locks: a token refresh writing the same row waits for us.
                    rows = model.objects.select_for_update().filter(pk__in=pks[start : start + 200])
                    for row in rows:
                        try:
                            row.token_ciphertext = crypto.rotate(row.token_ciphertext)
                            fields = ["token_ciphertext"]
                            if model is PendingConnection:
                                # The picked Page tokens wait here too, one per candidate.
                                for candidate in row.candidates:
                                    candidate["page_token_ciphertext"] = crypto.rotate(
                                        candidate["page_token_ciphertext"]
                                    )
                                    rotated += 1
                                fields.append("candidates")
                        except crypto.TokenDecryptError:
                            failed += 1
                            self.stderr.write(f"{model.__name__} {row.pk}: cannot decrypt")
                            continue
                        row.save(update_fields=fields)
                        rotated += 1
        self.stdout.write(
            f"re-encrypted {rotated} token(s) under the newest key; {failed} could not be decrypted"
        )
        if failed:
            raise SystemExit(1)
