"""The sandbox's synthetic world: media, stories, metrics and audiences of every account.

Everything here is a pure function of (settings.SANDBOX_SEED, the account's stored properties,
dates). Nothing is precomputed or stored: feed item `i` of an account is derived from a hash of
(seed, i), so an account with 10,000 posts costs nothing until a page of 25 is asked for, and the
same question gets the same answer in any process, after any restart. (No `random` without a
seed, no built-in `hash()` of strings: it is salted per process.)

The shape of an account's history:

- Its generated life spans `history_days` and ends when the account was created in the sandbox
  (`created_at`, the anchor). `media_count` feed items (images, videos, reels, carousels) are
  spread evenly over that span with jitter, newest last; media added through the control API
  (`Media` rows) are merged in by time.
- Followers grow along a curve from a small start to `account.followers` on the anchor day and
  stay there afterwards, so `followers_count` always equals the stored value and past days do not
  change when the sandbox clock moves.
- Daily account metrics exist for every Pacific day from the start of history to today, but no
  more than two years back (Meta's user-metric retention).
- Stories are generated continuously: `active_stories` slots per 24 hours, so at any sandbox time
  exactly that many generated stories are live.
- Lifetime media metrics grow after posting along a saturating curve (fast in the first day,
  levelling off over weeks; stories within their 24 hours).
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import product

from django.conf import settings

from .core import PACIFIC
from .core import now as sandbox_now
from .models import InstagramAccount, Media

MAX_FEED = 10_000  # /media returns at most the 10,000 most recent items [DOC]
RETENTION_DAYS = 730  # user metrics ~2 years back, then empty
STORY_LIFETIME = timedelta(hours=24)
MAX_STORY_SLOTS = 50
# EU member states (+ Japan): Meta reports story replies as 0 for creators there.
NO_REPLIES_REGIONS = frozenset(
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
        "JP",
    ]
)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)  # story slots are counted from here


# --- Deterministic randomness -------------------------------------------------------------------


def _h(*parts: object) -> int:
    text = "|".join(str(p) for p in (settings.SANDBOX_SEED, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _u(*parts: object) -> float:
    """A uniform float in [0, 1) determined by `parts`."""
    return _h(*parts) / 2**64


def _rng(*parts: object) -> random.Random:
    return random.Random(_h(*parts))


def allocate(total: int, weights: dict) -> dict:
    """Split an integer total by weights (largest remainder): the parts sum to `total`."""
    if total <= 0 or not weights:
        return {k: 0 for k in weights}
    norm = sum(weights.values()) or 1.0
    raw = {k: total * w / norm for k, w in weights.items()}
    parts = {k: int(v) for k, v in raw.items()}
    rest = total - sum(parts.values())
    for k in sorted(raw, key=lambda k: (parts[k] - raw[k], str(k)))[:rest]:
        parts[k] += 1
    return parts


# --- Time helpers ---------------------------------------------------------------------------------


def pacific_day(dt: datetime) -> date:
    return dt.astimezone(PACIFIC).date()


def day_start(day: date) -> datetime:
    """Midnight America/Los_Angeles at the start of `day`, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=PACIFIC).astimezone(UTC)


def day_end(day: date) -> datetime:
    """Meta's `end_time` of a daily value: the next Pacific midnight (07:00 or 08:00 UTC)."""
    return day_start(day + timedelta(days=1))


# --- Accounts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The stored properties of an account that the world depends on (hashable, cacheable)."""

    world_seed: int  # settings.SANDBOX_SEED, so caches never mix two worlds
    pk: int
    ig_user_id: str
    username: str
    seed: int
    followers: int
    media_count: int
    history_days: int
    anchor: datetime
    converted_at: datetime | None
    region: str
    active_stories: int

    @property
    def start(self) -> datetime:
        return self.anchor - timedelta(days=self.history_days)

    @property
    def first_day(self) -> date:
        return pacific_day(self.anchor) - timedelta(days=self.history_days)

    @property
    def anchor_day(self) -> date:
        return pacific_day(self.anchor)


def profile(account: InstagramAccount) -> Profile:
    return Profile(
        world_seed=settings.SANDBOX_SEED,
        pk=account.pk,
        ig_user_id=account.ig_user_id,
        username=account.username,
        seed=account.seed,
        followers=max(0, account.followers),
        media_count=max(0, account.media_count),
        history_days=max(1, account.history_days),
        anchor=account.created_at.replace(microsecond=0),
        converted_at=account.converted_at,
        region=(account.region or "US").upper(),
        active_stories=max(0, min(MAX_STORY_SLOTS, account.active_stories)),
    )


@dataclass(frozen=True)
class Traits:
    """Per-account constants drawn once from the account's seed."""

    mix: tuple[float, float, float, float]  # image, video, reel, carousel
    feed_reach: float  # a feed post's reach / followers at posting time
    reel_reach: float
    story_reach: float
    daily_reach: float  # account reach per day / followers
    like_rate: float
    follower_share: float  # share of reach that already follows the account
    growth_gamma: float
    start_fraction: float  # followers at the start of history / today's
    known_demographics: float
    age: tuple[float, ...]
    gender: tuple[float, float, float]
    countries: tuple[tuple[str, float], ...]
    contact: tuple[float, ...]


def traits(seed: int, region: str) -> Traits:
    return _traits_for(settings.SANDBOX_SEED, seed, region)


@lru_cache(maxsize=4096)
def _traits_for(world_seed: int, seed: int, region: str) -> Traits:
    r = _rng(seed, "traits")
    mix = (r.uniform(0.25, 0.5), r.uniform(0.05, 0.15), r.uniform(0.15, 0.45), r.uniform(0.1, 0.25))
    total = sum(mix)
    ages = [r.uniform(0.2, 1.0) * w for w in (0.04, 0.22, 0.34, 0.2, 0.11, 0.06, 0.03)]
    f = r.uniform(0.35, 0.7)
    others = [c for c in COUNTRY_POOL if c != region]
    r.shuffle(others)
    home = r.uniform(0.35, 0.7)
    tail = [(c, (1 - home) / (i + 1) ** 1.1) for i, c in enumerate(others[:34])]
    norm = sum(w for _, w in tail)
    countries = ((region, home), *((c, (1 - home) * w / norm) for c, w in tail))
    return Traits(
        mix=tuple(m / total for m in mix),
        feed_reach=r.uniform(0.15, 0.45),
        reel_reach=r.uniform(0.3, 1.2),
        story_reach=r.uniform(0.04, 0.12),
        daily_reach=r.uniform(0.1, 0.35),
        like_rate=r.uniform(0.03, 0.09),
        follower_share=r.uniform(0.55, 0.8),
        growth_gamma=r.uniform(0.7, 1.8),
        start_fraction=r.uniform(0.03, 0.35),
        known_demographics=r.uniform(0.82, 0.93),
        age=tuple(a / sum(ages) for a in ages),
        gender=(f, (1 - f) * 0.93, (1 - f) * 0.07),
        countries=countries,
        contact=tuple(r.uniform(0.1, 1.0) for _ in CONTACT_BUTTONS),
    )


