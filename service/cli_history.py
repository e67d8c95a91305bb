"""`tailor history prune`: the email history older than TAILOR_HISTORY_KEEP_DAYS deleted, as `tailor serve` does
every 10 minutes. Registered on the `history` group by service.cli; heavy imports happen inside the command."""

from __future__ import annotations

import typer


def history_prune() -> None:
    """Delete now the history older than TAILOR_HISTORY_KEEP_DAYS, as `tailor serve` does every 10 minutes: for a
    shop that runs Tailor from the command line alone, run it from cron (daily, say)."""
    from service.cli import _echo, _engine_after_crashes
    from service.retention import prune_history
    from service.settings import HistorySettings
    from service.wording import counted

    if HistorySettings().keep_days is None:
        _echo("error: TAILOR_HISTORY_KEEP_DAYS is not set, so the history is kept for ever: nothing was deleted")
        raise typer.Exit(2)
    counts = prune_history(_engine_after_crashes())
    deleted = ", ".join(
        counted(counts.get(name, 0), name[:-1], name) for name in ("sends", "events", "campaigns", "drafts")
    )
    typer.echo(f"history older than {HistorySettings().keep_days} days deleted: {deleted}")
