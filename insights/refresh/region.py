"""Meta's EU / Japan replies rule, decided in one place for every step that stores replies.

Meta reports story replies as 0 for creators in the EU (since 2020-12-01) and Japan (since
2021-04-14) (graph-api.md §5.2). The account-level `replies` metric counts story replies
(§4.2), so it is zeroed by the same rule. Such a 0 is not a real 0: the stories step marks the
story (`Media.replies_zeroed_by_region`), the daily read marks the value
(`AccountDaily.zeroed_by_region`, `WindowMetric.zeroed_by_region`), and reports show "—".

Meta does not say where a creator is (`replies_rule` explains how Prism guesses).
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q

from ..meta import catalogue
from ..models import AccountDaily, DemographicBucket, InstagramAccount, WindowMetric

EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
REPLIES_RULE_SINCE = {"EU": date(2020, 12, 1), "JP": date(2021, 4, 14)}
# Time zones of the EU member states and Japan, for accounts without demographics.
EU_ZONES = frozenset(
    [
        "Europe/Vienna",
        "Europe/Brussels",
        "Europe/Sofia",
        "Europe/Zagreb",
        "Asia/Nicosia",
        "Asia/Famagusta",
        "Europe/Nicosia",
        "Europe/Prague",
        "Europe/Copenhagen",
        "Europe/Tallinn",
        "Europe/Helsinki",
        "Europe/Mariehamn",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Busingen",
        "Europe/Athens",
        "Europe/Budapest",
        "Europe/Dublin",
        "Europe/Rome",
        "Europe/Riga",
        "Europe/Vilnius",
        "Europe/Luxembourg",
        "Europe/Malta",
        "Europe/Amsterdam",
        "Europe/Warsaw",
        "Europe/Lisbon",
        "Atlantic/Madeira",
        "Atlantic/Azores",
        "Europe/Bucharest",
        "Europe/Bratislava",
        "Europe/Ljubljana",
        "Europe/Madrid",
        "Atlantic/Canary",
        "Africa/Ceuta",
        "Europe/Stockholm",
    ]
)
JAPAN_ZONES = frozenset({"Asia/Tokyo", "Japan"})


def replies_rule(account: InstagramAccount) -> str | None:
    """ "EU" or "JP" when Meta's replies rule likely applies to the account, else None.
    Prism takes the largest country of the account's latest follower (else engaged-audience)
    demographics by country, and, without any, the client's time zone."""
    for metric in catalogue.DEMOGRAPHICS:
        top = (
            DemographicBucket.objects.filter(
                snapshot__account=account,
                snapshot__metric=metric,
                snapshot__breakdown="country",
            )
            .order_by("-snapshot__captured_at", "-value")
            .values_list("key", flat=True)
            .first()
        )
        if top:
            country = top.upper()
            return "JP" if country == "JP" else "EU" if country in EU else None
    zone = account.client.time_zone if account.client_id else ""
    return "JP" if zone in JAPAN_ZONES else "EU" if zone in EU_ZONES else None


def zeroed(value, rule: str | None, day: date) -> bool:
    """A replies value of 0 that is Meta's rule rather than a real 0: the rule applies to the
    account and was in force on `day` (the story's publication day, or the Pacific day of an
    account value)."""
    return rule is not None and value == 0 and day >= REPLIES_RULE_SINCE[rule]


def mark_stored_replies(account: InstagramAccount) -> None:
    """After new demographics (call inside the fenced transaction): the account's region may be
    known only now (a first backfill stores history before the first demographics come) or may
    have changed, so every stored replies value is marked again by the current rule."""
    rule = replies_rule(account)
    since = REPLIES_RULE_SINCE[rule] if rule else None
    for model, first in ((AccountDaily, "day"), (WindowMetric, "start")):
        rows = model.objects.filter(account=account, metric="replies")
        zeroed = Q(value=0, **{f"{first}__gte": since}) if since else Q(pk__in=[])
        rows.filter(zeroed, zeroed_by_region=False).update(zeroed_by_region=True)
        rows.filter(~zeroed, zeroed_by_region=True).update(zeroed_by_region=False)
