"""Meta's signatures, checked in constant time:
- `signed_request` (graph-api.md §9): `<b64url(sig)>.<b64url(payload)>`, no padding,
  HMAC-SHA256 with the app secret over the encoded payload exactly as received;
- webhooks' `X-Hub-Signature-256` (§8.2): `sha256=<hex HMAC-SHA256(raw body, app secret)>`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

# Meta's callbacks come at once; a signed_request is accepted for this long after `issued_at`
# (and a little before it, for clock skew), so a captured one cannot be replayed for years.
MAX_AGE_SECONDS = 3600
MAX_SKEW_SECONDS = 300


class BadSignedRequest(Exception):
    pass


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, secret: str, *, now: float | None = None) -> dict:
    """Verify (in constant time) and decode a signed_request; BadSignedRequest otherwise,
    also when it was issued outside the replay window."""
    try:
        encoded_sig, payload = signed_request.split(".", 1)
        signature = _b64decode(encoded_sig)
        data = json.loads(_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        raise BadSignedRequest("malformed") from None
    if not isinstance(data, dict) or str(data.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise BadSignedRequest("unsupported algorithm")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadSignedRequest("bad signature")
    if not data.get("user_id"):
        raise BadSignedRequest("no user_id")
    issued_at = data.get("issued_at")
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        raise BadSignedRequest("no issued_at")
    age = (time.time() if now is None else now) - issued_at
    if age > MAX_AGE_SECONDS or age < -MAX_SKEW_SECONDS:
        raise BadSignedRequest("issued outside the replay window")
    return data


def valid_hub_signature(raw_body: bytes, header: str, app_secrets: list[str]) -> bool:
    """Whether `X-Hub-Signature-256` signs these exact bytes with one of the app secrets (both
    login paths' apps may subscribe). The raw body, never re-serialised JSON: Meta escapes
    non-ASCII and "/" (§12.18)."""
    scheme, _, given = (header or "").strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    given = given.lower().encode()
    matches = [
        hmac.compare_digest(
            given, hmac.new(s.encode(), raw_body, hashlib.sha256).hexdigest().encode()
        )
        for s in app_secrets
        if s
    ]
    return any(matches)
