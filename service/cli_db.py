"""`tailor db status`: where the database's schema stands against this release, read without changing anything; and
`tailor db downgrade REVISION`: the schema moved back for an older version of Tailor. Registered on the `db` group by
service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from service.db.schema_status import SchemaStatus


def db_downgrade(
    revision: Annotated[str, typer.Argument(
        metavar="REVISION", help="the revision to go back to: the server's `database migrated` line names it as "
        "from_revision, a command's `Upgraded the database schema from REVISION to ...` as the first",
    )],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask first")] = False,
) -> None:  # fmt: skip
    """Move the database back to REVISION before starting an older version of Tailor, with the care of an upgrade:
    one process at a time, and a SQLite file put back as it was if it stops half way. What later migrations added
    is dropped; stop the server and every command first, and back up the database and TAILOR_HOME."""
    from service.cli import _ask_first, _echo
    from service.db.migrate import downgrade, downgrade_problem
    from service.db.session import configured_engine

    def checked_downgrade(engine) -> None:
        if problem := downgrade_problem(engine, revision):
            _echo(f"error: {problem}")
            raise typer.Exit(2)
        question = f"Move the database back to revision {revision}, dropping what later migrations added?"
        _ask_first(question, yes, f"move the database back to revision {revision}")
        downgrade(engine, revision)

    configured_engine(checked_downgrade)
    typer.echo(f"the database is at revision {revision}: start the version of Tailor that migrated it there")


# `tailor db status`'s exit status by the schema's state, for scripts (README: Upgrading and rolling back); 2 stays
# every command's error (the database cannot be reached or read).
STATUS_EXIT_CODES = {"up_to_date": 0, "pending": 3, "newer": 4, "no_file": 5}


def db_status() -> None:
    """Where the database stands, before an upgrade or a downgrade: which database the configuration names (its
    password hidden), its revision, the one this release serves, the migrations this release would run on it, and
    whether a migration runs now. Nothing is changed: no migration runs, a SQLite file that is not there is not made,
    and a running server is not held up. Exits 0 when up to date, 3 when migrations are pending, 4 when a newer
    release migrated it, 5 when its SQLite file is not there, 2 when it cannot be read."""
    from service.db.schema_status import schema_status

    status = schema_status()
    typer.echo(f"database: {status.database}")
    typer.echo(f"revision: {_revision_shown(status)}")
    typer.echo(f"this release serves: {status.head}")
    if status.pending and status.starts_from is None:  # a new database, or one made anew: not listed one by one
        typer.echo(
            f"pending: all {len(status.pending)} of this release's migrations, {status.pending[0][0]} to {status.head}"
        )
    elif status.pending:  # from the database's revision, or from the copy of it the next start puts back
        typer.echo(f"pending: {len(status.pending)} migration{'s' if len(status.pending) != 1 else ''}")
        for revision, name in status.pending:
            typer.echo(f"  {revision} {name}")
    if status.migrating:
        typer.echo("migrating now: another process holds the migration lock; ask again once it is done")
    if status.copy is not None:
        typer.echo(_stopped_half_way(status))
    typer.echo(_verdict(status))
    raise typer.Exit(STATUS_EXIT_CODES[status.state])


def _stopped_half_way(status: SchemaStatus) -> str:
    """The line on the copy a killed SQLite migration left beside the file: what it holds, and what the next start
    does with it (migrate._undo_a_stopped_migration puts it back, then migrates)."""
    copy = status.copy
    said = f"a migration stopped half way: the copy of the database from before it, {copy.path}, "
    if copy.empty:
        return said + (
            "is empty (the database was not there yet); the next start removes the database and makes it anew at "
            f"revision {status.head}"
        )
    if copy.unreadable:
        held = f"cannot be read ({copy.unreadable})"
    else:
        held = f"holds revision {copy.revision}" if copy.revision else "holds no schema yet"
    return said + (
        f"{held}; the next start puts the database back as that copy holds it, then migrates it to {status.head}"
    )


def _revision_shown(status: SchemaStatus) -> str:
    if status.no_file:
        return "none: the database file is not there"
    if status.current is None:
        return "none: no schema yet (a new, empty database)"
    return status.current


def _verdict(status: SchemaStatus) -> str:
    """The last line: whether this release can start on the database as it is, and what its next start does."""
    if status.state == "up_to_date":
        return "up to date: this release serves the database as it is"
    if status.state == "no_file" and status.copy is not None:
        return "not there: this release's next start (the server or a command) puts back the copy above"
    if status.state == "no_file":
        return f"not there: this release's next start (the server or a command) makes it, at revision {status.head}"
    if status.state == "newer":
        return (
            f"newer than this release: revision {status.current} is none of its migrations, so a newer release of "
            f"Tailor migrated it and this one will not start on it; run that release, or move the database back to "
            f"{status.head} with that release's `tailor db downgrade {status.head}`"
        )
    return (
        "behind this release: its next start (the server or a command) migrates the database to "
        f"{status.head}; back it up first (README: Upgrading and rolling back)"
    )