def _traits(p: Profile) -> Traits:
    return _traits_for(p.world_seed, p.seed, p.region)


def followers_on(p: Profile, day: date) -> int:
    """Followers at the end of a Pacific day: a curve that reaches today's value at the anchor."""
    if day >= p.anchor_day:
        return p.followers
    x = (day - p.first_day).days
    if x < 0:
        return 0
    t = _traits(p)
    start = p.followers * t.start_fraction
    return round(start + (p.followers - start) * (x / p.history_days) ** t.growth_gamma)


def followers_at(account: InstagramAccount, day: date) -> int:
    return followers_on(profile(account), day)


# --- Media ----------------------------------------------------------------------------------------

# Media ids: <prefix:3><scrambled body:13><check:2> = 18 digits. The body holds the account pk and
# the item's index; the scramble only makes ids look random, the check digits make a guessed id
# fail to decode. Rows added through the control API get prefix 182 and are looked up in the DB.
_MOD = 10**13
_MUL = 7_919_881_243  # odd and not a multiple of 5: invertible modulo 10**13
_INV = pow(_MUL, -1, _MOD)
P_FEED, P_STORY, P_ROW, P_ROW_CHILD = "180", "181", "182", "183"  # children of feed items: 17<j>


def _offset(prefix: str) -> int:
    return int(prefix) * 982_451_653 % _MOD


def _check(prefix: str, body: int) -> str:
    return f"{_h('id', prefix, body) % 100:02d}"


def encode_id(prefix: str, body: int) -> str:
    return f"{prefix}{(body * _MUL + _offset(prefix)) % _MOD:013d}{_check(prefix, body)}"


def decode_id(media_id: str) -> tuple[str, int] | None:
    if len(media_id) != 18 or not media_id.isdigit():
        return None
    prefix = media_id[:3]
    body = (int(media_id[3:16]) - _offset(prefix)) * _INV % _MOD
    if media_id[16:] != _check(prefix, body):
        return None
    return prefix, body


def new_media_id() -> str:
    """A fresh id for a Media row (control API): never collides with generated ids."""
    while True:
        candidate = encode_id(P_ROW, secrets.randbelow(_MOD))
        if not Media.objects.filter(media_id=candidate).exists():
            return candidate


CAPTION_WORDS = (
    "new",
    "drop",
    "behind",
    "the",
    "scenes",
    "weekend",
    "vibes",
    "coffee",
    "first",
    "morning",
    "studio",
    "launch",
    "thank",
    "you",
    "community",
    "summer",
    "sale",
    "limited",
    "edition",
    "how",
    "we",
    "make",
    "it",
    "meet",
    "the",
    "team",
    "tips",
    "favourite",
    "recipe",
    "sunset",
    "city",
    "walk",
    "throwback",
    "giveaway",
    "details",
    "link",
    "in",
    "bio",
)
HASHTAGS = ("#instagood", "#smallbusiness", "#reels", "#photooftheday", "#love", "#shoplocal")


@dataclass
class MediaItem:
    """One IG media object, generated or added through the control API."""

    id: str
    account: InstagramAccount
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    product_type: str  # FEED | REELS | STORY
    posted_at: datetime
    caption: str = ""
    children_count: int = 0
    index: int | None = None  # feed index (0 = oldest) or story slot; None for rows
    parent_id: str | None = None  # set on carousel children
    reach_target: int = 0  # reach at full growth
    shared_to_facebook: bool = False
    copyright_flagged: bool = False  # media_url omitted
    comments_enabled: bool = True
    rand_key: tuple = ()
    row: Media | None = None

    @property
    def key(self) -> tuple[int, str]:
        """Feed order: newest first is descending by (timestamp, id)."""
        return (int(self.posted_at.timestamp()), self.id)

    @property
    def is_story(self) -> bool:
        return self.product_type == "STORY"

    @property
    def is_reel(self) -> bool:
        return self.product_type == "REELS"

    @property
    def is_album(self) -> bool:
        return self.media_type == "CAROUSEL_ALBUM"

    @property
    def is_child(self) -> bool:
        return self.parent_id is not None

    @property
    def pre_conversion(self) -> bool:
        """Posted before the account's latest conversion to a business account (→ 2108006)."""
        converted = self.account.converted_at
        return converted is not None and self.posted_at < converted

    def expired(self, at: datetime) -> bool:
        return self.is_story and at - self.posted_at >= STORY_LIFETIME

    @property
    def shortcode(self) -> str:
        raw = hashlib.blake2b(f"sc|{self.id}".encode(), digest_size=8).digest()
        return base64.urlsafe_b64encode(raw).decode()[:11]

    @property
    def permalink(self) -> str:
        if self.is_story:
            return f"https://instagram.com/stories/{self.account.username}/{self.id}"
        kind = "reel" if self.is_reel else "p"
        return f"https://www.instagram.com/{kind}/{self.shortcode}/"

    @property
    def media_url(self) -> str:
        ext = "mp4" if self.media_type == "VIDEO" else "jpg"
        folder = "o1/v/t16" if ext == "mp4" else "v/t51.29350-15"
        sig = _h("url", self.id) % 10**12
        return (
            f"https://scontent.cdninstagram.com/{folder}/{self.id}_{sig}_n.{ext}"
            f"?_nc_cat=1&ccb=1-7&_nc_sid=18de74&oh=00_sandbox&oe=6A000000"
        )

    @property
    def thumbnail_url(self) -> str:
        sig = _h("thumb", self.id) % 10**12
        return f"https://scontent.cdninstagram.com/v/t51.29350-15/{self.id}_{sig}_n.jpg"

    def children(self) -> list[MediaItem]:
        return [_child(self, j) for j in range(self.children_count)]


