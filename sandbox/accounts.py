"""Creating sandbox people, Pages and professional accounts (control API, seed world, tests)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction

from . import core
from .models import InstagramAccount, Page, Person, Token


def _numeric_id(prefix: str, digits: int) -> str:
    while True:
        candidate = prefix + "".join(secrets.choice("0123456789") for _ in range(digits))
        if not (
            InstagramAccount.objects.filter(ig_user_id=candidate).exists()
            or InstagramAccount.objects.filter(ig_app_scoped_id=candidate).exists()
            or Page.objects.filter(page_id=candidate).exists()
            or Person.objects.filter(fb_user_id=candidate).exists()
        ):
            return candidate


FACEBOOK_SCOPES = [
    "instagram_basic",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
]
INSTAGRAM_SCOPES = ["instagram_business_basic", "instagram_business_manage_insights"]


@transaction.atomic
def create_account(
    *,
    followers: int = 1000,
    media_count: int = 50,
    history_days: int = 730,
    login: str = "facebook",
    account_type: str = "BUSINESS",
    region: str = "US",
    username: str | None = None,
    name: str | None = None,
    person: Person | None = None,
    converted_days_ago: int | None = None,
    active_stories: int = 3,
    call_budget: int | None = None,
    seed: int | None = None,
    with_page: bool | None = None,
    token_age_days: float = 0,
    ig_user_id: str | None = None,
    ig_app_scoped_id: str | None = None,
    page_id: str | None = None,
    page_name: str | None = None,
    page_category: str = "Brand",
    business_owned: bool = False,
    online_followers: bool = False,
    issue: bool = True,
) -> dict:
    """Create a professional (or personal) account, its owner and, for Facebook Login, its
    Page. Returns ids and a ready long-lived token for the account's host (`issue=False`: no
    token). Fixed ids (ig_user_id, page_id...) are for the seed world; by default ids are random."""
    if person is None:
        login_name = (username or f"person{secrets.token_hex(3)}") + ".owner"
        person = Person.objects.create(
            name=name or login_name, login=login_name, fb_user_id=_numeric_id("10", 13)
        )
    username = username or f"sandbox_{secrets.token_hex(4)}"
    current = core.now()
    account = InstagramAccount.objects.create(
        ig_user_id=ig_user_id or _numeric_id("178414", 11),
        ig_app_scoped_id=ig_app_scoped_id or _numeric_id("2", 16),
        person=person,
        username=username,
        name=name or username.replace("_", " ").title(),
        account_type=account_type,
        followers=followers,
        media_count=media_count,
        history_days=history_days,
        region=region,
        seed=seed if seed is not None else secrets.randbelow(2**31),
        converted_at=(current - timedelta(days=converted_days_ago))
        if converted_days_ago is not None
        else None,
        active_stories=active_stories,
        call_budget=call_budget,
        anchor_at=current,
        online_followers=online_followers,
    )
    page = None
    if with_page or (with_page is None and login == "facebook"):
        page = Page.objects.create(
            page_id=page_id or _numeric_id("1", 14),
            name=page_name or f"{account.name} Page",
            category=page_category,
            person=person,
            ig_account=account,
            business_owned=business_owned,
        )
    result = {
        "ig_user_id": account.ig_user_id,
        "ig_app_scoped_id": account.ig_app_scoped_id,
        "username": account.username,
        "page_id": page.page_id if page else None,
        "person_login": person.login,
        "login": login,
    }
    if not issue:
        return result
    issued = current - timedelta(days=token_age_days)
    if login == "instagram":
        token = core.issue_token(
            Token.Kind.IG_LONG,
            person=person,
            ig_account=account,
            scopes=INSTAGRAM_SCOPES,
            issued_at=issued,
        )
    else:
        token = core.issue_token(
            Token.Kind.FB_LONG,
            person=person,
            scopes=FACEBOOK_SCOPES,
            granted_page_ids=[page.page_id] if page else [],
            issued_at=issued,
        )
    return result | {
        "host": token.host,
        "access_token": token.token,
        "expires_in": core.expires_in(token),
    }


def _fresh_ids(model, field: str, prefix: str, digits: int, count: int) -> list[str]:
    """`count` random numeric ids not yet used in `model.field` (one query per round)."""
    chosen: list[str] = []
    while len(chosen) < count:
        wanted = count - len(chosen)
        candidates = {
            prefix + "".join(secrets.choice("0123456789") for _ in range(digits))
            for _ in range(wanted)
        } - set(chosen)
        taken = set(
            model.objects.filter(**{f"{field}__in": candidates}).values_list(field, flat=True)
        )
        chosen += sorted(candidates - taken)
    return chosen[:count]


@transaction.atomic
def create_accounts(count: int, *, follows: int | None = None, **template) -> list[dict]:
    """`count` accounts like create_account(**template), in a handful of bulk queries (a
    benchmark's thousand accounts in seconds). Usernames and ids are random; a template seed
    becomes seed, seed+1, … so the accounts differ."""
    login = template.get("login", "facebook")
    with_page = template.get("with_page")
    with_page = with_page or (with_page is None and login == "facebook")
    current = core.now()
    base_seed = template.get("seed")
    names = _fresh_ids(InstagramAccount, "username", "sandbox_", 10, count)
    people = Person.objects.bulk_create(
        Person(name=f"{u}.owner", login=f"{u}.owner", fb_user_id=fb)
        for u, fb in zip(names, _fresh_ids(Person, "fb_user_id", "10", 13, count), strict=True)
    )
    converted = template.get("converted_days_ago")
    accounts = InstagramAccount.objects.bulk_create(
        InstagramAccount(
            ig_user_id=ig,
            ig_app_scoped_id=scoped,
            person=person,
            username=username,
            name=username.replace("_", " ").title(),
            account_type=template.get("account_type", "BUSINESS"),
            followers=template.get("followers", 1000),
            follows=follows if follows is not None else 100,
            media_count=template.get("media_count", 50),
            history_days=template.get("history_days", 730),
            region=template.get("region", "US"),
            seed=base_seed + k if base_seed is not None else secrets.randbelow(2**31),
            converted_at=current - timedelta(days=converted) if converted is not None else None,
            active_stories=template.get("active_stories", 3),
            call_budget=template.get("call_budget"),
            online_followers=template.get("online_followers", False),
            anchor_at=current,
        )
        for k, (ig, scoped, person, username) in enumerate(
            zip(
                _fresh_ids(InstagramAccount, "ig_user_id", "178414", 11, count),
                _fresh_ids(InstagramAccount, "ig_app_scoped_id", "2", 16, count),
                people,
                names,
                strict=True,
            )
        )
    )
    pages = {}
    if with_page:
        created = Page.objects.bulk_create(
            Page(
                page_id=page_id,
                name=f"{account.name} Page",
                person=account.person,
                ig_account=account,
                business_owned=template.get("business_owned", False),
            )
            for account, page_id in zip(
                accounts, _fresh_ids(Page, "page_id", "1", 14, count), strict=True
            )
        )
        pages = {page.ig_account_id: page for page in created}
    issued = current - timedelta(days=template.get("token_age_days", 0))
    kind = Token.Kind.IG_LONG if login == "instagram" else Token.Kind.FB_LONG
    tokens = Token.objects.bulk_create(
        Token(
            token=("IGAA" if login == "instagram" else "EAAG")
            + secrets.token_urlsafe(48).replace("-", "x").replace("_", "Z"),
            kind=kind,
            person=account.person,
            ig_account=account if login == "instagram" else None,
            scopes=INSTAGRAM_SCOPES if login == "instagram" else FACEBOOK_SCOPES,
            granted_page_ids=[pages[account.pk].page_id]
            if login != "instagram" and account.pk in pages
            else [],
            issued_at=issued,
            expires_at=issued + core.TOKEN_LIFETIME[kind],
        )
        for account in accounts
    )
    return [
        {
            "ig_user_id": account.ig_user_id,
            "ig_app_scoped_id": account.ig_app_scoped_id,
            "username": account.username,
            "page_id": pages[account.pk].page_id if account.pk in pages else None,
            "person_login": account.person.login,
            "login": login,
            "host": token.host,
            "access_token": token.token,
            "expires_in": core.expires_in(token),
        }
        for account, token in zip(accounts, tokens, strict=True)
    ]
