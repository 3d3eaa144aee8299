"""kombu's filesystem transport (the embedded default's broker) with whole messages.

kombu writes a message by creating its `.msg` file and then filling it, and a consumer takes any
`.msg` file it lists: one taken between the two reads an empty file, and the JSON error stops
the whole worker ("Unrecoverable error: JSONDecodeError"), with the message lost
(celery/kombu#1551, open since 2022; the reliability tests' stories run met it within minutes).
Here a message is written under a name no consumer takes (`….msg.partial`) and renamed into
place, which POSIX makes atomic: a consumer sees the whole message or none of it. A file that
still cannot be read (written by something else) is logged and skipped, not fatal.

config/celery.py makes it what `filesystem://` names (kombu's transport aliases).
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's own name: the millisecond prefix orders the folder, `.{queue}.msg` routes it.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = f"{path}.partial"
        try:
            with open(partial, "wb", buffering=0) as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue):
        while True:  # kombu's _get has removed the file it could not decode: take the next
            try:
                return super()._get(queue)
            except ValueError:
                log.error("queue %s: skipped a message file that is not JSON", queue)


class Transport(filesystem.Transport):
    Channel = Channel
