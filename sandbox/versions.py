"""Graph API versions as Meta serves them (docs/graph-api.md §1, §2).

- The versions table: release and expiry dates from Meta's changelog (v26.0's and v27.0's expiry
  are not published yet: at least two years after release).
- An expired version is served by the oldest available one [DOC, versioning guide], and the
  `facebook-api-version` header names the version that served it [DOC, "Debugging Requests"].
  A version of the table not released yet (v27.0 before 4 Nov 2026) was also served as the
  oldest available [OBS, 2026-10-01]. A version Meta never had (v99.0) is refused with
  "Unknown path components" (code 2500) [OBS].
- An unversioned call is served by the app's version: the latest at the app's creation, or the
  oldest available once that one is gone [DOC, IG Media Insights reference].
- Legacy features (`check_legacy`): v26.0 retired a root `GET /?ids=` and `date_format` for every
  app (v26.0 calls from 2026-07-29, every version from 2026-10-27) [DOC blog + OBS list]; v27.0
  closed multi-ID requests, date/time formatting, method override, field aliases, JSONP and
  asynchronous batch to apps created on or after 2026-11-04, on every version [DOC blog]. The
  error is not on record [UNC]: HTTP 400, code 12 (Graph's "deprecated" code).
"""

from __future__ import annotations

from datetime import date, datetime

from . import world_settings

# version -> (released, available until or None when not published yet)
VERSIONS: dict[str, tuple[date, date | None]] = {
    "v18.0": (date(2023, 9, 12), date(2026, 1, 26)),
    "v19.0": (date(2024, 1, 23), date(2026, 5, 21)),
    "v20.0": (date(2024, 5, 21), date(2026, 9, 24)),
    "v21.0": (date(2024, 10, 2), date(2027, 1, 21)),
    "v22.0": (date(2025, 1, 21), date(2027, 5, 20)),
    "v23.0": (date(2025, 5, 29), date(2027, 10, 8)),
    "v24.0": (date(2025, 10, 8), date(2028, 2, 18)),
    "v25.0": (date(2026, 2, 18), date(2028, 7, 29)),
    "v26.0": (date(2026, 7, 29), None),
    "v27.0": (date(2026, 11, 4), None),
}
OLDEST_IN_TABLE = 18  # older versions (v2.x … v17.0) all expired long ago
LEGACY_CLOSED_TO_NEW_APPS = date(2026, 11, 4)  # v27.0 blog
V26_LEGACY_ON_V26 = date(2026, 7, 29)  # v26.0 blog: root ?ids=, date_format… on v26.0 calls
V26_LEGACY_EVERYWHERE = date(2026, 10, 27)  # … and on every version


def _major(version: str) -> float:
    return float(version.lstrip("v"))


def available(version: str, today: date) -> bool:
    released, until = VERSIONS[version]
    return released <= today and (until is None or today < until)


def oldest_available(today: date) -> str:
    return next(v for v in VERSIONS if available(v, today))


def latest_available(today: date) -> str:
    return [v for v in VERSIONS if available(v, today)][-1]


def app_created_on() -> date:
    return date.fromisoformat(world_settings.get("app_created_on"))


def app_default(today: date) -> str:
    """The app's own version: the latest when the app was created, while it is available."""
    created = min(app_created_on(), today)
    at_creation = latest_available(created) if created >= date(2023, 9, 12) else None
    if at_creation and available(at_creation, today):
        return at_creation
    return oldest_available(today)


class UnknownVersion(Exception):
    pass


def served(requested: str | None, today: date) -> str:
    """The version that answers a call asking for `requested` (None: unversioned)."""
    if not requested:
        return app_default(today)
    version = requested.strip("/")
    if version in VERSIONS:
        return version if available(version, today) else oldest_available(today)
    try:
        major = _major(version)
    except ValueError:
        raise UnknownVersion(version) from None
    if major < OLDEST_IN_TABLE:
        return oldest_available(today)  # long expired: served by the oldest available
    raise UnknownVersion(version)  # v99.0, v25.5: never a Graph API version


def is_new_app(today: date) -> bool:
    """The v27.0 rule is in force for the sandbox's apps (created on or after 2026-11-04)."""
    return today >= LEGACY_CLOSED_TO_NEW_APPS and app_created_on() >= LEGACY_CLOSED_TO_NEW_APPS


def v26_retired(served_version: str, today: date) -> bool:
    """Whether v26.0's retirement of root ?ids= and date_format applies to this call."""
    if today >= V26_LEGACY_EVERYWHERE:
        return True
    return today >= V26_LEGACY_ON_V26 and _major(served_version) >= 26


def legacy_use(params: dict, path: str, method: str) -> list[str]:
    """The legacy features a request uses, by the names the v27.0 blog gives them."""
    found = []
    if "ids" in params:
        found.append("multi-ID requests")
    if "date_format" in params:
        found.append("date/time formatting")
    if "method" in params:
        found.append("HTTP method override")
    if ".as(" in (params.get("fields") or "").replace(" ", ""):
        found.append("field aliases")
    if "callback" in params:
        found.append("JSONP callbacks")
    if path.rstrip("/").endswith("async_batch_requests") or "asyncbatch" in params:
        found.append("asynchronous batch requests")
    return found


def refused_feature(params: dict, path: str, method: str, served_version: str, at: datetime):
    """The first legacy feature Meta refuses this call for, or None."""
    today = at.date()
    uses = legacy_use(params, path, method)
    if not uses:
        return None
    if is_new_app(today):
        return uses[0]
    if v26_retired(served_version, today):
        if "ids" in params and not path.strip("/"):
            return "multi-ID requests"  # the root form: every app since v26.0's retirement
        if "date_format" in params:
            return "date/time formatting"
    return None