def _feed_times(p: Profile) -> tuple[float, float]:
    """(start, slot): generated item i is posted inside [start + i·slot, start + (i+1)·slot)."""
    start = p.start.timestamp()
    end = p.anchor.timestamp() - 3600
    return start, (end - start) / max(1, p.media_count)


def _feed_ts(p: Profile, i: int) -> int:
    start, slot = _feed_times(p)
    return int(start + (i + 0.1 + 0.8 * _u(p.seed, "t", i)) * slot)


def _feed_item(account: InstagramAccount, p: Profile, i: int) -> MediaItem:
    r = _rng(p.seed, "m", i)
    t = _traits(p)
    ts = _feed_ts(p, i)
    posted = datetime.fromtimestamp(ts, UTC)
    x = r.random()
    image, video, reel, _ = t.mix
    if x < image:
        media_type, product, children = "IMAGE", "FEED", 0
    elif x < image + video:
        media_type, product, children = "VIDEO", "FEED", 0
    elif x < image + video + reel:
        media_type, product, children = "VIDEO", "REELS", 0
    else:
        media_type, product, children = "CAROUSEL_ALBUM", "FEED", r.randint(2, 10)
    base = followers_on(p, pacific_day(posted))
    rate = t.reel_reach if product == "REELS" else t.feed_reach
    # A heavy tail: most posts land near the account's usual reach, a few go far beyond it.
    factor = math.exp(r.gauss(0, 0.45)) * (r.uniform(2, 6) if r.random() < 0.03 else 1.0)
    return MediaItem(
        id=encode_id(P_FEED, p.pk * 10**6 + i),
        account=account,
        media_type=media_type,
        product_type=product,
        posted_at=posted,
        caption=_caption(r),
        children_count=children,
        index=i,
        reach_target=max(1, int(base * rate * factor) + r.randint(0, 3)),
        shared_to_facebook=r.random() < (0.4 if product == "REELS" else 0.2),
        copyright_flagged=media_type == "VIDEO" and r.random() < 0.02,
        comments_enabled=r.random() < 0.97,
        rand_key=(p.seed, "m", i),
    )


def _caption(r: random.Random) -> str:
    words = " ".join(r.choice(CAPTION_WORDS) for _ in range(r.randint(3, 14)))
    # (Not r.sample: its isinstance(…, Sequence) check is slow when ABC caches churn.)
    tags = " ".join(tag for tag in HASHTAGS if r.random() < 0.25)
    return (words.capitalize() + (" " + tags if tags else "")).strip()


def _child(parent: MediaItem, j: int) -> MediaItem:
    if parent.row is not None:
        child_id = encode_id(P_ROW_CHILD, parent.row.pk * 10 + j)
    else:
        child_id = encode_id(f"17{j}", decode_id(parent.id)[1])
    r = _rng("child", parent.id, j)
    return MediaItem(
        id=child_id,
        account=parent.account,
        media_type="VIDEO" if r.random() < 0.15 else "IMAGE",
        product_type="FEED",
        posted_at=parent.posted_at,
        index=j,
        parent_id=parent.id,
        rand_key=("child", parent.id, j),
    )


def _row_item(row: Media, account: InstagramAccount | None = None) -> MediaItem:
    account = account or row.account
    r = _rng("row", row.pk, row.seed)
    t = traits(account.seed, (account.region or "US").upper())
    rate = {"REELS": t.reel_reach, "STORY": t.story_reach}.get(row.product_type, t.feed_reach)
    target = row.reach_target
    if target is None:
        target = max(1, int(account.followers * rate * math.exp(r.gauss(0, 0.3))))
    return MediaItem(
        id=row.media_id,
        account=account,
        media_type=row.media_type,
        product_type=row.product_type,
        posted_at=row.posted_at.replace(microsecond=0),
        caption=row.caption,
        children_count=row.children if row.media_type == "CAROUSEL_ALBUM" else 0,
        reach_target=max(0, target),
        shared_to_facebook=r.random() < 0.3,
        rand_key=("row", row.pk, row.seed),
        row=row,
    )


# --- Stories --------------------------------------------------------------------------------------


def _story_slots(p: Profile) -> tuple[float, float] | None:
    """(phase, spacing): generated story k is posted at EPOCH + phase + k·spacing."""
    if p.active_stories <= 0:
        return None
    spacing = 86400 / p.active_stories
    return _u(p.seed, "phase") * spacing, spacing


def _story_item(account: InstagramAccount, p: Profile, k: int) -> MediaItem | None:
    slots = _story_slots(p)
    if slots is None or k < 0:
        return None
    phase, spacing = slots
    posted = EPOCH + timedelta(seconds=int(phase + k * spacing))
    r = _rng(p.seed, "s", k)
    t = _traits(p)
    quiet = r.random() < 0.2  # some stories reach fewer than 5 accounts: (#10) on insights
    if quiet:
        target = r.randint(1, 4)
    else:
        target = int(
            followers_on(p, pacific_day(posted)) * t.story_reach * math.exp(r.gauss(0, 0.3))
        )
    return MediaItem(
        id=encode_id(P_STORY, p.pk * 10**7 + k),
        account=account,
        media_type="VIDEO" if r.random() < 0.3 else "IMAGE",
        product_type="STORY",
        posted_at=posted,
        index=k,
        reach_target=max(0, target),
        shared_to_facebook=r.random() < 0.15,
        rand_key=(p.seed, "s", k),
    )


def active_stories(account: InstagramAccount, at: datetime | None = None) -> list[MediaItem]:
    """Stories live at sandbox time `at` (posted within the last 24 hours), newest first."""
    at = at or sandbox_now()
    p = profile(account)
    items: list[MediaItem] = []
    slots = _story_slots(p)
    if slots is not None:
        phase, spacing = slots
        newest = math.floor(((at - EPOCH).total_seconds() - phase) / spacing)
        for k in range(newest, newest - p.active_stories, -1):
            item = _story_item(account, p, k)
            if item is not None and item.posted_at >= p.start:
                items.append(item)
    rows = Media.objects.filter(
        account=account, product_type="STORY", posted_at__gt=at - STORY_LIFETIME, posted_at__lte=at
    )
    items.extend(_row_item(row, account) for row in rows)
    return sorted(items, key=lambda m: m.key, reverse=True)


# --- Looking media up -----------------------------------------------------------------------------


