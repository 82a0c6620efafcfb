"""The node HTTP client's retry loop against a real (closed) loopback port."""

import socket
import threading

import pytest

from configurator.adapters.farm_client import NodeClient
from configurator.errors import FarmError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_retries_give_up_after_retry_for():
    client = NodeClient(f"http://127.0.0.1:{_closed_port()}", "k", retry_for_s=0.3)
    with client, pytest.raises(FarmError, match="failed"):
        client.heartbeat("idle")


def test_stop_ends_retries_at_once():
    """A SIGTERM'd agent (stop set) must not sit out a long --retry-for."""
    stop = threading.Event()
    client = NodeClient(f"http://127.0.0.1:{_closed_port()}", "k", retry_for_s=600, stop=stop)
    threading.Timer(0.3, stop.set).start()
    with client, pytest.raises(FarmError, match="stopped while retrying"):
        client.heartbeat("idle")
