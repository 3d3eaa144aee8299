"""World settings: behaviours graph-api.md marks uncertain [UNC], or that vary between real
accounts, as switches of the whole sandbox world. Each default is the more cautious choice for a
client (the behaviour a client must survive), so code that works against the defaults also works
against the kinder variants.

Read and changed through the control API (GET/POST /_sandbox/control/settings); `reset` restores
the defaults. Stored in one row, read from the database on use (no cache), so every process
serving the sandbox sees a change at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from .models import WorldSettings

DEFAULTS: dict[str, Any] = {
    # §4.1 "Data may be delayed up to 48 h": account-level values of the last `settle_hours`
    # (counted from the end of each day) are reported lower and revised upward until then.
    # 0 turns revisions off.
    "settle_hours": 48,
    # §7.3: batch on graph.instagram.com is not documented [UNC]: refused unless switched on.
    "instagram_batch": False,
    # §7.2: usage headers appear "once enough calls have been made": from this percentage of a
    # budget on (X-App-Usage: the app's hourly budget; X-Business-Use-Case-Usage: the account's
    # 24-hour budget). 0 sends them from the first call.
    "usage_headers_min_percent": 1,
    # docs/graph-api.md §3 / airbyte#62902: `views` refused for some media ("The Media Insights
    # API does not support the views metric for this media product type"), against a reference
    # that documents views for FEED, REELS and STORY. Kinds: FEED_VIDEO (non-reel feed videos),
    # CAROUSEL_ALBUM, IMAGE, REELS, STORY. Default [] (the reference); ["FEED_VIDEO"] is the
    # stricter world of the one production report.
    "views_refused_for": [],
    # §4.2 [UNC]: views/accounts_engaged/total_interactions without metric_type=total_value:
    # "error" (the (#100) message) or "empty" ({"data": []}).
    "total_value_required": "error",
    # Network and server time: every HTTP request to an API host (Graph, api.instagram.com)
    # answers this many milliseconds late. Once per HTTP request: Meta runs a batch's operations
    # side by side, so a batch waits once, not once per operation. (The `latency` fault, by
    # contrast, delays each call it matches, batch operations included.) 0: no delay.
    "latency_ms": 0,
    # docs/graph-api.md §1: the day the sandbox's two apps were created. From 2026-11-04 on, apps
    # created that day or later cannot use multi-ID requests, date_format, method override,
    # field aliases, JSONP or asynchronous batch (v27.0 blog). Default: new apps, as an agency
    # deploying Prism today has. "2024-01-01" plays an old app.
    "app_created_on": "2026-11-16",
    # docs/graph-api.md §1 [UNC]: field expansion of `insights` on the /media edge of
    # graph.instagram.com (Graph-wide feature, IG Media's `insights` edge on both hosts, used by
    # production clients there). Off: refused there as a nonexisting field.
    "instagram_insights_expansion": True,
    # docs/graph-api.md §4 [UNC]: reach with period week / days_28. The current reference lists
    # only day; Airbyte's maintained connector (source-instagram 4.1) asks week and days_28, so
    # Meta accepts them: on by default. Off: refused as every other undocumented period.
    "reach_legacy_periods": True,
    # docs/graph-api.md §4 [UNC]: follower_demographics without `timeframe`. The reference says
    # required; Airbyte's maintained manifest sends none. Default off (served as this_month);
    # on: "(#100) The parameter timeframe is required".
    "demographics_timeframe_required": False,
    # docs/graph-api.md §4 [UNC]: how many days back account insights answer (the Insights
    # guide: "up to 90 days"; one probe read 336-365 days back). Older windows answer no data.
    "account_history_days": 730,
    # docs/graph-api.md §4 [UNC]: HTTP status of "An unknown error has occurred." (code 1), the
    # answer to a breakdown a metric does not support. 500 like Meta's other code-1 errors (the
    # harder case: it looks transient); 400 the other reading.
    "unknown_breakdown_status": 500,
}
CHOICES: dict[str, tuple] = {
    "total_value_required": ("error", "empty"),
    "unknown_breakdown_status": (400, 500),
}
MEDIA_KINDS = ("FEED_VIDEO", "CAROUSEL_ALBUM", "IMAGE", "REELS", "STORY")


_memo: ContextVar[dict | None] = ContextVar("sandbox_world_settings", default=None)


@contextmanager
def shared() -> Iterator[None]:
    """Within one request (and its batch operations), read the settings once."""
    token = _memo.set(_read())
    try:
        yield
    finally:
        _memo.reset(token)


def _read() -> dict[str, Any]:
    stored = WorldSettings.objects.filter(pk=1).values_list("values", flat=True).first() or {}
    return {**DEFAULTS, **{k: v for k, v in stored.items() if k in DEFAULTS}}


def current() -> dict[str, Any]:
    memo = _memo.get()
    return dict(memo) if memo is not None else _read()


def get(name: str) -> Any:
    return current()[name]


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update; returns it cleaned or raises ValueError with a clear message."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in DEFAULTS:
            raise ValueError(f"unknown setting {name}; known: {', '.join(DEFAULTS)}")
        default = DEFAULTS[name]
        if name in CHOICES:
            if value not in CHOICES[name] or isinstance(value, bool):
                raise ValueError(f"{name} must be one of: {', '.join(map(str, CHOICES[name]))}")
        elif name == "app_created_on":
            try:
                date.fromisoformat(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
                raise ValueError(f"{name} must be an integer between 0 and 10000")
        elif isinstance(default, list) and (
            not isinstance(value, list) or any(v not in MEDIA_KINDS for v in value)
        ):
            raise ValueError(f"{name} must be a list of: {', '.join(MEDIA_KINDS)}")
        clean[name] = value
    return clean


def update(changes: dict[str, Any]) -> dict[str, Any]:
    clean = validate(changes)
    row, _ = WorldSettings.objects.get_or_create(pk=1)
    row.values = {**{k: v for k, v in row.values.items() if k in DEFAULTS}, **clean}
    row.save(update_fields=["values"])
    return current()


def reset() -> None:
    WorldSettings.objects.filter(pk=1).delete()
