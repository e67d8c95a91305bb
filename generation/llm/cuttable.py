"""A call's own HTTP client for an OpenAI-compatible server, whose connection another thread can cut.

An answer not streamed arrives whole, so the thread waiting for it is blocked in a read until the server has
written all of it: closing the client from another thread does not end that read (the socket stays open until the
read's own timeout), and the connection is held for a caller long gone. ``cut`` shuts the call's sockets down
instead, which ends the read at once and tells the server that the caller left, for a server that stops writing
then. The local xllamacpp server does so for a streamed answer only (its slot free within 0.2 s): one not streamed
is written on to ``max_tokens``, still 20 s after the cut of a 300-token answer on a loaded 2-core machine, cut or
not. litellm takes the client as ``client``: its connections are opened through ``_Recording``, which keeps their
sockets.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import httpcore
import httpx


class Cuttable:
    """One call's HTTP client (``client``), the sockets it opened, and ``cut`` to end them."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        transport = httpx.HTTPTransport()
        # httpx takes no network backend of its own: its connection pool, httpcore's, does. Should a later httpx
        # keep it elsewhere, the call goes on uncuttable (held until its timeout, as before) rather than failing.
        pool = getattr(transport, "_pool", None)
        if hasattr(pool, "_network_backend"):
            pool._network_backend = _Recording(self._opened)
        self._http = httpx.Client(transport=transport)

    def client(self, api_base: str, api_key: str | None, timeout: float) -> Any:
        """An OpenAI client for litellm's ``client``, reaching ``api_base`` through this call's connection."""
        import openai  # a dependency of litellm, imported with it

        return openai.OpenAI(base_url=api_base, api_key=api_key, timeout=timeout, max_retries=0, http_client=self._http)

    def cut(self) -> None:
        """End the call's connections now, from any thread: its read raises, and the server sees the caller leave."""
        with self._lock:
            self._cut, sockets = True, list(self._sockets)
        for opened in sockets:
            _shut_down(opened)

    def close(self) -> None:
        """Release the client once its call returned."""
        self._http.close()

    def _opened(self, opened: socket.socket) -> None:
        with self._lock:
            self._sockets.append(opened)
            cut = self._cut
        if cut:  # opened by a try that began as the call was cut
            _shut_down(opened)


def _shut_down(opened: socket.socket) -> None:
    # socket.socket's own: a TLS socket's would forget its TLS state under a reader in another thread
    with contextlib.suppress(OSError):  # already closed, or detached into its TLS socket (kept too)
        socket.socket.shutdown(opened, socket.SHUT_RDWR)


class _Recording(httpcore.SyncBackend):
    """httpcore's backend, handing each socket it connects (and its TLS socket, once wrapped) to ``opened``."""

    def __init__(self, opened) -> None:
        self._opened = opened

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _Stream(super().connect_tcp(*args, **kwargs), self._opened)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, opened) -> None:
        self._stream, self._opened = stream, opened
        opened(stream.get_extra_info("socket"))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(*args, **kwargs), self._opened)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)
