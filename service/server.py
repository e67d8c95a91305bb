"""Runs the API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from service.settings import ApiSettings


def run_server(host: str | None = None, port: int | None = None) -> None:
    from service.app import create_app

    settings = ApiSettings()
    # log_config=None: uvicorn keeps the JSON handlers service.logs gave its loggers instead of its own text ones.
    uvicorn.run(create_app(), host=host or settings.host, port=port or settings.port, log_config=None)