_accounts_memo: ContextVar[dict | None] = ContextVar("sandbox_accounts_memo", default=None)


@contextmanager
def shared_lookups() -> Iterator[None]:
    """Within one composite request (a batch of 50 insights calls on one account), load each
    account once instead of once per operation."""
    token = _accounts_memo.set({})
    try:
        yield
    finally:
        _accounts_memo.reset(token)


def _account(pk: int) -> InstagramAccount | None:
    memo = _accounts_memo.get()
    if memo is not None and pk in memo:
        return memo[pk]
    # With its Page: access checks of Facebook-Login tokens go through it.
    account = InstagramAccount.objects.filter(pk=pk).select_related("page").first()
    if memo is not None:
        memo[pk] = account
    return account


def get_media(media_id: str) -> MediaItem | None:
    """Any media by id: generated feed items, their children, stories, or control-API rows.
    Expired stories are returned too (callers decide what an expired story means)."""
    decoded = decode_id(media_id)
    if decoded is not None:
        item = _decode_item(*decoded)
        if item is not None:
            return item
    row = Media.objects.filter(media_id=media_id).select_related("account__page").first()
    return _row_item(row) if row else None


def _decode_item(prefix: str, body: int) -> MediaItem | None:
    if prefix == P_FEED or prefix[:2] == "17":
        pk, i = divmod(body, 10**6)
        account = _account(pk)
        if account is None or i >= account.media_count:
            return None
        item = _feed_item(account, profile(account), i)
        if prefix == P_FEED:
            return item
        j = int(prefix[2])
        return _child(item, j) if j < item.children_count else None
    if prefix == P_STORY:
        pk, k = divmod(body, 10**7)
        account = _account(pk)
        return _story_item(account, profile(account), k) if account else None
    if prefix == P_ROW_CHILD:
        row_pk, j = divmod(body, 10)
        row = Media.objects.filter(pk=row_pk).select_related("account__page").first()
        if row is None or row.media_type != "CAROUSEL_ALBUM" or j >= row.children:
            return None
        return _child(_row_item(row), j)
    return None


# --- The feed (newest first) ----------------------------------------------------------------------


def _gen_below(p: Profile, key: tuple[int, str] | None) -> int:
    """The largest generated index whose key is < `key` (-1 if none)."""
    n = p.media_count
    if key is None:
        return n - 1
    start, slot = _feed_times(p)
    j = min(n - 1, max(-1, math.floor((key[0] - start) / slot)))
    # Item j-1 and older are strictly earlier than key's second; only j, j+1 need a look.
    i = min(n - 1, j + 1)
    while i >= 0 and (_feed_ts(p, i), encode_id(P_FEED, p.pk * 10**6 + i)) >= key:
        i -= 1
    return i


def _gen_above(p: Profile, key: tuple[int, str]) -> int:
    """The smallest generated index whose key is > `key` (media_count if none)."""
    n = p.media_count
    start, slot = _feed_times(p)
    j = min(n, max(0, math.floor((key[0] - start) / slot)))
    i = max(0, j - 1)
    while i < n and (_feed_ts(p, i), encode_id(P_FEED, p.pk * 10**6 + i)) <= key:
        i += 1
    return i


def feed_rows(account: InstagramAccount, at: datetime) -> list[MediaItem]:
    """Control-API feed media (not stories) visible at `at`, newest first."""
    rows = Media.objects.filter(account=account, posted_at__lte=at).exclude(product_type="STORY")
    return sorted((_row_item(r, account) for r in rows), key=lambda m: m.key, reverse=True)


def iter_media(
    account: InstagramAccount,
    *,
    before_index: int | None = None,
    below: tuple[int, str] | None = None,
    at: datetime | None = None,
    rows: list[MediaItem] | None = None,
) -> Iterator[MediaItem]:
    """Feed media newest first, generated items merged with control-API rows, lazily.

    `before_index` starts below generated item `before_index`; `below` below a (timestamp, id)
    key. Items posted after `at` (sandbox now) are invisible. The 10,000 cap is page_media's."""
    at = at or sandbox_now()
    p = profile(account)
    if before_index is not None:
        before_index = max(0, min(before_index, p.media_count))
        ts = _feed_ts(p, before_index) if before_index < p.media_count else None
        if ts is not None:
            below = (ts, encode_id(P_FEED, p.pk * 10**6 + before_index))
    ceiling = (int(at.timestamp()), "~")  # "~" sorts after every digit: includes `at` itself
    below = min(below, ceiling) if below else ceiling
    rows = feed_rows(account, at) if rows is None else rows
    pending = [r for r in rows if r.key < below]
    i = _gen_below(p, below)
    generated = _feed_item(account, p, i) if i >= 0 else None
    while generated is not None or pending:
        if pending and (generated is None or pending[0].key > generated.key):
            yield pending.pop(0)
        else:
            yield generated
            i -= 1
            generated = _feed_item(account, p, i) if i >= 0 else None


def _iter_media_up(
    account: InstagramAccount, p: Profile, above: tuple[int, str], ceiling, rows
) -> Iterator[MediaItem]:
    """Feed media older-to-newer starting just above `above` (for `before` cursors)."""
    pending = sorted((r for r in rows if above < r.key <= ceiling), key=lambda m: m.key)
    i = _gen_above(p, above)
    n = p.media_count

    def gen(i: int) -> MediaItem | None:
        if i >= n:
            return None
        item = _feed_item(account, p, i)
        return item if item.key <= ceiling else None

    generated = gen(i)
    while generated is not None or pending:
        if pending and (generated is None or pending[0].key < generated.key):
            yield pending.pop(0)
        else:
            yield generated
            i += 1
            generated = gen(i)


def _count_newer(p: Profile, key: tuple[int, str], ceiling, rows) -> int:
    """How many visible feed items are newer than `key` (its rank from the top)."""
    top = _gen_below(p, (ceiling[0] + 1, ""))
    newer_generated = max(0, top - _gen_below(p, (key[0], key[1] + "~")))
    return newer_generated + sum(1 for r in rows if key < r.key <= ceiling)


