"""The embedded default's broker (config/broker.py): kombu's filesystem transport with messages
written whole, and an unreadable message file skipped instead of stopping the worker."""

import os

import pytest
from kombu import Connection
from kombu.transport.virtual import Empty

from config import broker


@pytest.fixture
def channel(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as c:
        yield c.default_channel, folder


def test_filesystem_urls_name_this_transport():
    from config.celery import app

    with Connection("filesystem://") as conn:
        assert type(conn.transport) is broker.Transport
    with app.connection_for_write("filesystem://") as conn:
        assert type(conn.transport) is broker.Transport
    with app.connection_for_write("redis://127.0.0.1:1/0") as conn:  # other URLs: their own
        assert conn.transport_cls == "redis"


def test_a_message_is_invisible_to_consumers_until_it_is_whole(channel, monkeypatch):
    chan, folder = channel
    seen_while_writing = []
    real_replace = os.replace

    def replace(src, dst):
        names = os.listdir(folder)
        try:
            seen_while_writing.append(chan._get("refresh"))
        except Empty:
            seen_while_writing.append(None)
        real_replace(src, dst)
        seen_while_writing.append(names)

    monkeypatch.setattr(broker.os, "replace", replace)
    chan._put("refresh", {"body": "x" * 10_000})
    taken, names = seen_while_writing
    assert taken is None  # a consumer looking in mid-write takes nothing
    assert len(names) == 1 and names[0].endswith(".refresh.msg.partial")
    assert chan._get("refresh") == {"body": "x" * 10_000}
    assert os.listdir(folder) == []


def test_an_empty_message_file_is_skipped_and_the_next_one_delivered(channel):
    """What kombu's own writer leaves between creating a file and filling it."""
    chan, folder = channel
    (folder / "1_00000000-0000-0000-0000-000000000000.refresh.msg").write_bytes(b"")
    chan._put("refresh", {"n": 2})
    assert chan._get("refresh") == {"n": 2}
    with pytest.raises(Empty):
        chan._get("refresh")
