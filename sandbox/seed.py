"""The sandbox's default world: people who sign in to the dialogs, their Pages and accounts.

Idempotent and deterministic: fixed ids, usernames and generator seeds, so a restart (or
`POST /_sandbox/control/reset`) gives the same world. Created lazily by the first dialog or
control request, or by `manage.py sandbox_seed`. Each person is created only when their login
is missing, so a partly deleted world is completed rather than duplicated.

Ids (n = 101…109): people 100000000000<n>, Pages 110000000000<n>, IG professional accounts
178414000000<n as 5 digits> (17 digits, e.g. 17841400000000101), app-scoped IG ids
2000000000000<n>. Random ids (accounts.create_account) practically never take these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from .accounts import create_account
from .models import Page, Person


@dataclass(frozen=True)
class SeedAccount:
    n: int  # the last digits of every id of this account, and its generator seed
    username: str
    name: str
    page: str | None  # the linked Page's name (Facebook Login), None = no Page
    category: str = "Brand"
    account_type: str = "BUSINESS"
    followers: int = 5000
    follows: int = 300
    media_count: int = 400
    history_days: int = 1100
    region: str = "US"
    converted_days_ago: int | None = None
    active_stories: int = 3
    call_budget: int | None = None
    business_owned: bool = False
    biography: str = ""
    online_followers: bool = False  # still answers online_followers (many accounts don't)


@dataclass(frozen=True)
class SeedPerson:
    n: int
    login: str
    name: str
    accounts: list[SeedAccount] = field(default_factory=list)
    pages_without_instagram: list[tuple[int, str, str]] = field(default_factory=list)


WORLD = [
    SeedPerson(
        101,
        "ava",
        "Ava Bennett",
        [
            SeedAccount(
                101,
                "avas_bakery",
                "Ava's Bakery",
                "Ava's Bakery",
                "Bakery",
                followers=5200,
                media_count=420,
                biography="Sourdough, every morning at 7.",
                online_followers=True,
            )
        ],
        pages_without_instagram=[(102, "Ava's Catering", "Caterer")],
    ),
    SeedPerson(
        102,
        "marco",
        "Marco Weber",
        [
            # An EU creator: Meta reports story replies as 0 (graph-api.md §5.2).
            SeedAccount(
                103,
                "marco.travels",
                "Marco Travels",
                "Marco Travels",
                "Digital creator",
                account_type="MEDIA_CREATOR",
                followers=4800,
                media_count=610,
                history_days=900,
                region="DE",
                biography="Slow travel across Europe.",
            )
        ],
    ),
    SeedPerson(
        103,
        "lena",
        "Lena Park",
        [
            SeedAccount(
                104,
                "northwind_outdoors",
                "Northwind Outdoors",
                "Northwind Outdoors",
                "Outdoor & sporting goods company",
                followers=250_000,
                follows=180,
                media_count=5200,
                history_days=1460,
                active_stories=6,
                call_budget=200_000,
                biography="Gear for long days outside.",
                online_followers=True,
            )
        ],
    ),
    SeedPerson(
        104,
        "sam",
        "Sam Okafor",
        [
            # Under 100 followers: follower metrics and demographics come back empty.
            SeedAccount(
                105,
                "sams_pottery",
                "Sam's Pottery",
                "Sam's Pottery",
                "Artist",
                followers=64,
                follows=120,
                media_count=18,
                history_days=760,
                active_stories=1,
            )
        ],
    ),
    SeedPerson(
        105,
        "nora",
        "Nora Lind",
        [
            # Converted to business a year ago: older media answer 2108006.
            SeedAccount(
                106,
                "oak_and_ivy",
                "Oak & Ivy Interiors",
                "Oak & Ivy Interiors",
                "Interior design studio",
                followers=6100,
                media_count=540,
                history_days=1300,
                converted_days_ago=365,
            )
        ],
    ),
    SeedPerson(
        106,
        "riley",
        "Riley Chen",
        [
            # Business-portfolio Page: missing from /me/accounts without business_management.
            SeedAccount(
                107,
                "harbor_dental",
                "Harbor Dental",
                "Harbor Dental",
                "Dentist",
                followers=3900,
                media_count=300,
                history_days=800,
                business_owned=True,
            ),
            # A creator in Japan: story replies are 0 there too.
            SeedAccount(
                108,
                "yuki.eats",
                "Yuki Eats",
                "Yuki Eats",
                "Digital creator",
                account_type="MEDIA_CREATOR",
                followers=15_000,
                media_count=880,
                history_days=1000,
                region="JP",
                online_followers=True,
            ),
        ],
    ),
    SeedPerson(
        107,
        "pat",
        "Pat Morgan",
        [
            # A personal (non-professional) account: Instagram Login finds account_type
            # PERSONAL; it cannot be linked to a Page.
            SeedAccount(
                109,
                "pat.morgan",
                "Pat Morgan",
                None,
                account_type="PERSONAL",
                followers=310,
                follows=420,
                media_count=85,
                active_stories=0,
            )
        ],
    ),
]
PEOPLE_ORDER = [p.login for p in WORLD]
ACCOUNT_ORDER = [a.username for p in WORLD for a in p.accounts]


def ids(n: int) -> dict[str, str]:
    """Fixed ids of seed person / account number n (101…199)."""
    return {
        "fb_user_id": f"100000000000{n:03d}",  # 15 digits
        "page_id": f"110000000000{n:03d}",  # 15 digits
        "ig_user_id": f"178414000000{n:05d}",  # 17 digits, like real IG user ids
        "ig_app_scoped_id": f"2000000000000{n:03d}",  # 16 digits
    }


def ensure_seed_world() -> int:
    """Create whatever part of the seed world is missing; returns how many people were added."""
    if Person.objects.filter(login__in=PEOPLE_ORDER).count() == len(WORLD):
        return 0
    added = 0
    for spec in WORLD:
        try:
            with transaction.atomic():
                if not Person.objects.filter(login=spec.login).exists():
                    create_person(spec)
                    added += 1
        except IntegrityError:  # a concurrent first request seeded this person already
            continue
    return added


def create_person(spec: SeedPerson) -> Person:
    person = Person.objects.create(
        name=spec.name, login=spec.login, fb_user_id=ids(spec.n)["fb_user_id"]
    )
    for account in spec.accounts:
        account_ids = ids(account.n)
        create_account(
            person=person,
            username=account.username,
            name=account.name,
            account_type=account.account_type,
            followers=account.followers,
            media_count=account.media_count,
            history_days=account.history_days,
            region=account.region,
            converted_days_ago=account.converted_days_ago,
            active_stories=account.active_stories,
            call_budget=account.call_budget,
            seed=account.n,
            with_page=account.page is not None,
            login="facebook" if account.page else "instagram",
            ig_user_id=account_ids["ig_user_id"],
            ig_app_scoped_id=account_ids["ig_app_scoped_id"],
            page_id=account_ids["page_id"],
            page_name=account.page,
            page_category=account.category,
            business_owned=account.business_owned,
            online_followers=account.online_followers,
            issue=False,
        )
        person.ig_accounts.filter(username=account.username).update(
            follows=account.follows, biography=account.biography
        )
    for n, name, category in spec.pages_without_instagram:
        Page.objects.create(page_id=ids(n)["page_id"], name=name, category=category, person=person)
    return person


def reset_world() -> None:
    """Everything back to the seed world: people (and with them accounts, Pages, tokens,
    codes, added media), faults, the clock, the call log and the world settings."""
    from . import core, world_settings
    from .models import CallLog, Fault

    with transaction.atomic():
        Person.objects.all().delete()
        Fault.objects.all().delete()
        CallLog.objects.all().delete()
        core.reset_clock()
        world_settings.reset()
    ensure_seed_world()