def encode_cursor(key: tuple[int, str]) -> str:
    """Opaque cursors in Meta's look (base64 of "AQH…" starts with "QVFI")."""
    raw = f"AQH{key[0]}:{key[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, media_id = raw[3:].split(":", 1)
        return (int(ts), media_id) if raw.startswith("AQH") else None
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class MediaPage:
    items: list[MediaItem]
    has_previous: bool
    has_next: bool

    @property
    def before(self) -> str | None:
        return encode_cursor(self.items[0].key) if self.items else None

    @property
    def after(self) -> str | None:
        return encode_cursor(self.items[-1].key) if self.items else None


def page_media(
    account: InstagramAccount,
    after: str | None = None,
    limit: int = 25,
    *,
    before: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    at: datetime | None = None,
) -> MediaPage:
    """One page of /media: newest first, cursor-based, within the 10,000 most recent items.
    `after`/`before` are cursors from a previous page; `since`/`until` bound the timestamps."""
    at = at or sandbox_now()
    p = profile(account)
    rows = feed_rows(account, at)
    top = (int(at.timestamp()), "~")  # the 10,000 cap counts from the newest visible item
    ceiling = min(top, (int(until.timestamp()), "~")) if until is not None else top
    floor_ts = int(since.timestamp()) if since is not None else None
    limit = max(1, limit)

    def in_window(item: MediaItem) -> bool:
        return floor_ts is None or item.key[0] >= floor_ts

    if before is not None:
        key = decode_cursor(before)
        items = []
        for item in _iter_media_up(account, p, key, ceiling, rows) if key else ():
            if _count_newer(p, item.key, top, rows) >= MAX_FEED or not in_window(item):
                continue
            items.append(item)
            if len(items) > limit:
                break
        has_previous = len(items) > limit
        items = list(reversed(items[:limit]))
        return MediaPage(items, has_previous=has_previous, has_next=bool(items))
    key = decode_cursor(after) if after is not None else None
    if after is not None and key is None:
        return MediaPage([], has_previous=False, has_next=False)
    below = min(key, ceiling) if key else ceiling
    rank = _count_newer(p, below, top, rows) + (1 if key else 0)
    items = []
    for item in iter_media(account, below=below, at=at, rows=rows):
        if rank >= MAX_FEED or not in_window(item):
            break
        items.append(item)
        rank += 1
        if len(items) > limit:
            break
    has_next = len(items) > limit
    return MediaPage(items[:limit], has_previous=key is not None and bool(items), has_next=has_next)


def media_count(account: InstagramAccount, at: datetime | None = None) -> int:
    """`media_count` of the profile: generated feed items plus control-API feed media."""
    at = at or sandbox_now()
    rows = Media.objects.filter(account=account, posted_at__lte=at).exclude(product_type="STORY")
    return account.media_count + rows.count()


# --- Media metrics --------------------------------------------------------------------------------

ACTION_TYPES = ("bio_link_clicked", "call", "direction", "email", "other", "text")
NAVIGATION_TYPES = ("tap_forward", "tap_back", "tap_exit", "swipe_forward")


def growth(hours: float, product_type: str) -> float:
    """Share of a media item's final audience reached `hours` after posting (saturating)."""
    if hours <= 0:
        return 0.0
    if product_type == "STORY":
        return (1 - math.exp(-min(hours, 24) / 4)) / (1 - math.exp(-6))
    if product_type == "REELS":
        return 0.6 * (1 - math.exp(-hours / 20)) + 0.4 * (1 - math.exp(-hours / 240))
    return 0.75 * (1 - math.exp(-hours / 10)) + 0.25 * (1 - math.exp(-hours / 120))


@dataclass(frozen=True)
class _Rates:
    views: float
    like: float
    comment: float
    save: float
    share: float
    repost: float
    follow: float
    visit: float
    activity: float
    reply: float
    navigation: float
    watch_ms: int
    replay: float
    skip_rate: float
    facebook: float
    action_weights: tuple[float, ...]
    nav_weights: tuple[float, ...]


def _rates(rand_key: tuple, product_type: str, media_type: str) -> _Rates:
    return _rates_for(settings.SANDBOX_SEED, rand_key, product_type, media_type)


@lru_cache(maxsize=20000)
def _rates_for(world_seed: int, rand_key: tuple, product_type: str, media_type: str) -> _Rates:
    r = _rng("rates", *rand_key)
    views = {
        "STORY": (1.05, 1.4),
        "REELS": (1.4, 2.0),
        "CAROUSEL_ALBUM": (1.6, 3.0),
        "VIDEO": (1.5, 2.5),
    }.get(product_type if product_type != "FEED" else media_type, (1.3, 2.2))
    return _Rates(
        views=r.uniform(*views),
        like=r.uniform(0.03, 0.12),
        comment=r.uniform(0.02, 0.1),
        save=r.uniform(0.05, 0.2),
        share=r.uniform(0.02, 0.15),
        repost=r.uniform(0.05, 0.3),
        follow=r.uniform(0.001, 0.006),
        visit=r.uniform(0.01, 0.04),
        activity=r.uniform(0.1, 0.3),
        reply=r.uniform(0.005, 0.03),
        navigation=r.uniform(0.85, 1.1),
        watch_ms=r.randint(2500, 14000),
        replay=r.uniform(1.05, 1.25),
        skip_rate=round(r.uniform(20, 60), 2),
        facebook=r.uniform(0.05, 0.3),
        action_weights=(
            r.uniform(3, 6),
            r.uniform(0, 1),
            r.uniform(0, 1),
            r.uniform(0, 1),
            r.uniform(0.5, 2),
            r.uniform(0, 1),
        ),
        nav_weights=(r.uniform(70, 80), r.uniform(5, 12), r.uniform(8, 15), r.uniform(2, 6)),
    )


