"""Runs the API with uvicorn on the configured host and port, once the port is known to be free."""

from __future__ import annotations

import errno
import os
import socket

from service.errors import AddressInUse
from service.settings import ApiSettings


def serving_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """The address to serve at: the options given, else TAILOR_API_HOST/TAILOR_API_PORT. Options given are also
    written to those variables for this process, so that what it makes from them (the unsubscribe links of the
    mail it sends, when TAILOR_PUBLIC_URL is unset) points at the server actually running."""
    if host is not None:
        os.environ["TAILOR_API_HOST"] = host
    if port is not None:
        os.environ["TAILOR_API_PORT"] = str(port)
    settings = ApiSettings()
    return settings.host, settings.port


def require_free_port(host: str, port: int) -> None:
    """AddressInUse when something already listens at host:port: found before any work (the demo's training,
    the app's start-up), not by uvicorn afterwards."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise AddressInUse(f"cannot serve at host '{host}': {error.strerror}; set --host or TAILOR_API_HOST") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket is no bar
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise AddressInUse(
                    f"port {port} on {host} is already in use (another `tailor serve` or `make run`?): stop what "
                    "holds it, or choose another port with --port or TAILOR_API_PORT"
                ) from None
            raise AddressInUse(f"cannot serve at {host}:{port}: {error.strerror}") from None


def run_server(host: str | None = None, port: int | None = None) -> None:
    from service.app import create_app
    from service.logs import configure_logging

    configure_logging()  # a server's log: every request and job at INFO, unless TAILOR_LOG_LEVEL says otherwise

    host, port = serving_address(host, port)
    require_free_port(host, port)
    import uvicorn

    # log_config=None: uvicorn keeps the JSON handlers service.logs gave its loggers instead of its own text ones.
    uvicorn.run(create_app(), host=host, port=port, log_config=None)
