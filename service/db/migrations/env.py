"""Alembic environment: uses the engine handed over by service.db.migrate, or the configured URL.

On SQLite the migrations run with foreign keys off, as Alembic's batch mode needs: a table is rebuilt by copying
it and dropping the old one, and with foreign keys on that DROP deletes (cascades to) every row that refers to
it, such as a send's events when the sends table is rebuilt. They are checked before the migrations commit.

On PostgreSQL the migrations run under a lock of their own (an advisory lock held to the end of their
transaction): processes that start together on one database (a server and a command, two replicas) migrate one
after the other, and the later ones find the schema up to date, where they failed on a duplicate column or
version row.

A table rebuilt in batch mode on SQLite is read (reflected) alone: SQLAlchemy also read every table its foreign
keys name, and theirs in turn (a rebuild of events read eight tables), which the rebuild never uses, as it names a
referred table by its name alone. That was a quarter of the CPU of an upgrade and downgrade on SQLite."""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from alembic import context
from alembic.operations import BatchOperations, Operations
from sqlalchemy import Connection, create_engine

from service.db.migrate import MIGRATION_LOCK
from service.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction, where SQLite ignores it
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":  # before the schema's version is read
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                _run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            connection.commit()
        finally:
            if sqlite:  # the connection goes back to the pool, where the service expects them on
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _run_migrations() -> None:
    """``context.run_migrations()``, with each batch-mode table read alone (``resolve_fks=False``)."""
    with Operations.context(context.get_context()) as operations:  # the operations `alembic.op` runs
        batch_alter_table = operations.batch_alter_table

        def reading_the_table_alone(
            *args: Any, reflect_kwargs: Mapping[str, Any] | None = None, **kwargs: Any
        ) -> AbstractContextManager[BatchOperations]:
            return batch_alter_table(*args, reflect_kwargs={"resolve_fks": False, **(reflect_kwargs or {})}, **kwargs)

        operations.batch_alter_table = reading_the_table_alone  # `op.batch_alter_table` looks it up at each call
        context.get_context().run_migrations()


def _check_foreign_keys(connection: Connection) -> None:
    """Fail loudly, before anything is committed, when a migration left a row referring to one that is not there."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        rows = ", ".join(f"{table} row {rowid} (to {parent})" for table, rowid, parent, _ in broken[:10])
        raise RuntimeError(f"The migrations left {len(broken)} rows referring to rows that do not exist: {rows}")


run_migrations_online()