def media_metrics(item: MediaItem, at: datetime) -> dict:
    """Lifetime metric values of a media item at sandbox time `at` ({} before it is posted).

    Scalar values per metric; `"breakdowns"` maps profile_activity / navigation to their parts
    (lower-case labels, summing to the total). Every count is floor(final × growth), so values
    only grow with time and keep their ratios: likes < reach ≤ views. Stories freeze at 24 h."""
    if item.is_child:
        return {}
    hours = (at - item.posted_at).total_seconds() / 3600
    if hours <= 0:
        return {}
    g = growth(hours, item.product_type)
    r = _rates(item.rand_key, item.product_type, item.media_type)
    target = item.reach_target
    reach = int(target * g)
    views = int(target * r.views * g)
    facebook = int(target * r.views * r.facebook * g) if item.shared_to_facebook else None
    if item.is_story:
        return _story_metrics(item, r, target, g, reach, views, facebook)
    likes = int(target * r.like * g)
    comments = int(target * r.like * r.comment * g)
    saved = int(target * r.like * r.save * g)
    shares = int(target * r.like * r.share * g)
    reposts = int(target * r.like * r.share * r.repost * g)
    values: dict = {
        "reach": reach,
        "views": views,
        "likes": likes,
        "comments": comments,
        "saved": saved,
        "shares": shares,
        "reposts": reposts,
        "total_interactions": likes + comments + saved + shares,
        "total_likes": likes + (int(likes * r.facebook) if facebook is not None else 0),
        "total_comments": comments + (int(comments * r.facebook) if facebook is not None else 0),
        "total_views": views + (facebook or 0),
        "breakdowns": {},
    }
    if facebook is not None:
        values["facebook_views"] = facebook
    if item.is_reel:
        values["ig_reels_avg_watch_time"] = r.watch_ms if views else 0
        values["ig_reels_video_view_total_time"] = int(views * r.watch_ms * r.replay)
        values["reels_skip_rate"] = r.skip_rate if views else 0.0
        if facebook is not None:
            values["crossposted_views"] = facebook
    else:
        _profile_metrics(values, target, r, g)
        if item.posted_at <= IMPRESSIONS_CUTOFF:
            values["impressions"] = int(target * r.views * 1.1 * g)
    return values


# `impressions` survives (on ≤ v21 only) for media created on or before this moment.
IMPRESSIONS_CUTOFF = datetime(2024, 7, 2, 7, 0, tzinfo=UTC)


def _profile_metrics(values: dict, target: int, r: _Rates, g: float) -> None:
    visits = int(target * r.visit * g)
    activity = int(target * r.visit * r.activity * g)
    values["follows"] = int(target * r.follow * g)
    values["profile_visits"] = visits
    values["profile_activity"] = activity
    values["breakdowns"]["profile_activity"] = allocate(
        activity, dict(zip(ACTION_TYPES, r.action_weights, strict=True))
    )


def _story_metrics(item, r: _Rates, target, g, reach, views, facebook) -> dict:
    replies = 0 if item.account.region.upper() in NO_REPLIES_REGIONS else int(target * r.reply * g)
    shares = int(target * r.reply * r.share * g)
    navigation = int(target * r.views * r.navigation * g)
    values = {
        "reach": reach,
        "views": views,
        "shares": shares,
        "replies": replies,
        "reposts": int(shares * r.repost),
        "total_interactions": replies + shares,
        "navigation": navigation,
        "total_views": views + (facebook or 0),
        "breakdowns": {
            "navigation": allocate(
                navigation, dict(zip(NAVIGATION_TYPES, r.nav_weights, strict=True))
            )
        },
    }
    if facebook is not None:
        values["facebook_views"] = facebook
    _profile_metrics(values, target, r, g)
    if item.posted_at <= IMPRESSIONS_CUTOFF:
        values["impressions"] = int(views * 1.15)
    return values


# --- Account daily metrics ------------------------------------------------------------------------

MPT_LABELS = ("POST", "CAROUSEL_CONTAINER", "REEL", "STORY")
FOLLOW_TYPES = ("FOLLOWER", "NON_FOLLOWER", "UNKNOWN")
FOLLOWER_TYPES = ("FOLLOWER", "NON_FOLLOWER")
CONTACT_BUTTONS = (
    "BOOK_NOW",
    "CALL",
    "DIRECTION",
    "EMAIL",
    "INSTANT_EXPERIENCE",
    "TEXT",
    "UNDEFINED",
)
# Which media product types a metric's breakdown reports (stories have no likes, comments, saves).
MPT_FOR = {
    "likes": MPT_LABELS[:3],
    "comments": MPT_LABELS[:3],
    "saves": MPT_LABELS[:3],
}
# Reach is not additive: one person reached by a post and a reel counts once in the total.
DEDUPLICATED = frozenset({"reach", "accounts_engaged"})
REPEAT_AUDIENCE = 0.35  # share of a day's reach that is new when days are combined
OVERLAP = 1.2  # reach per media product type sums to more than the total


@dataclass(frozen=True)
class DayMetrics:
    """An account's metrics for one Pacific day, plus how they split by dimension."""

    day: date
    followers: int  # at the end of the day
    follows: int  # new followers that day (`follower_count`)
    unfollows: int
    values: dict
    shares: dict  # dimension -> {label: weight}


WEEKDAY = (1.0, 1.05, 1.08, 1.04, 0.98, 0.9, 0.92)


@lru_cache(maxsize=65536)
def _day(p: Profile, ordinal: int) -> DayMetrics:
    day = date.fromordinal(ordinal)
    t = _traits(p)
    r = _rng(p.seed, "day", ordinal)
    followers = followers_on(p, day)
    net = followers - followers_on(p, day - timedelta(days=1)) if day > p.first_day else 0
    unfollows = int(followers * 0.0006 * (0.5 + r.random()) + r.random())
    posts = _posts_on(p, day)
    noise = math.exp(r.gauss(0, 0.25)) * WEEKDAY[day.weekday()]
    reach = int((followers * t.daily_reach + 3) * noise * (1 + 0.35 * min(posts, 3)))
    likes = int(reach * t.like_rate * math.exp(r.gauss(0, 0.2)))
    comments = int(likes * r.uniform(0.02, 0.08))
    saves = int(likes * r.uniform(0.04, 0.14))
    shares = int(likes * r.uniform(0.03, 0.13))
    no_replies = p.region in NO_REPLIES_REGIONS
    replies = 0 if no_replies else int(p.active_stories * followers * 0.0004 * r.random())
    interactions = likes + comments + saves + shares + replies
    values = {
        "reach": reach,
        "views": int(reach * r.uniform(1.7, 2.6)),
        "likes": likes,
        "comments": comments,
        "saves": saves,
        "shares": shares,
        "replies": replies,
        "reposts": int(shares * r.uniform(0.05, 0.25)),
        "total_interactions": interactions,
        "accounts_engaged": min(reach, int(interactions * r.uniform(0.55, 0.85))),
        "profile_links_taps": int(reach * r.uniform(0.001, 0.008)),
    }
    image, video, reel, carousel = t.mix
    story = 0.25 if p.active_stories else 0.0
    follower = min(0.95, t.follower_share * math.exp(r.gauss(0, 0.08)))
    unknown = r.uniform(0.005, 0.03)
    shares_by = {
        "media_product_type": _noisy(
            r, zip(MPT_LABELS, (image + video, carousel, reel * 1.5, story), strict=True)
        ),
        "follow_type": {
            "FOLLOWER": follower,
            "NON_FOLLOWER": 1 - follower - unknown,
            "UNKNOWN": unknown,
        },
        "follower_type": {"FOLLOWER": follower * 0.9, "NON_FOLLOWER": 1 - follower * 0.9},
        "contact_button_type": _noisy(r, zip(CONTACT_BUTTONS, t.contact, strict=True)),
    }
    return DayMetrics(day, followers, max(0, net) + unfollows, unfollows, values, shares_by)


