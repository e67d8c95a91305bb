"""`tailor db downgrade REVISION`: the database moved back for an older version with an upgrade's care (one process
at a time, a SQLite file put back as it was when it stops half way), and a revision it cannot go to refused."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.cli import app
from service.db.session import make_engine
from tests import forked_cli


@pytest.fixture
def database(engine, tailor_home, monkeypatch):
    """The file of TAILOR_HOME's database, at the latest revision (a copy of one migrated once: the ``engine``
    fixture's)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tailor_home / "tailor.db"


def _revision(path) -> str:
    """The revision of the SQLite file at ``path``, read as the migrations wrote it."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return revision


def test_a_downgrade_goes_back_to_the_revision_and_leaves_no_copy(database):
    moved = CliRunner().invoke(app, ["db", "downgrade", "0030", "--yes"])
    assert moved.exit_code == 0, moved.output
    assert "the database is at revision 0030" in moved.output
    assert _revision(database) == "0030"
    assert not database.with_name("tailor.db.pre-migration").exists()


def test_a_downgrade_stopped_half_way_leaves_the_database_as_it_was(database, monkeypatch):
    """A downgrade ran bare: stopped half way on SQLite (whose driver commits each schema statement at once), it
    left tables and a revision that did not match, which no version could start on."""
    from service.db import migrate

    real = migrate._alembic_downgrade

    def stopped_half_way(config, revision):
        real(config, "0033")
        raise KeyboardInterrupt

    head = _revision(database)
    monkeypatch.setattr(migrate, "_alembic_downgrade", stopped_half_way)
    stopped = CliRunner().invoke(app, ["db", "downgrade", "0030", "--yes"])
    assert stopped.exit_code == 130  # Ctrl-C, as click tells it
    assert _revision(database) == head
    assert not database.with_name("tailor.db.pre-migration").exists()


def test_a_revision_it_cannot_go_to_is_refused_and_nothing_moves_unless_confirmed(database, monkeypatch):
    from service import cli

    monkeypatch.setattr(cli, "_at_a_terminal", lambda: True)  # asked only at a terminal: the runner's stdin is none
    head = _revision(database)
    runner = CliRunner()
    unknown = runner.invoke(app, ["db", "downgrade", "9999", "--yes"])
    assert unknown.exit_code == 2 and "'9999' is not a revision of this version of Tailor" in unknown.output
    current = runner.invoke(app, ["db", "downgrade", head, "--yes"])
    assert current.exit_code == 2 and f"The database is at revision {head}" in current.output
    declined = runner.invoke(app, ["db", "downgrade", "0030"], input="n\n")
    assert declined.exit_code == 1 and "dropping what later migrations added" in declined.output
    assert _revision(database) == head


def test_a_downgrade_without_a_terminal_says_it_needs_yes(database):
    """Without a terminal and no --yes, `tailor db downgrade` ended "Aborted!" with exit 1, as `tailor customers
    erase` did: both say now that --yes is needed, exit 2, and change nothing."""
    head = _revision(database)

    refused = CliRunner().invoke(app, ["db", "downgrade", "0030"], input="")

    assert refused.exit_code == 2, refused.output
    assert "not run at a terminal" in refused.output and "--yes" in refused.output, refused.output
    assert "Aborted" not in refused.output
    assert _revision(database) == head


def test_a_command_tells_the_revision_it_migrated_from_with_the_log_level_readme_gives(database):
    """README's step 2 of an upgrade: the revision to go back to is `database migrated`'s `from_revision`, which a
    command (logging warnings alone by default) writes with TAILOR_LOG_LEVEL=INFO."""
    import json
    import os
    import sys
    from pathlib import Path

    tailor = [str(Path(sys.executable).with_name("tailor"))]
    env = {**os.environ, "TAILOR_HOME": str(database.parent)}
    head = _revision(database)
    moved_back = forked_cli.run([*tailor, "db", "downgrade", "0030", "--yes"], capture_output=True, text=True,
                                env=env, timeout=120)  # fmt: skip
    assert moved_back.returncode == 0 and "database migrated" not in moved_back.stderr  # warnings alone
    told = forked_cli.run([*tailor, "keys", "list"], capture_output=True, text=True, timeout=120,
                          env={**env, "TAILOR_LOG_LEVEL": "INFO"})  # fmt: skip
    (line,) = [json.loads(line) for line in told.stderr.splitlines() if '"database migrated"' in line]
    assert (line["from_revision"], line["to_revision"]) == ("0030", head)


def test_a_command_that_upgrades_the_schema_says_so_in_one_line(database, tmp_path):
    """A newer `tailor` run on an older store moved its schema without a word at the default log level, so the
    revision to go back to was lost; a new database's schema, and one already current, are no news."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    def keys_list(home: Path) -> subprocess.CompletedProcess:
        tailor = str(Path(sys.executable).with_name("tailor"))
        env = {**os.environ, "TAILOR_HOME": str(home), "TAILOR_LOG_LEVEL": "WARNING"}
        return forked_cli.run([tailor, "keys", "list"], capture_output=True, text=True, env=env, timeout=120)

    head = _revision(database)
    assert CliRunner().invoke(app, ["db", "downgrade", "0030", "--yes"]).exit_code == 0
    upgraded = keys_list(database.parent)
    assert upgraded.returncode == 0 and upgraded.stderr == f"Upgraded the database schema from 0030 to {head}.\n"
    current = keys_list(database.parent)
    assert current.returncode == 0 and current.stderr == ""
    new = keys_list(tmp_path / "new")
    assert new.returncode == 0 and new.stderr == ""
