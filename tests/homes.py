"""The process's cached settings and database engine, dropped as a test's TAILOR_HOME comes and goes: a command run
in-process (typer's CliRunner) then opens that test's database, not one an earlier test of the same worker left
cached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def nothing_cached_from_another_home() -> Iterator[None]:
    """The block starts with no settings or engine cached from another TAILOR_HOME, and leaves none behind."""
    _forget()
    try:
        yield
    finally:
        _forget()


def _forget() -> None:
    """The cached settings and engine dropped, the engine's connections closed (its SQLite file may be removed)."""
    from service.db.session import default_engine
    from service.settings import home_settings

    if default_engine.cache_info().currsize:
        default_engine().dispose()
    default_engine.cache_clear()
    home_settings.cache_clear()
