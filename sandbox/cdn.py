"""Instagram's image CDN, as far as Prism needs it: profile pictures and media images.

Meta hands out expiring `scontent.cdninstagram.com` URLs for `profile_picture_url` and for a
media's `media_url` / `thumbnail_url`; the sandbox serves a generated picture (a JPEG, as the
CDN does) at the same path under its own prefix (`local_url`), so clients can fetch and cache it.
Video files (`….mp4`) are not served.
"""

from __future__ import annotations

import hashlib
import io

from django.http import HttpResponse
from PIL import Image, ImageDraw

from . import core, world
from .models import InstagramAccount

HOST = "scontent.cdninstagram.com"
PALETTE = [
    (131, 58, 180),
    (193, 53, 132),
    (225, 48, 108),
    (245, 96, 64),
    (252, 175, 69),
    (64, 93, 230),
    (88, 81, 219),
    (23, 162, 184),
]


@core.route(HOST, r"v/t51\.2885-19/(?P<ig_user_id>\d+)_(?P<sig>\d+)_n\.jpg", methods=("GET",))
def profile_picture(req: core.SandboxRequest, ig_user_id: str, sig: str) -> HttpResponse:
    account = InstagramAccount.objects.filter(ig_user_id=ig_user_id).only("username").first()
    if account is None:
        return HttpResponse(b"URL signature mismatch", status=403, content_type="text/plain")
    response = HttpResponse(avatar_jpeg(account.username), content_type="image/jpeg")
    response["Cache-Control"] = "max-age=1209600"
    return response


@core.route(HOST, r"v/t51\.29350-15/(?P<media_id>\d+)_(?P<sig>\d+)_n\.jpg", methods=("GET",))
def media_picture(req: core.SandboxRequest, media_id: str, sig: str) -> HttpResponse:
    """An image's media_url or a video's thumbnail_url (world.MediaItem), while the media exists."""
    item = world.get_media(media_id)
    if item is None or sig not in (
        str(world.image_sig("url", media_id)),
        str(world.image_sig("thumb", media_id)),
    ):
        return HttpResponse(b"URL signature mismatch", status=403, content_type="text/plain")
    response = HttpResponse(avatar_jpeg(f"media|{media_id}", size=320), content_type="image/jpeg")
    response["Cache-Control"] = "max-age=1209600"
    return response


def local_url(req: core.SandboxRequest, url: str) -> str:
    """A CDN URL as the sandbox serves it: under the prefix the caller reached the sandbox by."""
    root = req.base_url().rsplit("/", 1)[0]
    return url.replace(f"https://{HOST}/", f"{root}/{HOST}/", 1)


def avatar_jpeg(username: str, size: int = 206) -> bytes:
    """A deterministic two-colour picture for an account (or any key, e.g. a media)."""
    digest = hashlib.sha256(username.encode()).digest()
    top, bottom = PALETTE[digest[0] % len(PALETTE)], PALETTE[digest[1] % len(PALETTE)]
    image = Image.new("RGB", (size, size), top)
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    inset = size // 4
    draw.ellipse([inset, inset, size - inset, size - inset], fill=(255, 255, 255))
    draw.ellipse([inset + 12, inset + 12, size - inset - 12, size - inset - 12], fill=top)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
