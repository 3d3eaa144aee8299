"""Each media's reach at fixed ages, read from its samples: the one query of the insight layer.

A post's lifetime figures grow for days (a reel's for weeks), so a post three days old and one
three months old cannot be compared on their latest figures. The refresh samples every media at
fixed ages (1 h, 6 h, 1, 3, 7, 14, 30 days... `insights.refresh.media.SAMPLE_AGES`), a little
early (its lookahead, at most an hour) or late (a refresh that waited). A sample counts as the
reading at a checkpoint when it falls in that checkpoint's window:

- 1 day: from 23 h to 27 h; 7 days: from 7 days less an hour to 8 days;
- 30 days or more: the first reading from 30 days less an hour on. By then a post has nearly
  stopped growing, and it is the only reading a post first read when it was already older has
  (an account connected today brings its history with one reading per post): the glossary says
  so.

Stories are compared on their final capture (Meta deletes a story's figures after 24 hours):
only stories `captured` in time have one; `late` ones may fall short and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import BigIntegerField, CharField, DateTimeField, F, FloatField, Q, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat

from ...models import Media, MediaSample, StoryState
from ..model import PRODUCT_LABELS

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Checkpoint:
    key: str
    label: str  # "at 7 days"
    age: timedelta
    until: timedelta | None  # the window's end (None: open)


CHECKPOINTS = (
    Checkpoint("1d", "at 1 day", timedelta(days=1), timedelta(hours=27)),
    Checkpoint("7d", "at 7 days", timedelta(days=7), timedelta(days=8)),
    Checkpoint("30d", "at 30+ days", timedelta(days=30), None),
)
FINAL = Checkpoint("final", "at expiry", timedelta(hours=24), None)  # stories
BY_KEY = {c.key: c for c in (*CHECKPOINTS, FINAL)}
# Samples read for the open checkpoint: the first three days from 30 days on. A post whose
# 30-day sample was missed and that has none in those days takes its latest reading instead.
OPEN_SAMPLES = timedelta(days=33)
LOOKBACK = timedelta(days=90)  # "recent": the items published in the 90 days before


def format_of(product_type: str, media_type: str, is_story: bool) -> str:
    """The format a report names (Posts, Carousels, Reels, Stories), as `model.post_row` does."""
    if is_story:
        return "Stories"
    kind = "CAROUSEL_ALBUM" if media_type == "CAROUSEL_ALBUM" else (product_type or media_type)
    return PRODUCT_LABELS.get(kind, kind.title() or "Posts")


@dataclass
class Item:
    pk: int
    account_id: int
    format: str
    published: datetime  # UTC
    reach: dict[str, float] = field(default_factory=dict)  # checkpoint key -> reach

    def _offer(self, key: str, value: float | None, distance: float) -> None:
        """Keep the reading closest to the checkpoint (distance in seconds)."""
        if value is None:
            return
        best = self._distance.get(key)
        if best is None or distance < best:
            self.reach[key] = value
            self._distance[key] = distance

    def __post_init__(self):
        self._distance: dict[str, float] = {}


def _window(age: timedelta) -> str | None:
    for c in CHECKPOINTS:
        if c.age - HOUR <= age and (c.until is None or age <= c.until):
            return c.key
    return None


def _reach(path: str):
    return Cast(KT(path), FloatField())


def read_items(account_ids: list[int], since: datetime, until: datetime) -> dict[int, list[Item]]:
    """Every media of the accounts published in [since, until) that has a reading, with its
    reach at each checkpoint it has; per account, oldest first. One UNION query: each media
    with its latest reading, and the samples falling in the checkpoints' windows (their media's
    id, age and reach only: the sample rows are most of the rows)."""
    if not account_ids:
        return {}
    text, moment, seconds = CharField(), DateTimeField(), BigIntegerField()
    published = Q(timestamp__gte=since, timestamp__lt=until, account_id__in=account_ids)
    columns = ("src", "pk", "account_id", "kind", "story_state", "timestamp", "at", "age", "value")
    latest = (
        Media.objects.filter(published, last_sampled_at__isnull=False)
        .order_by()
        .annotate(
            src=Value("m", output_field=text),
            kind=Concat("product_type", Value("/"), "media_type", output_field=text),
            at=F("last_sampled_at"),
            age=Value(None, output_field=seconds),
            value=_reach("latest_metrics__reach"),
        )
        .values_list(*columns)
    )
    ages = Q()
    for c in CHECKPOINTS:
        end = c.until or OPEN_SAMPLES
        ages |= Q(
            age_seconds__gte=int((c.age - HOUR).total_seconds()),
            age_seconds__lte=int(end.total_seconds()),
        )
    samples = (
        MediaSample.objects.filter(
            ages,
            media__account_id__in=account_ids,
            media__timestamp__gte=since,
            media__timestamp__lt=until,
            media__is_story=False,
        )
        .order_by()
        .annotate(
            src=Value("s", output_field=text),
            pk_=F("media_id"),
            account_id=Value(None, output_field=seconds),
            kind=Value(None, output_field=text),
            story_state=Value(None, output_field=text),
            timestamp=Value(None, output_field=moment),
            at=Value(None, output_field=moment),
            age=F("age_seconds"),
            value=_reach("metrics__reach"),
        )
        .values_list("src", "pk_", *columns[2:])
    )
    items: dict[int, Item] = {}
    sampled: list[tuple[int, int, float | None]] = []
    for src, pk, account_id, kind, state, ts, at, age, value in latest.union(samples, all=True):
        if src == "s":
            sampled.append((pk, age, value))
            continue
        product_type, _, media_type = kind.partition("/")
        story = product_type == "STORY"
        ts = _aware(ts)
        item = items[pk] = Item(pk, account_id, format_of(product_type, media_type, story), ts)
        if story:
            if state == StoryState.CAPTURED:
                item._offer(FINAL.key, value, 0)
            continue
        age = (_aware(at) - ts).total_seconds()
        # The open checkpoint's latest reading stands in only when no sample is in its window.
        _place(item, age, value, penalty=10**9)
    for pk, age, value in sampled:
        if pk in items:
            _place(items[pk], age, value)
    out: dict[int, list[Item]] = defaultdict(list)
    for item in sorted(items.values(), key=lambda i: (i.published, i.pk)):
        if item.reach:
            out[item.account_id].append(item)
    return out


def _place(item: Item, age_seconds: float, value: float | None, penalty: int = 0) -> None:
    key = _window(timedelta(seconds=age_seconds))
    if key is None:
        return
    distance = abs(age_seconds - BY_KEY[key].age.total_seconds())
    item._offer(key, value, distance + (penalty if key == "30d" else 0))


def _aware(value) -> datetime:
    # SQLite hands UNION columns back as text.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
