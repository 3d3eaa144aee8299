"""Uploaded and cached images: only PNG, JPEG and WebP, told by their bytes, never by the name
or the Content-Type someone else chose. And stored files in general: one that went missing is a
404, never a 500."""

from __future__ import annotations

import io
import logging

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, Http404, HttpResponse

log = logging.getLogger(__name__)

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
ALLOWED_LABEL = "PNG, JPEG or WebP"
MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 4096
LOGO_BOX = (800, 400)  # stored size: sharp in a PDF header, small in an email


def sniff(head: bytes) -> str | None:
    """The extension for these first bytes, or None when they are not an allowed image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def private_image_response(field) -> HttpResponse:
    """An upload served only after the agency check (uploads have no public URL). The type
    comes from the file's bytes; the file can never be rendered as a document (attachment
    disposition, nosniff, a sandboxing CSP). A missing file is a 404, not a 500."""
    handle = open_stored(field)
    head = handle.read(16)
    handle.seek(0)
    ext = sniff(head)
    content_type = CONTENT_TYPES.get(ext, "application/octet-stream")
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="image.{ext or "bin"}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=600"
    return response


def open_stored(field):
    """A stored file (thumbnail, logo, delivered PDF), open for reading, or Http404 when there
    is none or it went missing from the storage (a restored database without its media, a
    cleaned bucket). The first bytes are read here: a bucket answers "no such key" only then,
    and a FileResponse would fail half-way through the answer."""
    if not field:
        raise Http404("No file.")
    try:
        handle = field.open("rb")
        handle.read(1)
        handle.seek(0)
    except Exception as error:  # noqa: BLE001 - any storage's "not there"
        log.warning("stored file missing: %s (%s)", field.name, type(error).__name__)
        raise Http404("The file is missing.") from None
    return handle


def reencoded_logo(upload, *, refused: str) -> SimpleUploadedFile:
    """Check an uploaded logo (an agency's or a client's) and return a re-encoded PNG of it.

    Re-encoding through Pillow keeps only pixels: no metadata (a photo's GPS position), no
    trailing bytes, nothing that would make the file a polyglot. A cap in pixels as well as in
    bytes: a few kilobytes of PNG can hold a 14000×12000 image. SVG never gets here (Pillow
    cannot read it): sanitising SVG safely is hard, and WeasyPrint would fetch what it links to.
    `refused` is the message for an image of another format.
    """
    from PIL import Image

    if upload.size > MAX_LOGO_BYTES:
        raise ValidationError("The logo is larger than 1 MB; please upload a smaller file.")
    if upload.image.format not in FORMATS:
        raise ValidationError(refused)
    width, height = upload.image.size
    if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
        raise ValidationError(
            f"The logo is larger than {MAX_LOGO_PIXELS}×{MAX_LOGO_PIXELS} pixels."
        )
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image.load()
            image = image.convert("RGBA")
            image.thumbnail(LOGO_BOX)
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError("This image could not be read; try another file.") from error
    return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")
