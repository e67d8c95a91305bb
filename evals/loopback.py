"""A free port on this machine's loopback, for the servers a benchmark starts (the API, an SMTP relay)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
