"""`tailor keys create|revoke|list`: the API's keys, kept as hashes (service.auth). Registered on the `keys` group
by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer


def keys_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="who or what uses the key")] = "default",
) -> None:
    """Create an API key; it is shown once."""
    from service.auth import create_key
    from service.cli import command_engine
    from service.db.session import session_scope

    with session_scope(command_engine()) as session:
        key = create_key(session, name)
    typer.echo(key)


def keys_revoke(
    prefix: Annotated[str, typer.Argument(metavar="PREFIX", help="the key, or its first 10 characters")],
) -> None:
    """Revoke the keys starting with PREFIX (as `tailor keys list` shows it)."""
    from service.auth import revoke_key
    from service.cli import command_engine
    from service.db.session import session_scope
    from service.wording import counted

    with session_scope(command_engine()) as session:
        count = revoke_key(session, prefix)
    typer.echo(f"revoked {counted(count, 'key', 'keys')}")


def keys_list() -> None:
    """Every key's prefix, name, and when it was created and revoked (keys are kept only as hashes)."""
    from service.auth import list_keys
    from service.cli import command_engine
    from service.db.session import session_scope

    with session_scope(command_engine()) as session:
        for key in list_keys(session):
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            typer.echo(f"{key.prefix}  {key.name}  created {key.created_at:%Y-%m-%d %H:%M}  {revoked}")
