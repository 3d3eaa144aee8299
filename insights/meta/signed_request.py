"""Meta's `signed_request` (graph-api.md §9): `<b64url(sig)>.<b64url(payload)>`, no padding,
HMAC-SHA256 with the app secret over the encoded payload exactly as received."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


class BadSignedRequest(Exception):
    pass


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, secret: str) -> dict:
    """Verify (in constant time) and decode a signed_request; BadSignedRequest otherwise."""
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
    return data
