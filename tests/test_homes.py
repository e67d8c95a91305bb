"""The test homes' caches: each test's in-process commands open that test's database."""

from __future__ import annotations

from pathlib import Path

from tests.homes import nothing_cached_from_another_home


def test_a_home_opens_its_own_database_whichever_home_was_opened_before(tmp_path, monkeypatch):
    """`tailor drafts suggest` run in-process read another test's database (its draft "already sent"): the engine
    an earlier test of the same worker opened stayed cached, whatever TAILOR_HOME said."""
    from service.db.session import default_engine

    for home in (tmp_path / "first", tmp_path / "second"):
        monkeypatch.setenv("TAILOR_HOME", str(home))
        with nothing_cached_from_another_home():
            assert Path(default_engine().url.database) == home / "tailor.db"