def _noisy(r: random.Random, pairs) -> dict:
    return {k: w * r.uniform(0.8, 1.25) for k, w in pairs}


def _posts_on(p: Profile, day: date) -> int:
    """Generated posts published during a Pacific day (O(1) from the even spread)."""
    if p.media_count == 0:
        return 0
    lo = _gen_below(p, (int(day_start(day).timestamp()), ""))
    hi = _gen_below(p, (int(day_end(day).timestamp()), ""))
    return hi - lo


def has_day(account_or_profile, day: date, today: date) -> bool:
    """Whether Meta would still have user metrics for `day` (history and ~2-year retention)."""
    p = (
        account_or_profile
        if isinstance(account_or_profile, Profile)
        else profile(account_or_profile)
    )
    return max(p.first_day, today - timedelta(days=RETENTION_DAYS)) <= day <= today


def day_metrics(
    account: InstagramAccount, day: date, *, today: date | None = None
) -> DayMetrics | None:
    """An account's metrics for a Pacific day, or None where Meta has no data for it."""
    p = profile(account)
    today = today or pacific_day(sandbox_now())
    return _day(p, day.toordinal()) if has_day(p, day, today) else None


def breakdown_split(dm: DayMetrics, metric: str, value: float, dims: tuple[str, ...]) -> dict:
    """Split a (possibly prorated) day value across the cross product of `dims`: {labels: value}."""
    if metric == "follows_and_unfollows":
        # follow_type here means followed vs. unfollowed (Meta's labels FOLLOWER / NON_FOLLOWER).
        scale = value / max(1, dm.follows + dm.unfollows)
        return {("FOLLOWER",): dm.follows * scale, ("NON_FOLLOWER",): dm.unfollows * scale}
    weights = []
    for dim in dims:
        w = dm.shares[dim]
        if dim == "media_product_type":
            labels = MPT_FOR.get(metric, MPT_LABELS)
            w = {k: v for k, v in w.items() if k in labels and v > 0}
        norm = sum(w.values()) or 1.0
        weights.append({k: v / norm for k, v in w.items()})
    parts = {}
    overlap = OVERLAP if metric in DEDUPLICATED and "media_product_type" in dims else 1.0
    for combo in product(*(w.items() for w in weights)):
        share = math.prod(s for _, s in combo)
        parts[tuple(label for label, _ in combo)] = min(value, value * share * overlap)
    return parts


def day_value(dm: DayMetrics, metric: str) -> int:
    if metric == "follower_count":
        return dm.follows
    if metric == "follows_and_unfollows":
        return dm.follows + dm.unfollows
    return dm.values[metric]


def combine(metric: str, parts: list[float]) -> int:
    """Combine per-day values over a window: sums, except reach-like metrics are de-duplicated."""
    if not parts:
        return 0
    if metric in DEDUPLICATED:
        top = max(parts)
        return round(top + (sum(parts) - top) * REPEAT_AUDIENCE)
    return round(sum(parts))


def window_days(since: datetime, until: datetime, at: datetime) -> list[tuple[date, float]]:
    """Pacific days overlapping [since, min(until, at)) with the overlapping fraction of each."""
    end = min(until, at)
    days = []
    day = pacific_day(since)
    while day_start(day) < end:
        lo, hi = max(since, day_start(day)), min(end, day_end(day))
        if hi > lo:
            days.append((day, (hi - lo) / (day_end(day) - day_start(day))))
        day += timedelta(days=1)
    return days


def account_total(
    account: InstagramAccount,
    metric: str,
    since: datetime,
    until: datetime,
    dims: tuple[str, ...] = (),
    *,
    at: datetime | None = None,
) -> tuple[int, dict] | None:
    """One total for a window (total_value), with an optional cross-product breakdown.
    Partial days count pro rata (today so far, or a window starting mid-day). None = no data."""
    at = at or sandbox_now()
    p = profile(account)
    today = pacific_day(at)
    per_day, per_label = [], {}
    for day, fraction in window_days(since, until, at):
        if not has_day(p, day, today):
            continue
        dm = _day(p, day.toordinal())
        value = day_value(dm, metric) * fraction
        per_day.append(value)
        if dims:
            for labels, part in breakdown_split(dm, metric, value, dims).items():
                per_label.setdefault(labels, []).append(part)
    if not per_day:
        return None
    total = combine(metric, per_day)
    if metric in DEDUPLICATED:
        return total, {k: combine(metric, v) for k, v in per_label.items()}
    # Counts add up: the parts of likes, views, … sum exactly to the total.
    return total, allocate(total, {k: sum(v) for k, v in per_label.items()}) if per_label else {}


PERIOD_DAYS = {"day": 1, "week": 7, "days_28": 28}


def account_series(
    account: InstagramAccount,
    metric: str,
    period: str,
    since: datetime,
    until: datetime,
    *,
    at: datetime | None = None,
) -> list[tuple[datetime, int]]:
    """Daily values (end_time, value) for complete Pacific days whose end lies in (since, until].
    `week`/`days_28` give the de-duplicated value of the trailing 7 / 28 days."""
    at = at or sandbox_now()
    p = profile(account)
    today = pacific_day(at)
    span = PERIOD_DAYS[period]
    out = []
    day = pacific_day(since - timedelta(seconds=1))
    while day_end(day) <= min(until, at):
        if day_end(day) > since and has_day(p, day, today):
            days = [day - timedelta(days=k) for k in range(span)]
            parts = [
                day_value(_day(p, d.toordinal()), metric) for d in days if has_day(p, d, today)
            ]
            out.append((day_end(day), combine(metric, parts)))
        day += timedelta(days=1)
    return out


