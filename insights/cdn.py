"""Pictures from Meta's CDN (media thumbnails, profile pictures): Meta's URLs expire, so Prism
keeps its own copy, and only ever of a picture it made itself.

- Only Meta's image CDNs (`*.cdninstagram.com`, `*.fbcdn.net` over https) or the sandbox's CDN
  under the configured Meta hosts are fetched: a URL in an answer can never make Prism fetch
  an arbitrary host. No redirects, a size cap, a short timeout.
- The bytes must be an image (by their magic numbers, `insights.images.sniff`); they are decoded
  with a pixel cap and re-encoded as a small JPEG, so what Prism stores and later serves is a
  picture it made itself, never the bytes it was sent.
"""

from __future__ import annotations

import io
import logging
from urllib.parse import urlsplit

import requests
from django.conf import settings

from .images import sniff
from .meta.client import _shared_session

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024  # Meta's full-size images are well under this
MAX_PIXELS = 30_000_000  # a decompression bomb is refused before it is decoded
SIZE = 640  # longest side kept
TIMEOUT = (3.05, 10)
CDN_HOST = "scontent.cdninstagram.com"
CDN_SUFFIXES = (".cdninstagram.com", ".fbcdn.net")


def allowed(url: str) -> bool:
    """Meta's image CDNs over https, or the sandbox's CDN beside a configured Meta host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.username or parts.password or ".." in parts.path or "\\" in url:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host.endswith(CDN_SUFFIXES):
        return True
    for base in settings.META_HOSTS.values():
        ours = urlsplit(base)
        if ours.path.rstrip("/").endswith(("/graph.facebook.com", "/graph.instagram.com")):
            prefix = f"{base.rstrip('/').rsplit('/', 1)[0]}/{CDN_HOST}/"
            if url.startswith(prefix) and (parts.scheme, parts.netloc) == (
                ours.scheme,
                ours.netloc,
            ):
                return True
    return False


def download(url: str) -> bytes | None:
    """The picture at `url` as a small JPEG, or None (not allowed, too big, not an image,
    unreachable). Never raises."""
    if not allowed(url):
        log.info("thumbnail not fetched: host not allowed")
        return None
    try:
        response = _shared_session().get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
    except requests.RequestException as error:
        log.info("thumbnail not fetched: %s", type(error).__name__)
        return None
    try:
        length = response.headers.get("Content-Length", "")
        if response.status_code != 200 or (length.isdigit() and int(length) > MAX_BYTES):
            return None
        body = response.raw.read(MAX_BYTES + 1, decode_content=True)
    except Exception as error:  # a broken stream is a missing picture, nothing more
        log.info("thumbnail not fetched: %s", type(error).__name__)
        return None
    finally:
        response.close()
    if len(body) > MAX_BYTES or sniff(body[:16]) is None:
        return None
    return shrink(body)


def shrink(body: bytes) -> bytes | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(body)) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (SIZE, SIZE))  # JPEG: decode at a reduced scale
            image = image.convert("RGB")
            image.thumbnail((SIZE, SIZE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue()
    except Exception:  # Pillow raises many kinds for a damaged or hostile file
        return None
