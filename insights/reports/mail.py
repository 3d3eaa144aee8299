"""Emails whose HTML carries its own pictures, so mail clients show them without loading remote
images (most block those by default, and a remote image tells the sender when a mail was opened).

The message is built the way RFC 2387 and RFC 2392 describe and mail clients expect:

    multipart/mixed
      multipart/alternative
        text/plain
        multipart/related
          text/html            <img src="cid:…">
          image/png            Content-ID: <…>, Content-Disposition: inline
      application/pdf          the attachments
"""

from __future__ import annotations

from dataclasses import dataclass
from email.mime.image import MIMEImage
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart


@dataclass(frozen=True)
class InlineImage:
    content_id: str  # without the angle brackets: the HTML names it as cid:<content_id>
    data: bytes
    subtype: str = "png"
    filename: str = "logo.png"


def inline_image(data: bytes, subtype: str = "png", filename: str = "logo.png") -> InlineImage:
    """A picture for an email's HTML, with a Content-ID unique to it (RFC 2392)."""
    return InlineImage(make_msgid("img", domain="prism.invalid")[1:-1], data, subtype, filename)


class RelatedEmail(EmailMultiAlternatives):
    """EmailMultiAlternatives whose text/html alternative goes out in a multipart/related part
    together with `inline_images`."""

    def __init__(self, *args, inline_images: list[InlineImage] | tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def _create_alternatives(self, msg):
        # Django builds multipart/alternative here (5.2: `_create_message` calls this, then adds
        # the attachments around it); only the HTML part is wrapped. tests/test_delivery.py
        # parses the sent bytes, so a Django that builds messages differently fails there.
        msg = super()._create_alternatives(msg)
        if not self.inline_images or not msg.is_multipart():
            return msg
        parts = msg.get_payload()
        for index, part in enumerate(parts):
            if part.get_content_type() == "text/html":
                parts[index] = self._related(part)
        return msg

    def _related(self, html_part):
        related = SafeMIMEMultipart(
            _subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET
        )
        related.attach(html_part)
        for image in self.inline_images:
            picture = MIMEImage(image.data, _subtype=image.subtype)
            picture.add_header("Content-ID", f"<{image.content_id}>")
            picture.add_header("Content-Disposition", "inline", filename=image.filename)
            related.attach(picture)
        return related