# --- Demographics ---------------------------------------------------------------------------------

AGE_BUCKETS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("F", "M", "U")
COUNTRY_POOL = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "MX",
    "IN",
    "ID",
    "JP",
    "CA",
    "AU",
    "TR",
    "PH",
    "AR",
    "CO",
    "NG",
    "EG",
    "PL",
    "SE",
    "PT",
    "IE",
    "KR",
    "AE",
    "ZA",
    "CL",
    "PE",
    "MY",
    "TH",
    "VN",
    "SA",
    "BE",
    "AT",
    "CH",
    "DK",
    "NO",
    "FI",
    "GR",
)
CITIES = {
    "US": [
        "New York, New York",
        "Los Angeles, California",
        "Chicago, Illinois",
        "Houston, Texas",
        "Miami, Florida",
        "San Francisco, California",
        "Seattle, Washington",
        "Austin, Texas",
        "Atlanta, Georgia",
        "Boston, Massachusetts",
    ],
    "GB": ["London, England", "Manchester, England", "Birmingham, England", "Glasgow, Scotland"],
    "DE": [
        "Berlin, Berlin",
        "Munich, Bavaria",
        "Hamburg, Hamburg",
        "Cologne, North Rhine-Westphalia",
    ],
    "FR": [
        "Paris, Île-de-France",
        "Lyon, Auvergne-Rhône-Alpes",
        "Marseille, Provence-Alpes-Côte d'Azur",
    ],
    "ES": ["Madrid, Comunidad de Madrid", "Barcelona, Catalonia", "Valencia, Valencian Community"],
    "IT": ["Rome, Lazio", "Milan, Lombardy", "Naples, Campania"],
    "NL": ["Amsterdam, North Holland", "Rotterdam, South Holland"],
    "BR": [
        "São Paulo, São Paulo",
        "Rio de Janeiro, Rio de Janeiro",
        "Belo Horizonte, Minas Gerais",
    ],
    "MX": ["Mexico City, Distrito Federal", "Guadalajara, Jalisco", "Monterrey, Nuevo León"],
    "IN": ["Mumbai, Maharashtra", "Delhi, Delhi", "Bangalore, Karnataka", "Chennai, Tamil Nadu"],
    "ID": ["Jakarta, Jakarta", "Bandung, West Java", "Surabaya, East Java"],
    "JP": ["Tokyo, Tokyo", "Osaka, Osaka", "Yokohama, Kanagawa"],
    "CA": ["Toronto, Ontario", "Vancouver, British Columbia", "Montreal, Quebec"],
    "AU": ["Sydney, New South Wales", "Melbourne, Victoria", "Brisbane, Queensland"],
    "TR": ["Istanbul, Istanbul Province", "Ankara, Ankara Province"],
    "PH": ["Manila, Metro Manila", "Quezon City, Metro Manila"],
    "AR": ["Buenos Aires, Buenos Aires"],
    "CO": ["Bogotá, Distrito Especial"],
    "NG": ["Lagos, Lagos State"],
    "PL": ["Warsaw, Masovian Voivodeship"],
    "SE": ["Stockholm, Stockholm County"],
    "PT": ["Lisbon, Lisbon District"],
    "IE": ["Dublin, Dublin"],
    "KR": ["Seoul, Seoul"],
}
TIMEFRAME_DAYS = {
    "this_week": 7,
    "this_month": 30,
    "last_14_days": 14,
    "last_30_days": 30,
    "last_90_days": 90,
    "prev_month": 30,
}
TOP_BUCKETS = 45
MIN_AUDIENCE = 100


def _dimension_weights(t: Traits, dim: str, audience: str, seed: int) -> dict:
    r = _rng(seed, "demo", audience, dim)
    if dim == "age":
        base = dict(zip(AGE_BUCKETS, t.age, strict=True))
    elif dim == "gender":
        base = dict(zip(GENDERS, t.gender, strict=True))
    elif dim == "country":
        base = dict(t.countries)
    else:  # city: each country's share spread over its cities, big cities first
        base = {}
        for country, weight in t.countries:
            cities = CITIES.get(country, [])
            for rank, city in enumerate(cities):
                base[city] = weight * 0.6 / (rank + 1.5)
    # Engaged / reached audiences lean a little differently from followers.
    jitter = 0.0 if audience == "follower" else 0.15
    return {k: w * math.exp(r.gauss(0, jitter)) for k, w in base.items()}


def audience_size(
    account: InstagramAccount, audience: str, timeframe: str, *, at: datetime | None = None
) -> int:
    """Accounts with known demographics in an audience (follower / engaged / reached)."""
    at = at or sandbox_now()
    p = profile(account)
    t = _traits(p)
    if audience == "follower":
        return int(p.followers * t.known_demographics)
    metric = "accounts_engaged" if audience == "engaged" else "reach"
    days = TIMEFRAME_DAYS.get(timeframe, 30)
    today = day_start(pacific_day(at))
    total = account_total(account, metric, today - timedelta(days=days), today, at=at)
    return int((total[0] if total else 0) * t.known_demographics)


def demographics(
    account: InstagramAccount,
    audience: str,
    dims: tuple[str, ...],
    timeframe: str = "this_month",
    *,
    at: datetime | None = None,
) -> dict | None:
    """Top 45 buckets {labels tuple: count} of an audience over the cross product of `dims`
    (age, gender, country, city). None when Meta hides it (fewer than 100 followers /
    engagements). Only known demographics are counted, so the buckets sum below the audience."""
    p = profile(account)
    if audience == "follower" and p.followers < MIN_AUDIENCE:
        return None
    size = audience_size(account, audience, timeframe, at=at)
    if audience != "follower" and size < MIN_AUDIENCE:
        return None
    t = _traits(p)
    weights = [_dimension_weights(t, dim, audience, p.seed) for dim in dims]
    combos = {}
    for combo in product(*(w.items() for w in weights)):
        combos[tuple(label for label, _ in combo)] = math.prod(w for _, w in combo)
    if "city" in dims:
        # Cities cover only part of the audience (small towns fall outside the top buckets).
        combos[("__rest__",)] = sum(combos.values()) * 0.45
    counts = allocate(size, combos)
    counts.pop(("__rest__",), None)
    ranked = sorted((kv for kv in counts.items() if kv[1] > 0), key=lambda kv: (-kv[1], kv[0]))
    return dict(ranked[:TOP_BUCKETS])
