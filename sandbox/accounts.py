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
    call_budget: int = 20000,
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
