"""`tailor db downgrade REVISION`: the database's schema moved back for an older version of Tailor. Registered on
the `db` group by service.cli; heavy imports happen inside the command."""

from __future__ import annotations

from typing import Annotated

import typer


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
    from service.cli import _echo
    from service.db.migrate import downgrade, downgrade_problem
    from service.db.session import configured_engine

    def checked_downgrade(engine) -> None:
        if problem := downgrade_problem(engine, revision):
            _echo(f"error: {problem}")
            raise typer.Exit(2)
        if not yes:
            typer.confirm(
                f"Move the database back to revision {revision}, dropping what later migrations added?", abort=True
            )
        downgrade(engine, revision)

    configured_engine(checked_downgrade)
    typer.echo(f"the database is at revision {revision}: start the version of Tailor that migrated it there")
