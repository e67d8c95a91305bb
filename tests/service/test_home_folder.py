"""TAILOR_HOME given relative (the default `var`) is the folder of that name where the process started, made
absolute once when the settings are read: a later change of folder does not move it, and what is printed names it
whole."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from service.settings import DbSettings, home_settings
from tests import forked_cli


def test_a_relative_home_stays_where_the_process_started(tmp_path, monkeypatch):
    """The models were read from `var` where the process started, and the database opened in `var` of wherever it
    was when it first connected."""
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("TAILOR_HOME", "var")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TAILOR_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    home_settings.cache_clear()
    try:
        assert home_settings().home == tmp_path / "var"
        monkeypatch.chdir(tmp_path / "elsewhere")
        assert home_settings().models_dir == tmp_path / "var" / "models"
        assert DbSettings().resolved_url() == f"sqlite:///{tmp_path / 'var' / 'tailor.db'}"
    finally:
        home_settings.cache_clear()


def test_a_home_written_with_a_tilde_is_in_the_users_home(tmp_path, monkeypatch):
    """A systemd unit's TAILOR_HOME=~/tailor is not expanded by a shell: Tailor made a folder named `~` in the
    service's working folder and kept the shop there."""
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.setenv("TAILOR_HOME", "~/tailor")
    monkeypatch.chdir(tmp_path)
    home_settings.cache_clear()
    try:
        assert home_settings().home == tmp_path / "someone" / "tailor"
    finally:
        home_settings.cache_clear()


def test_a_command_names_a_relative_home_by_its_whole_path(tmp_path):
    """`TAILOR_HOME=a_file tailor keys list` said "error: a_file: file exists", which folder's a_file untold, and not
    that TAILOR_HOME was the one to change."""
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    env = {**os.environ, "TAILOR_HOME": "a_file"}
    env.pop("DATABASE_URL", None)
    result = forked_cli.run(
        [str(Path(sys.executable).with_name("tailor")), "keys", "list"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: the environment is not valid: TAILOR_HOME='a_file': {tmp_path / 'a_file'} names a file, not a "
        "folder: give the folder Tailor keeps its files in"
    )


def test_a_home_under_a_file_says_which_file(tmp_path):
    """`TAILOR_HOME=a_file/tailor` said "…: not a directory" of a path the person never wrote."""
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    env = {**os.environ, "TAILOR_HOME": str(tmp_path / "a_file" / "tailor")}
    env.pop("DATABASE_URL", None)
    result = forked_cli.run(
        [str(Path(sys.executable).with_name("tailor")), "keys", "list"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and f"is under {tmp_path / 'a_file'}, a file, not a folder" in result.stderr


def test_the_server_logs_where_its_home_and_database_are(engine, caplog):
    """A server started in another folder than the commands, with TAILOR_HOME=var, served another shop, and its
    log said nothing of where."""
    import logging

    from service.app import create_app

    with caplog.at_level(logging.INFO, logger="tailor.api"):
        create_app(engine)
    (started,) = [record for record in caplog.records if record.getMessage() == "serving the shop"]
    assert started.home == str(home_settings().home) and Path(started.home).is_absolute()
    assert started.database == f"sqlite:///{Path(started.home) / 'tailor.db'}"


def test_a_database_file_that_cannot_be_made_names_the_setting_to_change(tmp_path, monkeypatch):
    """A TAILOR_HOME or DATABASE_URL in a folder that cannot be made said only "error: /proc/shop: no such file or
    directory", naming neither the database nor the variable to fix."""
    import pytest

    from service.db.session import configured_engine
    from service.errors import DatabaseUnavailable

    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a_file' / 'tailor.db'}")
    with pytest.raises(DatabaseUnavailable) as refused:
        configured_engine(lambda engine: None)
    assert str(refused.value).startswith(f"The database sqlite:///{tmp_path / 'a_file' / 'tailor.db'} cannot be made: ")
    assert str(refused.value).endswith("; give DATABASE_URL a file in a folder Tailor can write")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("TAILOR_HOME", "/proc/tailor-shop")  # a folder no one, root included, can make
    home_settings.cache_clear()
    try:
        said = r"^The database sqlite:////proc/tailor-shop/tailor.db cannot be made: /proc/tailor-shop: "
        with pytest.raises(DatabaseUnavailable, match=said + r".*; set TAILOR_HOME \(/proc/tailor-shop\) to a folder"):
            configured_engine(lambda engine: None)
    finally:
        home_settings.cache_clear()


def test_a_database_url_naming_no_file_is_refused(monkeypatch):
    """DATABASE_URL=sqlite:///$DB_PATH with the variable unset is SQLite's in-memory database: every command, `tailor
    keys create` among them, said it was done, and all it wrote went as the process ended."""
    import pytest

    from service.db.session import configured_engine
    from service.errors import DatabaseUnavailable

    for url in ("sqlite:///", "sqlite://", "sqlite:///:memory:"):
        monkeypatch.setenv("DATABASE_URL", url)
        with pytest.raises(DatabaseUnavailable, match=rf"^DATABASE_URL \({url}\) names no database file"):
            configured_engine(lambda engine: None)


def test_a_database_url_set_empty_does_not_hide_the_other_name(monkeypatch):
    """`DATABASE_URL=` left blank in an env file beside TAILOR_DB_URL=postgresql://...: the blank one was taken, and
    the server and every command ran on a new SQLite file in TAILOR_HOME instead of the shop's database."""
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("TAILOR_DB_URL", "postgresql://tailor:pw@db.internal/shop")
    assert DbSettings().resolved_url() == "postgresql+psycopg://tailor:pw@db.internal/shop"
