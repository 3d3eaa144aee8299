"""The sandbox's synthetic world: media, stories, metrics and audiences of every account.

Everything here is a pure function of (settings.SANDBOX_SEED, the account's stored properties,
dates). Nothing is precomputed or stored: feed item `i` of an account is derived from a hash of
(seed, i), so an account with 10,000 posts costs nothing until a page of 25 is asked for, and the
same question gets the same answer in any process, after any restart. (No `random` without a
seed, no built-in `hash()` of strings: it is salted per process.)

The shape of an account's history (one world, consistent at every level):

- Its generated history spans `history_days` and reaches the anchor, the sandbox time the
  account was created (`anchor_at`). `media_count` feed items (images, videos, reels, carousels)
  are spread evenly over that span with jitter, and the account keeps posting at the same pace
  after the anchor; media added through the control API (`Media` rows) are merged in by time.
- Stories are generated continuously: `active_stories` slots per 24 hours, so at any sandbox time
  exactly that many generated stories are live.
- Every media item grows towards its final values along one saturating curve (fast in the first
  hours, levelling off over weeks; a story within its 24 hours), so its lifetime metrics are the
  sum of its daily increments and grow as the clock moves.
- Account metrics of any day or window are built from the increments of the media alive in it
  plus the account's own non-media activity (see "Account metrics" below), so account, media and
  stories reconcile: likes of a window are exactly its media's new likes, and so on.
- Followers follow a trajectory that reaches `followers` at the anchor and keeps growing (or
  shrinking) after it; each day's follows minus unfollows is exactly that day's change, and
  `followers_count` is the value at sandbox time now.
- Daily account metrics exist for every Pacific day from the start of history to today, but no
  more than two years back.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import product

from django.conf import settings

from . import world_settings
from .core import PACIFIC, register_impressions
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
class RowSpec:
    """A control-API media row as the world sees it (hashable: part of the account's Profile)."""

    pk: int
    media_id: str
    media_type: str
    product_type: str
    posted_ts: int
    reach_target: int | None
    seed: int
    children: int
    caption: str


@dataclass(frozen=True)
class Profile:
    """The stored properties of an account that the world depends on (hashable, cacheable).
    `rows` are the media added through the control API: adding one changes the Profile, so
    every cache keyed by it sees the new media at once."""

    world_seed: int  # settings.SANDBOX_SEED, so caches never mix two worlds
    pk: int
    ig_user_id: str
    username: str
    seed: int
    followers: int  # followers at the anchor (the moment the account entered the sandbox)
    media_count: int  # generated feed media posted before the anchor
    history_days: int
    anchor: datetime
    converted_at: datetime | None
    region: str
    active_stories: int
    online_followers: bool = False
    rows: tuple[RowSpec, ...] = ()

    @property
    def start(self) -> datetime:
        return self.anchor - timedelta(days=self.history_days)

    @property
    def first_day(self) -> date:
        return pacific_day(self.anchor) - timedelta(days=self.history_days)

    @property
    def anchor_day(self) -> date:
        return pacific_day(self.anchor)

    @cached_property
    def bare(self) -> Profile:
        """The same account without its control-API rows: the key of caches of generated
        activity, which rows never change."""
        return replace(self, rows=()) if self.rows else self


def _row_specs(account: InstagramAccount) -> tuple[RowSpec, ...]:
    """The account's control-API media, loaded once per account object (one query)."""
    cached = getattr(account, "_sandbox_rows", None)
    if cached is not None:
        return cached
    if account.pk is None or account._state.adding:
        specs: tuple[RowSpec, ...] = ()
    else:
        specs = tuple(
            RowSpec(
                pk=row.pk,
                media_id=row.media_id,
                media_type=row.media_type,
                product_type=row.product_type,
                posted_ts=int(row.posted_at.timestamp()),
                reach_target=row.reach_target,
                seed=row.seed,
                children=row.children if row.media_type == "CAROUSEL_ALBUM" else 0,
                caption=row.caption,
            )
            for row in Media.objects.filter(account_id=account.pk).order_by("pk")
        )
    account._sandbox_rows = specs
    return specs


def forget_rows(account: InstagramAccount) -> None:
    """After adding media to `account` in this process, let its next Profile see them."""
    account.__dict__.pop("_sandbox_rows", None)


def profile(account: InstagramAccount) -> Profile:
    anchor = account.anchor_at or account.created_at
    return Profile(
        world_seed=settings.SANDBOX_SEED,
        pk=account.pk,
        ig_user_id=account.ig_user_id,
        username=account.username,
        seed=account.seed,
        followers=max(0, account.followers),
        media_count=max(0, account.media_count),
        history_days=max(1, account.history_days),
        anchor=anchor.replace(microsecond=0),
        converted_at=account.converted_at,
        region=(account.region or "US").upper(),
        active_stories=max(0, min(MAX_STORY_SLOTS, account.active_stories)),
        online_followers=bool(getattr(account, "online_followers", False)),
        rows=_row_specs(account),
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
    yearly_growth: float  # follower growth per year after the anchor (may be negative)
    ad_share: float  # paid reach on ad days / organic daily reach (0: never runs ads)
    ad_days: float  # share of days with an ad running
    tap_rate: float  # profile link taps per profile visit
    overlap: float  # share of a second same-day media's reach that is new to the account


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
        yearly_growth=r.uniform(-0.08, 0.5),
        ad_share=0.0 if r.random() < 0.5 else r.uniform(0.1, 0.6),
        ad_days=r.uniform(0.2, 0.7),
        tap_rate=r.uniform(0.02, 0.08),
        overlap=r.uniform(0.55, 0.8),
    )


def _traits(p: Profile) -> Traits:
    return _traits_for(p.world_seed, p.seed, p.region)


def curve(p: Profile, at: datetime | float) -> float:
    """The account's generated follower trajectory at a moment: from a small start up to
    `followers` at the anchor (a convex curve), then compounding at the account's yearly growth
    (positive or negative) ever after. Media added through the control API add their `follows`
    on top (followers_on)."""
    ts = at if isinstance(at, float | int) else at.timestamp()
    anchor = p.anchor.timestamp()
    t = _traits(p)
    if ts >= anchor:
        return p.followers * (1 + t.yearly_growth) ** ((ts - anchor) / (365 * 86400))
    span = anchor - p.start.timestamp()
    x = (ts - p.start.timestamp()) / span
    if x < 0:
        return 0.0
    start = p.followers * t.start_fraction
    return start + (p.followers - start) * x**t.growth_gamma


def followers_on(p: Profile, day: date) -> int:
    """Followers at the end of a Pacific day (0 before the account's history starts)."""
    end = day_end(day)
    return round(curve(p, end)) + sum(_row_value(p, row, K_FOLLOWS, end) for row in p.rows)


def followers_now(p: Profile, at: datetime) -> int:
    """`followers_count` at sandbox time `at`: the day's start plus today's follows minus
    unfollows so far, so the profile field always agrees with follows_and_unfollows."""
    if at <= p.start:
        return 0
    return round(curve(p, at)) + sum(_row_value(p, row, K_FOLLOWS, at) for row in p.rows)


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


# --- Media life: finals and growth ----------------------------------------------------------------
#
# Every media item has a final value per metric (its audience at full growth times its rates) and
# one growth curve: its lifetime value at time t is floor(final × growth(t)). The account's
# activity on any span [s, e) is the sum over its media of value(e) − value(s), so lifetime
# metrics are exactly the sum of their daily increments, and the account's likes (comments,
# saves, shares, replies…) over any window are exactly what its media gained in that window.

# Metrics every media item accumulates (the account's daily values are built from these).
KEYS = (
    "reach",
    "views",
    "likes",
    "comments",
    "saved",
    "shares",
    "reposts",
    "replies",
    "follows",
    "profile_visits",
)
K_REACH, K_VIEWS, K_LIKES, K_COMMENTS, K_SAVED, K_SHARES, K_REPOSTS = range(7)
K_REPLIES, K_FOLLOWS, K_VISITS = 7, 8, 9
# …and media-only ones (not part of account metrics).
EXTRA = ("profile_activity", "navigation", "facebook_views", "impressions")
K_ACTIVITY, K_NAVIGATION, K_FACEBOOK, K_IMPRESSIONS = 10, 11, 12, 13
# How long a media item keeps gaining: a story its 24 hours, a feed post a month, a reel two.
LIFE_HOURS = {"STORY": 24.0, "FEED": 30 * 24.0, "REELS": 60 * 24.0}
MAX_LIFE = 60 * 86400
# IGTV merged into feed video in October 2021: older feed videos carry the IGTV label in
# account breakdowns (graph-api.md §4.2 lists IGTV among the observed labels).
IGTV_MERGED = datetime(2021, 10, 5, tzinfo=UTC).timestamp()


def _raw_growth(hours: float, product_type: str) -> float:
    if product_type == "STORY":
        return 1 - math.exp(-hours / 4)
    if product_type == "REELS":
        return 0.6 * (1 - math.exp(-hours / 20)) + 0.4 * (1 - math.exp(-hours / 240))
    return 0.75 * (1 - math.exp(-hours / 10)) + 0.25 * (1 - math.exp(-hours / 120))


_GROWTH_END = {k: _raw_growth(v, k) for k, v in LIFE_HOURS.items()}


def growth(hours: float, product_type: str) -> float:
    """Share of a media item's final audience reached `hours` after posting: fast in the first
    hours, levelling off, and exactly 1 at the end of its life (then it stops changing)."""
    if hours <= 0:
        return 0.0
    life = LIFE_HOURS.get(product_type, LIFE_HOURS["FEED"])
    if hours >= life:
        return 1.0
    return _raw_growth(hours, product_type) / _GROWTH_END.get(product_type, _GROWTH_END["FEED"])


@dataclass(frozen=True)
class Core:
    """What the account-level arithmetic needs of one media item."""

    ts: int  # posted, unix seconds
    product_type: str  # FEED | REELS | STORY
    media_type: str
    label: str  # its media_product_type label in account breakdowns (POST, REEL, …)
    finals: tuple[float, ...]  # KEYS + EXTRA at full growth

    def value(self, k: int, ts: float) -> int:
        return int(self.finals[k] * growth((ts - self.ts) / 3600, self.product_type))


def breakdown_label(product_type: str, media_type: str, ts: float) -> str:
    """Meta's observed labels (§4.2, §12.11), not the documented FEED/REELS."""
    if product_type == "STORY":
        return "STORY"
    if product_type == "REELS":
        return "REEL"
    if media_type == "CAROUSEL_ALBUM":
        return "CAROUSEL_CONTAINER"
    if media_type == "VIDEO" and ts < IGTV_MERGED:
        return "IGTV"
    return "POST"


def _finals(
    rand_key: tuple, product_type: str, media_type: str, target: int, no_replies: bool, fb: bool
) -> tuple[float, ...]:
    r = _rates(rand_key, product_type, media_type)
    t = float(target)
    views = t * r.views
    if product_type == "STORY":
        likes = comments = saved = 0.0
        shares = t * r.reply * r.share
        replies = 0.0 if no_replies else t * r.reply
        reposts = shares * r.repost
    else:
        likes = t * r.like
        comments, saved, shares = likes * r.comment, likes * r.save, likes * r.share
        reposts, replies = shares * r.repost, 0.0
    visits = t * r.visit
    return (
        t,
        views,
        likes,
        comments,
        saved,
        shares,
        reposts,
        replies,
        t * r.follow,
        visits,
        visits * r.activity,
        views * r.navigation,
        views * r.facebook if fb else 0.0,
        views * 1.1,
    )


# --- Media items ----------------------------------------------------------------------------------


@dataclass
class MediaItem:
    """One IG media object, generated or added through the control API."""

    id: str
    account: InstagramAccount
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    product_type: str  # FEED | REELS | STORY
    posted_at: datetime
    text: str | None = None  # the caption; None on generated items: drawn when first read
    children_count: int = 0
    index: int | None = None  # feed index (0 = oldest) or story slot; None for rows
    parent_id: str | None = None  # set on carousel children
    reach_target: int = 0  # reach at full growth
    shared_to_facebook: bool = False
    copyright_flagged: bool = False  # media_url omitted
    comments_enabled: bool = True
    rand_key: tuple = ()
    row: RowSpec | None = None
    core: Core | None = None  # None on album children (no insights of their own)

    @property
    def caption(self) -> str:
        if self.text is None:
            generated = len(self.rand_key) == 3 and self.rand_key[1] == "m"  # a feed item
            seed, i = self.rand_key[0], self.rand_key[-1]
            self.text = _caption(_rng(seed, "caption", i)) if generated else ""
        return self.text

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
    def kind(self) -> str:
        """FEED_VIDEO, CAROUSEL_ALBUM, IMAGE, REELS or STORY (world_settings.MEDIA_KINDS)."""
        if self.product_type in ("REELS", "STORY"):
            return self.product_type
        return "FEED_VIDEO" if self.media_type == "VIDEO" else self.media_type

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
        sig = image_sig("url", self.id)
        return (
            f"https://scontent.cdninstagram.com/{folder}/{self.id}_{sig}_n.{ext}"
            f"?_nc_cat=1&ccb=1-7&_nc_sid=18de74&oh=00_sandbox&oe=6A000000"
        )

    @property
    def thumbnail_url(self) -> str:
        sig = image_sig("thumb", self.id)
        return f"https://scontent.cdninstagram.com/v/t51.29350-15/{self.id}_{sig}_n.jpg"

    def children(self) -> list[MediaItem]:
        return [_child(self, j) for j in range(self.children_count)]


def image_sig(kind: str, media_id: str) -> int:
    """The signature part of a media's CDN URLs (sandbox/cdn.py checks it)."""
    return _h(kind, media_id) % 10**12


# Generated feed items are spread evenly over the history (slot i of `media_count` slots, with
# jitter) and keep coming at the same pace after the anchor: a living account posts on.
MAX_GENERATED = 10**6  # the id scheme holds a million generated items per account


def _feed_times(p: Profile) -> tuple[float, float]:
    """(start, slot): generated item i is posted inside [start + i·slot, start + (i+1)·slot)
    (plus an hour for items after the anchor, so none lands between the last pre-anchor slot
    and the anchor)."""
    start = p.start.timestamp()
    end = p.anchor.timestamp() - 3600
    return start, (end - start) / max(1, p.media_count)


def _feed_ts(p: Profile, i: int) -> int:
    start, slot = _feed_times(p)
    late = 3600 if i >= p.media_count else 0
    return int(start + (i + 0.1 + 0.8 * _u(p.seed, "t", i)) * slot + late)


def _generates(p: Profile) -> bool:
    return p.media_count > 0


@dataclass(frozen=True)
class _Gen:
    media_type: str
    product_type: str
    children: int
    reach_target: int
    shared_to_facebook: bool
    copyright_flagged: bool
    comments_enabled: bool
    core: Core


@lru_cache(maxsize=1024)
def _gen_table(p: Profile) -> dict:
    """Per (bare) Profile, the generated items computed so far: one dict lookup per item instead
    of hashing the Profile for every item of a day."""
    return {}


def _gen(p: Profile, i: int) -> _Gen:
    table = _gen_table(p)
    found = table.get(i)
    if found is None:
        found = table[i] = _make_gen(p, i)
    return found


def _make_gen(p: Profile, i: int) -> _Gen:
    """Generated feed item i without its caption."""
    r = _rng(p.seed, "m", i)
    t = _traits(p)
    ts = _feed_ts(p, i)
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
    base = round(curve(p, ts))
    rate = t.reel_reach if product == "REELS" else t.feed_reach
    # A heavy tail: most posts land near the account's usual reach, a few go far beyond it.
    factor = math.exp(r.gauss(0, 0.45)) * (r.uniform(2, 6) if r.random() < 0.03 else 1.0)
    target = max(1, int(base * rate * factor) + r.randint(0, 3))
    shared = r.random() < (0.4 if product == "REELS" else 0.2)
    flagged = media_type == "VIDEO" and r.random() < 0.02
    enabled = r.random() < 0.97
    finals = _finals((p.seed, "m", i), product, media_type, target, False, shared)
    core = Core(ts, product, media_type, breakdown_label(product, media_type, ts), finals)
    return _Gen(media_type, product, children, target, shared, flagged, enabled, core)


def _feed_item(account: InstagramAccount, p: Profile, i: int) -> MediaItem:
    g = _gen(p.bare, i)
    return MediaItem(
        id=encode_id(P_FEED, p.pk * 10**6 + i),
        account=account,
        media_type=g.media_type,
        product_type=g.product_type,
        posted_at=datetime.fromtimestamp(g.core.ts, UTC),
        children_count=g.children,
        index=i,
        reach_target=g.reach_target,
        shared_to_facebook=g.shared_to_facebook,
        copyright_flagged=g.copyright_flagged,
        comments_enabled=g.comments_enabled,
        rand_key=(p.seed, "m", i),
        core=g.core,
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


@dataclass(frozen=True)
class _RowGen:
    reach_target: int
    shared_to_facebook: bool
    core: Core


@lru_cache(maxsize=20_000)
def _row_gen(p: Profile, row: RowSpec) -> _RowGen:
    r = _rng("row", row.pk, row.seed)
    t = _traits(p)
    rate = {"REELS": t.reel_reach, "STORY": t.story_reach}.get(row.product_type, t.feed_reach)
    target = row.reach_target
    noise = math.exp(r.gauss(0, 0.3))
    if target is None:
        target = max(1, int(round(curve(p, row.posted_ts)) * rate * noise))
    target = max(0, target)
    shared = r.random() < 0.3
    no_replies = p.region in NO_REPLIES_REGIONS
    key = ("row", row.pk, row.seed)
    finals = _finals(key, row.product_type, row.media_type, target, no_replies, shared)
    label = breakdown_label(row.product_type, row.media_type, row.posted_ts)
    core = Core(row.posted_ts, row.product_type, row.media_type, label, finals)
    return _RowGen(target, shared, core)


def _row_value(p: Profile, row: RowSpec, k: int, at: datetime | float) -> int:
    ts = at if isinstance(at, float | int) else at.timestamp()
    if ts <= row.posted_ts:
        return 0
    return _row_gen(p.bare, row).core.value(k, ts)


def _row_spec(row: Media) -> RowSpec:
    return RowSpec(
        pk=row.pk,
        media_id=row.media_id,
        media_type=row.media_type,
        product_type=row.product_type,
        posted_ts=int(row.posted_at.timestamp()),
        reach_target=row.reach_target,
        seed=row.seed,
        children=row.children if row.media_type == "CAROUSEL_ALBUM" else 0,
        caption=row.caption,
    )


def _row_item(row: Media | RowSpec, account: InstagramAccount | None = None) -> MediaItem:
    if isinstance(row, Media):
        account = account or row.account
        row = _row_spec(row)
    p = profile(account)
    g = _row_gen(p.bare, row)
    return MediaItem(
        id=row.media_id,
        account=account,
        media_type=row.media_type,
        product_type=row.product_type,
        posted_at=datetime.fromtimestamp(row.posted_ts, UTC),
        text=row.caption,
        children_count=row.children,
        reach_target=g.reach_target,
        shared_to_facebook=g.shared_to_facebook,
        rand_key=("row", row.pk, row.seed),
        row=row,
        core=g.core,
    )


# --- Stories --------------------------------------------------------------------------------------


def _story_slots(p: Profile) -> tuple[float, float] | None:
    """(phase, spacing): generated story k is posted at EPOCH + phase + k·spacing."""
    if p.active_stories <= 0:
        return None
    spacing = 86400 / p.active_stories
    return _u(p.seed, "phase") * spacing, spacing


@lru_cache(maxsize=50_000)
def _story_gen(p: Profile, k: int) -> tuple[str, int, bool, Core]:
    """(media_type, reach_target, shared_to_facebook, core) of generated story k."""
    phase, spacing = _story_slots(p)
    ts = int(EPOCH.timestamp() + phase + k * spacing)
    r = _rng(p.seed, "s", k)
    t = _traits(p)
    quiet = r.random() < 0.2  # some stories reach fewer than 5 accounts: (#10) on insights
    if quiet:
        target = r.randint(1, 4)
    else:
        target = int(round(curve(p, ts)) * t.story_reach * math.exp(r.gauss(0, 0.3)))
    media_type = "VIDEO" if r.random() < 0.3 else "IMAGE"
    shared = r.random() < 0.15
    no_replies = p.region in NO_REPLIES_REGIONS
    finals = _finals((p.seed, "s", k), "STORY", media_type, max(0, target), no_replies, shared)
    return media_type, max(0, target), shared, Core(ts, "STORY", media_type, "STORY", finals)


def _story_item(account: InstagramAccount, p: Profile, k: int) -> MediaItem | None:
    if _story_slots(p) is None or k < 0:
        return None
    media_type, target, shared, core = _story_gen(p.bare, k)
    return MediaItem(
        id=encode_id(P_STORY, p.pk * 10**7 + k),
        account=account,
        media_type=media_type,
        product_type="STORY",
        posted_at=datetime.fromtimestamp(core.ts, UTC),
        index=k,
        reach_target=target,
        shared_to_facebook=shared,
        rand_key=(p.seed, "s", k),
        core=core,
    )


def _story_range(p: Profile, lo_ts: float, hi_ts: float) -> range:
    """Generated story slots posted in [lo_ts, hi_ts) and not before the history's start."""
    slots = _story_slots(p)
    if slots is None:
        return range(0)
    phase, spacing = slots
    base = EPOCH.timestamp() + phase
    lo_ts = max(lo_ts, p.start.timestamp())
    first = max(0, math.ceil((lo_ts - base) / spacing))
    last = math.ceil((hi_ts - base) / spacing)  # exclusive
    return range(first, max(first, last))


def active_stories(account: InstagramAccount, at: datetime | None = None) -> list[MediaItem]:
    """Stories live at sandbox time `at` (posted within the last 24 hours), newest first."""
    at = at or sandbox_now()
    p = profile(account)
    now_ts = at.timestamp()
    items: list[MediaItem] = []
    for k in _story_range(p, now_ts - STORY_LIFETIME.total_seconds() + 1e-6, now_ts + 1e-6):
        item = _story_item(account, p, k)
        if item is not None and at - item.posted_at < STORY_LIFETIME:
            items.append(item)
    for row in p.rows:
        if row.product_type == "STORY" and now_ts - 86400 < row.posted_ts <= now_ts:
            items.append(_row_item(row, account))
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
        if account is None or not _visible(profile(account), i):
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


def _gen_key(p: Profile, i: int) -> tuple[int, str]:
    return (_feed_ts(p, i), encode_id(P_FEED, p.pk * 10**6 + i))


def _visible(p: Profile, i: int) -> bool:
    """Whether generated item i exists now: posted before the anchor, or since then."""
    if not _generates(p) or not 0 <= i < MAX_GENERATED:
        return False
    return i < p.media_count or _feed_ts(p, i) <= sandbox_now().timestamp()


def _gen_below(p: Profile, key: tuple[int, str] | None) -> int:
    """The largest generated index whose key is < `key` (-1 if none). Items after the anchor
    sit an hour later than their slot, so the walk down may take a few more steps there."""
    if not _generates(p):
        return -1
    if key is None:
        return p.media_count - 1
    start, slot = _feed_times(p)
    i = min(MAX_GENERATED - 1, max(-1, math.floor((key[0] - start) / slot) + 1))
    while i >= 0 and _gen_key(p, i) >= key:
        i -= 1
    return i


def _gen_above(p: Profile, key: tuple[int, str]) -> int:
    """The smallest generated index whose key is > `key` (MAX_GENERATED if none)."""
    if not _generates(p):
        return MAX_GENERATED
    start, slot = _feed_times(p)
    i = min(MAX_GENERATED, max(0, math.floor((key[0] - 3600 - start) / slot) - 1))
    while i < MAX_GENERATED and _gen_key(p, i) <= key:
        i += 1
    return i


def feed_rows(account: InstagramAccount, at: datetime) -> list[MediaItem]:
    """Control-API feed media (not stories) visible at `at`, newest first."""
    ts = at.timestamp()
    rows = [r for r in profile(account).rows if r.product_type != "STORY" and r.posted_ts <= ts]
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
        before_index = max(0, min(before_index, MAX_GENERATED))
        ts = _feed_ts(p, before_index) if before_index < MAX_GENERATED else None
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

    def gen(i: int) -> MediaItem | None:
        if i >= MAX_GENERATED or not _generates(p):
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
    """`media_count` of the profile: feed items posted so far (generated ones keep coming after
    the anchor) plus control-API feed media."""
    at = at or sandbox_now()
    p = profile(account)
    generated = _gen_below(p, (int(at.timestamp()) + 1, "")) + 1
    return generated + len(feed_rows(account, at))


# --- Media metrics --------------------------------------------------------------------------------

ACTION_TYPES = ("bio_link_clicked", "call", "direction", "email", "other", "text")
NAVIGATION_TYPES = ("tap_forward", "tap_back", "tap_exit", "swipe_forward")


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


@lru_cache(maxsize=50_000)
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
    (lower-case labels, summing to the total). Every count is floor(final × growth): values only
    grow with time, keep their ratios (likes < reach ≤ views) and equal the sum of the media's
    daily increments that the account's metrics are built from. Stories freeze at 24 h."""
    core = item.core
    if item.is_child or core is None:
        return {}
    ts = at.timestamp()
    if ts <= core.ts:
        return {}
    v = [core.value(k, ts) for k in range(len(core.finals))]
    r = _rates(item.rand_key, item.product_type, item.media_type)
    fb = item.shared_to_facebook
    values: dict = {
        "reach": v[K_REACH],
        "views": v[K_VIEWS],
        "shares": v[K_SHARES],
        "reposts": v[K_REPOSTS],
        "total_views": v[K_VIEWS] + (v[K_FACEBOOK] if fb else 0),
        "breakdowns": {},
    }
    if fb:
        values["facebook_views"] = v[K_FACEBOOK]
    if item.is_story:
        values["replies"] = v[K_REPLIES]
        # link_clicks (22 Jun 2026): taps on a link sticker; one story in three carries one.
        sticker = _h("link_sticker", item.id) % 3 == 0
        values["link_clicks"] = (
            int(v[K_REACH] * (0.02 + 0.06 * _u("link", item.id))) if sticker else 0
        )
        values["total_interactions"] = v[K_REPLIES] + v[K_SHARES]
        values["navigation"] = v[K_NAVIGATION]
        values["breakdowns"]["navigation"] = allocate(
            v[K_NAVIGATION], dict(zip(NAVIGATION_TYPES, r.nav_weights, strict=True))
        )
    else:
        likes, comments = v[K_LIKES], v[K_COMMENTS]
        values.update(
            likes=likes,
            comments=comments,
            saved=v[K_SAVED],
            total_interactions=likes + comments + v[K_SAVED] + v[K_SHARES],
            total_likes=likes + (int(likes * r.facebook) if fb else 0),
            total_comments=comments + (int(comments * r.facebook) if fb else 0),
        )
    if item.is_reel:
        views = v[K_VIEWS]
        values["ig_reels_avg_watch_time"] = r.watch_ms if views else 0
        values["ig_reels_video_view_total_time"] = int(views * r.watch_ms * r.replay)
        values["reels_skip_rate"] = r.skip_rate if views else 0.0
        if fb:
            values["crossposted_views"] = v[K_FACEBOOK]
    else:
        values["follows"] = v[K_FOLLOWS]
        values["profile_visits"] = v[K_VISITS]
        values["profile_activity"] = v[K_ACTIVITY]
        values["breakdowns"]["profile_activity"] = allocate(
            v[K_ACTIVITY], dict(zip(ACTION_TYPES, r.action_weights, strict=True))
        )
        if item.posted_at <= IMPRESSIONS_CUTOFF:
            values["impressions"] = v[K_IMPRESSIONS]
    return values


# `impressions` survives (on ≤ v21 only) for media created on or before this moment.
IMPRESSIONS_CUTOFF = datetime(2024, 7, 2, 7, 0, tzinfo=UTC)


# --- Account metrics: built from the media alive each day -----------------------------------------
#
# A day's (or any span's) account metrics are the increments of every media item alive in it
# (generated feed items, generated stories, control-API rows), plus the account's own non-media
# activity: paid reach and views on ad days (label AD), profile link taps, unfollows. So:
# - likes, comments, saves, shares, replies, reposts of any window are exactly what the media
#   gained in it, split exactly by media_product_type label, and total_interactions is the sum
#   of its parts;
# - reach is de-duplicated: a day's reach is the best media's reach plus part of the others'
#   (audiences overlap), a window's reach is at least its best day and at least what any one
#   media reached in it, and at most the sum of its days;
# - follows minus unfollows is exactly the day's change in followers.
# Full past days are cached per (account, day); generated activity is cached apart from rows,
# so adding media through the control API recomputes only the rows' share.

MPT_LABELS = ("POST", "CAROUSEL_CONTAINER", "REEL", "STORY", "IGTV", "AD")
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
# Account count metrics and the media metric they add up.
COUNTED = {
    "views": K_VIEWS,
    "likes": K_LIKES,
    "comments": K_COMMENTS,
    "saves": K_SAVED,
    "shares": K_SHARES,
    "replies": K_REPLIES,
    "reposts": K_REPOSTS,
}
INTERACTION_PARTS = ("likes", "comments", "saves", "shares", "replies")
# Reach is not additive: one person reached by a post and a reel counts once in the total.
DEDUPLICATED = frozenset({"reach", "accounts_engaged"})
REPEAT_AUDIENCE = 0.35  # share of a day's reach that is new when days are combined
AD_OVERLAP = 0.8  # share of paid reach not also reached organically that day
NK = len(KEYS)
DAY = 86400


@dataclass
class _Agg:
    """Media increments over a span: per label, the sum of each KEYS metric and the largest
    single-media reach increment."""

    sums: dict = field(default_factory=dict)
    top: dict = field(default_factory=dict)

    def add(self, core: Core, s: float, e: float) -> None:
        gs = growth((s - core.ts) / 3600, core.product_type)
        ge = growth((e - core.ts) / 3600, core.product_type)
        if ge <= gs:
            return
        f = core.finals
        row = self.sums.get(core.label)
        if row is None:
            row = self.sums[core.label] = [0] * NK
        for k in range(NK):
            row[k] += int(f[k] * ge) - int(f[k] * gs)
        reach = int(f[0] * ge) - int(f[0] * gs)
        if reach > self.top.get(core.label, -1):
            self.top[core.label] = reach

    def total(self, k: int) -> int:
        return sum(row[k] for row in self.sums.values())


def _alive_generated(p: Profile, s: float, e: float) -> Iterator[Core]:
    """Cores of generated feed items and stories that gain anything in [s, e)."""
    if _generates(p):
        start, slot = _feed_times(p)
        lo = max(0, math.floor((s - MAX_LIFE - 3600 - start) / slot) - 1)
        hi = min(MAX_GENERATED, math.floor((e - start) / slot) + 2)
        table = _gen_table(p)
        for i in range(lo, hi):
            found = table.get(i)
            core = (found or _gen(p, i)).core
            if core.ts >= e:
                break
            if core.ts + LIFE_HOURS[core.product_type] * 3600 > s:
                yield core
    for k in _story_range(p, s - DAY, e):
        yield _story_gen(p, k)[3]


def _span_agg(p: Profile, s: float, e: float) -> _Agg:
    agg = _Agg()
    for core in _alive_generated(p, s, e):
        agg.add(core, s, e)
    return agg


@lru_cache(maxsize=100_000)
def _day_agg(p: Profile, ordinal: int) -> _Agg:
    """Generated media increments of a complete past day (p is a bare Profile)."""
    day = date.fromordinal(ordinal)
    return _span_agg(p, day_start(day).timestamp(), day_end(day).timestamp())


def _rows_agg(p: Profile, s: float, e: float) -> _Agg:
    agg = _Agg()
    for row in p.rows:
        core = _row_gen(p.bare, row).core
        if core.ts < e and core.ts + LIFE_HOURS.get(core.product_type, 0) * 3600 > s:
            agg.add(core, s, e)
    return agg


@dataclass(frozen=True)
class _DayExtra:
    """The account's own (non-media) activity of a day and how its audience splits."""

    ad_reach: float
    ad_views: float
    unfollow_base: int
    engaged_ratio: float
    link_base: float
    shares: dict


@lru_cache(maxsize=100_000)
def _day_extra(p: Profile, ordinal: int) -> _DayExtra:
    day = date.fromordinal(ordinal)
    t = _traits(p)
    r = _rng(p.seed, "day", ordinal)
    followers = curve(p, day_end(day).timestamp())
    organic = (followers * t.daily_reach + 3) * math.exp(r.gauss(0, 0.25))
    on_ad = t.ad_share > 0 and r.random() < t.ad_days
    ad_reach = organic * t.ad_share * r.uniform(0.5, 1.5) if on_ad else 0.0
    follower = min(0.95, t.follower_share * math.exp(r.gauss(0, 0.08)))
    unknown = r.uniform(0.005, 0.03)
    shares = {
        "follow_type": {
            "FOLLOWER": follower,
            "NON_FOLLOWER": 1 - follower - unknown,
            "UNKNOWN": unknown,
        },
        "follower_type": {"FOLLOWER": follower * 0.9, "NON_FOLLOWER": 1 - follower * 0.9},
        "contact_button_type": {
            k: w * r.uniform(0.8, 1.25) for k, w in zip(CONTACT_BUTTONS, t.contact, strict=True)
        },
    }
    return _DayExtra(
        ad_reach=ad_reach,
        ad_views=ad_reach * r.uniform(1.2, 1.8),
        unfollow_base=int(followers * 0.0006 * (0.5 + r.random()) + r.random()),
        engaged_ratio=r.uniform(0.55, 0.85),
        link_base=r.uniform(0, 2.5),
        shares=shares,
    )


@dataclass(frozen=True)
class DayMetrics:
    """An account's metrics for one Pacific day (or the part [s, e) of it), unsettled."""

    day: date
    followers: int  # at the end of the span
    follows: int  # new followers in the span (`follower_count`)
    unfollows: int
    values: dict  # metric -> value
    by_label: dict  # metric -> {media_product_type label: value}
    shares: dict  # dimension -> {label: weight} (follow_type, follower_type, contact_button)
    s: float = 0.0
    e: float = 0.0


def _part(value: float, f_s: float, f_e: float) -> int:
    """The share of a day's non-media `value` between day fractions f_s and f_e (additive)."""
    return int(value * f_e) - int(value * f_s)


@lru_cache(maxsize=100_000)
def _full_day(p: Profile, ordinal: int) -> DayMetrics:
    day = date.fromordinal(ordinal)
    return _compute(p, day, day_start(day).timestamp(), day_end(day).timestamp())


def _metrics(p: Profile, day: date, s: float, e: float) -> DayMetrics:
    """A complete past day comes from the cache; a part of a day is computed."""
    if s <= day_start(day).timestamp() and e >= day_end(day).timestamp():
        return _full_day(p, day.toordinal())
    return _compute(p, day, s, e)


def _compute(p: Profile, day: date, s: float, e: float) -> DayMetrics:
    ordinal = day.toordinal()
    lo, hi = day_start(day).timestamp(), day_end(day).timestamp()
    full = s <= lo and e >= hi
    bare = p.bare
    gen = _day_agg(bare, ordinal) if full else _span_agg(bare, s, e)
    rows = _rows_agg(p, s, e) if p.rows else _Agg()
    extra = _day_extra(bare, ordinal)
    t = _traits(p)
    f_s, f_e = (s - lo) / (hi - lo), (e - lo) / (hi - lo)
    labels = set(gen.sums) | set(rows.sums)

    def label_sum(label: str, k: int) -> int:
        return gen.sums.get(label, [0] * NK)[k] + rows.sums.get(label, [0] * NK)[k]

    by_label: dict = {}
    for metric, k in COUNTED.items():
        by_label[metric] = {label: label_sum(label, k) for label in labels}
    ad_views = _part(extra.ad_views, f_s, f_e)
    ad_reach = _part(extra.ad_reach, f_s, f_e)
    if ad_views:
        by_label["views"]["AD"] = ad_views
    by_label["total_interactions"] = {
        label: sum(by_label[m].get(label, 0) for m in INTERACTION_PARTS) for label in labels
    }
    # Same-day reach: the best media's plus a share of the others' (their audiences overlap).
    alpha = t.overlap
    reach_by = {}
    top_all, sum_all = 0, 0
    for label in labels:
        top = max(gen.top.get(label, 0), rows.top.get(label, 0))
        total = label_sum(label, K_REACH)
        reach_by[label] = int(top + alpha * (total - top))
        top_all, sum_all = max(top_all, top), sum_all + total
    reach = int(top_all + alpha * (sum_all - top_all) + AD_OVERLAP * ad_reach)
    if ad_reach:
        reach_by["AD"] = min(ad_reach, reach)
    by_label["reach"] = reach_by
    values = {m: sum(v.values()) for m, v in by_label.items() if m != "reach"}
    values["reach"] = reach
    interactions = values["total_interactions"]
    values["accounts_engaged"] = min(reach, int(interactions * extra.engaged_ratio))
    visits = gen.total(K_VISITS) + rows.total(K_VISITS)
    values["profile_links_taps"] = int(visits * t.tap_rate) + _part(extra.link_base, f_s, f_e)
    # Followers: the account's trajectory fixes follows − unfollows; media bring follows of
    # their own, so a day with many media follows has that many unfollows more.
    net = round(curve(bare, e)) - round(curve(bare, s))
    unfollow_base = _part(extra.unfollow_base, f_s, f_e)
    follows = max(gen.total(K_FOLLOWS), unfollow_base + net)
    unfollows = follows - net
    row_follows = rows.total(K_FOLLOWS)
    followers = round(curve(bare, e)) + sum(_row_value(p, r, K_FOLLOWS, e) for r in p.rows)
    return DayMetrics(
        day=day,
        followers=followers,
        follows=follows + row_follows,
        unfollows=unfollows,
        values=values,
        by_label=by_label,
        shares=extra.shares,
        s=s,
        e=e,
    )


def has_day(account_or_profile, day: date, today: date) -> bool:
    """Whether Meta would still have user metrics for `day` (history and ~2-year retention)."""
    p = (
        account_or_profile
        if isinstance(account_or_profile, Profile)
        else profile(account_or_profile)
    )
    return max(p.first_day, today - timedelta(days=RETENTION_DAYS)) <= day <= today


def day_metrics(
    account: InstagramAccount, day: date, *, today: date | None = None, at: datetime | None = None
) -> DayMetrics | None:
    """An account's metrics for a Pacific day (today: so far), or None where Meta has none."""
    if at is None:
        at = day_end(today) if today is not None else sandbox_now()
    p = profile(account)
    today = today or pacific_day(at)
    if not has_day(p, day, today):
        return None
    end = min(day_end(day).timestamp(), at.timestamp())
    return _metrics(p, day, day_start(day).timestamp(), end)


def settle_factor(day: date, at: datetime, hours: float) -> float:
    """How much of a day's final value Meta reports at `at` (graph-api.md §4.1: delayed up to
    48 h): 85 % while the day is running, rising to 100 % `hours` after the day ended."""
    if hours <= 0:
        return 1.0
    lag = (at - day_end(day)).total_seconds() / 3600
    if lag >= hours:
        return 1.0
    return 0.85 + 0.15 * max(0.0, lag) / hours


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


def _spans(p: Profile, since: datetime, until: datetime, at: datetime) -> list[DayMetrics]:
    """Metrics of each Pacific day overlapping [since, min(until, at)) that Meta has data for;
    the first and last may be partial (a window starting mid-day, today so far)."""
    today = pacific_day(at)
    end = min(until, at).timestamp()
    out = []
    day = pacific_day(since)
    while day_start(day).timestamp() < end:
        s = max(since.timestamp(), day_start(day).timestamp())
        e = min(end, day_end(day).timestamp())
        if e > s and has_day(p, day, today):
            out.append(_metrics(p, day, s, e))
        day += timedelta(days=1)
    return out


def _window_top(p: Profile, s: float, e: float) -> dict:
    """Per label, the most any single media item reached within [s, e)."""
    best: dict = {}
    cores = list(_alive_generated(p.bare, s, e))
    cores += [_row_gen(p.bare, row).core for row in p.rows if row.posted_ts < e]
    for core in cores:
        reach = core.value(K_REACH, e) - core.value(K_REACH, s)
        if reach > best.get(core.label, 0):
            best[core.label] = reach
    return best


def _dedup(parts: list[float]) -> float:
    if not parts:
        return 0.0
    top = max(parts)
    return top + (sum(parts) - top) * REPEAT_AUDIENCE


def _window_reach(p: Profile, spans: list[DayMetrics]) -> tuple[int, dict]:
    """(reach, reach by label) of a window, de-duplicated and before settling. (A one-day
    window needs no look at single media: a day's reach already covers its best media.)"""
    if len(spans) == 1:
        return spans[0].values["reach"], dict(spans[0].by_label["reach"])
    best = _window_top(p, spans[0].s, spans[-1].e)
    total = max(_dedup([d.values["reach"] for d in spans]), max(best.values(), default=0))
    labels = {label for d in spans for label in d.by_label["reach"]}
    by_label = {}
    for label in labels:
        days = [d.by_label["reach"].get(label, 0) for d in spans]
        by_label[label] = int(max(_dedup(days), best.get(label, 0)))
    return int(total), by_label


def _weights(spans: list[DayMetrics], dim: str, metric: str) -> dict:
    """A dimension's split over a window: each day's weights, weighted by its value."""
    out: dict = {}
    for d in spans:
        w = d.shares[dim]
        norm = sum(w.values()) or 1.0
        value = d.values.get(metric, 0) or 1
        for k, v in w.items():
            out[k] = out.get(k, 0.0) + value * v / norm
    return out


def account_total(
    account: InstagramAccount,
    metric: str,
    since: datetime,
    until: datetime,
    dims: tuple[str, ...] = (),
    *,
    at: datetime | None = None,
    settle_hours: float | None = None,
) -> tuple[int, dict] | None:
    """One total for a window (total_value), with an optional cross-product breakdown
    {labels tuple: value}. Today counts only its elapsed part; the last `settle_hours` are
    reported lower (Meta revises them upward). None = no data."""
    at = at or sandbox_now()
    if settle_hours is None:
        settle_hours = world_settings.get("settle_hours")
    p = profile(account)
    spans = _spans(p, since, until, at)
    if not spans:
        return None
    factors = [settle_factor(d.day, at, settle_hours) for d in spans]
    if metric == "follows_and_unfollows":
        follows = sum(d.follows for d in spans)
        unfollows = sum(d.unfollows for d in spans)
        parts = {("FOLLOWER",): follows, ("NON_FOLLOWER",): unfollows} if dims else {}
        return follows + unfollows, parts
    if metric in DEDUPLICATED:
        last = factors[-1]
        if metric == "reach":
            total, by_label = _window_reach(p, spans)
        else:
            total = min(
                _window_reach(p, spans)[0],
                int(_dedup([d.values["accounts_engaged"] for d in spans])),
            )
            by_label = {}
        total = int(total * last)
        by_label = {k: int(v * last) for k, v in by_label.items()}
    elif metric in COUNTED or metric == "total_interactions":
        parts_of = INTERACTION_PARTS if metric == "total_interactions" else (metric,)
        by_label = {}
        for m in parts_of:
            for d, f in zip(spans, factors, strict=True):
                for label, v in d.by_label[m].items():
                    by_label[label] = by_label.get(label, 0) + int(v * f)
        total = sum(by_label.values())
    else:
        total = sum(int(d.values[metric] * f) for d, f in zip(spans, factors, strict=True))
        by_label = {}
    if not dims:
        return total, {}
    return total, _breakdown(spans, metric, total, by_label, dims)


def _breakdown(spans: list[DayMetrics], metric: str, total: int, by_label: dict, dims) -> dict:
    """Cross product of `dims`. media_product_type parts are the exact label values; partition
    dimensions (follow_type, follower_type, contact_button_type) split each part so the split
    sums exactly to it."""
    others = [d for d in dims if d != "media_product_type"]
    if "media_product_type" in dims:
        bases = {(label,): v for label, v in by_label.items() if v > 0}
    else:
        bases = {(): total}
    parts: dict = {}
    for head, value in bases.items():
        split = {(): value}
        for dim in others:
            weights = _weights(spans, dim, metric)
            split = {
                labels + (k,): n
                for labels, v in split.items()
                for k, n in allocate(v, weights).items()
            }
        for labels, n in split.items():
            parts[head + labels] = n
    if "media_product_type" in dims and dims[0] != "media_product_type":
        # Keys follow the requested order of dimensions.
        i = dims.index("media_product_type")
        parts = {k[1 : i + 1] + k[:1] + k[i + 1 :]: v for k, v in parts.items()}
    return parts


PERIOD_DAYS = {"day": 1, "week": 7, "days_28": 28}


def account_series(
    account: InstagramAccount,
    metric: str,
    period: str,
    since: datetime,
    until: datetime,
    *,
    at: datetime | None = None,
    settle_hours: float | None = None,
) -> list[tuple[datetime, int]]:
    """Daily values (end_time, value) for complete Pacific days whose end lies in (since, until].
    `week`/`days_28` give the value of the trailing 7 / 28 days (reach de-duplicated)."""
    at = at or sandbox_now()
    if settle_hours is None:
        settle_hours = world_settings.get("settle_hours")
    p = profile(account)
    today = pacific_day(at)
    span = PERIOD_DAYS[period]
    out = []
    day = pacific_day(since - timedelta(seconds=1))
    while day_end(day) <= min(until, at):
        if day_end(day) > since and has_day(p, day, today):
            if metric == "follower_count":
                value = _metrics(p, day, day_start(day).timestamp(), day_end(day).timestamp())
                out.append((day_end(day), value.follows))
            else:
                first = day_start(day - timedelta(days=span - 1))
                found = account_total(
                    account, metric, first, day_end(day), at=at, settle_hours=settle_hours
                )
                if found is not None:
                    out.append((day_end(day), found[0]))
        day += timedelta(days=1)
    return out


def online_followers(
    account: InstagramAccount, since: datetime, until: datetime, *, at: datetime | None = None
) -> list[tuple[datetime, dict]] | None:
    """`online_followers` (§4.2): per complete day in (since, until], how many followers were
    online in each Pacific hour "0"…"23"; {} for days beyond the last 30. None when the account
    has no such data (many don't on v22+, §12.17) or fewer than 100 followers."""
    at = at or sandbox_now()
    p = profile(account)
    if not p.online_followers or followers_now(p, at) < MIN_AUDIENCE:
        return None
    today = pacific_day(at)
    out = []
    day = pacific_day(since - timedelta(seconds=1))
    while day_end(day) <= min(until, at):
        if day_end(day) > since and has_day(p, day, today):
            if day < today - timedelta(days=30):
                out.append((day_end(day), {}))
            else:
                followers = followers_on(p, day)
                r = _rng(p.seed, "online", day.toordinal())
                hours = {}
                for hour in range(24):
                    # Evenings are busiest (Pacific hours; the timezone is undocumented [UNC]).
                    wave = 0.55 + 0.45 * math.cos((hour - 20) / 24 * 2 * math.pi)
                    share = 0.05 + 0.3 * wave * r.uniform(0.9, 1.1)
                    hours[str(hour)] = min(followers, int(followers * share))
                out.append((day_end(day), hours))
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
        return int(followers_now(p, at) * t.known_demographics)
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
    at = at or sandbox_now()
    p = profile(account)
    if audience == "follower" and followers_now(p, at) < MIN_AUDIENCE:
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


def last_day_views(account: InstagramAccount) -> int:
    """The account's views of the last complete Pacific day: the sandbox's "impressions of the
    last 24 hours", the base of its Business Use Case budget (core.buc_budget)."""
    at = sandbox_now()
    metrics = day_metrics(account, pacific_day(at) - timedelta(days=1), at=at)
    return int(metrics.values.get("views", 0)) if metrics else 0


register_impressions(last_day_views)
