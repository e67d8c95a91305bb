"""A campaign from the command line: `tailor generate` and `tailor export` (its drafts as JSON lines), `tailor
campaigns list` and `tailor campaigns generate` (again). Registered on the app and the `campaigns` group by
service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from service.cli_bounds import COUNT, CampaignId, CampaignOption
from service.cli_outputs import JSONL_OUT, _output_path, _written_as


def generate(
    campaign_type: Annotated[
        str, typer.Option("--campaign-type", help="welcome, cross_sell, win_back, replenishment, vip")
    ],
    brand: Annotated[str, typer.Option(help="brand kit name (prompts/brands)")],
    out: Annotated[Path | None, typer.Option(help="write the drafts as JSON lines", callback=_output_path)] = None,
    limit: Annotated[int | None, typer.Option(**COUNT, help="at most this many customers")] = None,
    name: Annotated[str | None, typer.Option(help="campaign name")] = None,
    audience_query: Annotated[str | None, typer.Option("--audience-query", help="e.g. 'clv > 100'")] = None,
) -> None:
    """Create a campaign, generate and score its drafts, and optionally export them. A mistake in what is asked
    creates nothing; a generation that stops keeps the campaign, failed, and says its id and why."""
    from service.cli import _echo, _engine_after_crashes, progress_bar
    from service.pipeline.campaign_runs import create_and_generate
    from service.pipeline.exporting import export_campaign

    _written_as(out, JSONL_OUT)
    engine = _engine_after_crashes()
    with _told_if_interrupted(), progress_bar("generating", counts=False) as update:
        summary = create_and_generate(
            engine, campaign_type=campaign_type, brand=brand, limit=limit, name=name,
            audience_query=audience_query, listener=update,
        )  # fmt: skip
    typer.echo(summary.table())
    if summary.warning():
        _echo(f"warning: {summary.warning()}")
    if out:
        _tell_exported(*export_campaign(engine, summary.campaign_id, out), out)


def export(
    campaign: CampaignOption,
    out: Annotated[Path, typer.Option(help="the JSON lines file to write", callback=_output_path)],
    status: Annotated[
        str | None, typer.Option(help="only drafts in this status, e.g. approved (after review) or flagged")
    ] = None,
    selected_only: Annotated[
        bool, typer.Option("--selected-only", help="a line per draft, the variant to mail (the one chosen, by "
                           "its reviewer or generation), for a sender that mails every line; not for an experiment")
    ] = False,
) -> None:  # fmt: skip
    """Write a campaign's drafts as JSON lines, one per customer and variant (e.g. the approved ones, for an email
    service provider; with --selected-only, the variant to mail alone); the file appears whole or not at all."""
    from typing import get_args

    from service.cli import _engine_after_crashes, _one_of
    from service.pipeline.exporting import export_campaign
    from service.schemas import DraftStatus

    _written_as(out, JSONL_OUT)
    if status is not None:
        _one_of(status, get_args(DraftStatus), "--status")
    written = export_campaign(_engine_after_crashes(), campaign, out, status, selected_only)
    _tell_exported(*written, out, selected_only)


@contextmanager
def _told_if_interrupted():
    """Ctrl-C on a generation says which campaign it kept, failed, and how to go on, as a generation stopped any
    other way says (``campaign_runs._generated``); typer ends the command with 130 and no word of it."""
    from service.cli import _echo

    try:
        yield
    except KeyboardInterrupt as interrupted:
        if (campaign_id := getattr(interrupted, "campaign_id", None)) is not None:
            _echo(f"interrupted: campaign #{campaign_id} is kept with the status failed, with the drafts it saved; "
                  f"`tailor campaigns generate {campaign_id}` generates it again")  # fmt: skip
        raise


def _tell_exported(drafts: int, rows: int, warning: str | None, out: Path, selected_only: bool = False) -> None:
    from service.cli import _echo
    from service.wording import counted

    written = counted(drafts, "draft", "drafts", grouped=False)
    if selected_only:
        typer.echo(f"wrote {written} to {out}, a line each: its variant to mail")
    else:
        typer.echo(f"wrote {written} to {out}, a line for each of {'its' if drafts == 1 else 'their'} {rows} variants")
    if warning:
        _echo(f"warning: {warning}")


def campaigns_list(
    status: Annotated[str | None, typer.Option(help="only campaigns in this status, e.g. ready or failed")] = None,
) -> None:
    """Every campaign, newest first: its id (for `tailor export --campaign`, `tailor drafts ...`), name, type, status,
    when it was created and its drafts by status."""
    from typing import get_args

    from service.campaigns import draft_counts_of, list_campaigns
    from service.cli import _echo, _engine_after_crashes, _one_of
    from service.db.session import session_scope
    from service.schemas import CampaignStatus

    if status is not None:
        _one_of(status, get_args(CampaignStatus), "--status")
    with session_scope(_engine_after_crashes()) as session:
        campaigns = list_campaigns(session, status)
        counts = draft_counts_of(session, [campaign.id for campaign in campaigns])
        for campaign in campaigns:
            created = f"created {campaign.created_at:%Y-%m-%d %H:%M} UTC"
            drafts = _drafts_by_status(counts[campaign.id])
            typer.echo(
                f"{campaign.id}  {campaign.name}  {campaign.campaign_type}  {campaign.status}  {created}  {drafts}"
            )
    if not campaigns:
        _echo(f"no campaigns{f' with the status {status}' if status else ''}; `tailor generate` makes one")


def campaigns_generate(campaign: CampaignId) -> None:
    """Generate a campaign again, one whose generation failed say: drafts a person edited, approved or rejected are
    kept, the untouched ones written again. Refused once it has sent email."""
    from service.cli import _echo, _engine_after_crashes, progress_bar
    from service.pipeline.campaign_runs import generate_again

    engine = _engine_after_crashes()
    with _told_if_interrupted(), progress_bar("generating", counts=False) as update:
        summary = generate_again(engine, campaign, listener=update)
    typer.echo(summary.table())
    if summary.warning():
        _echo(f"warning: {summary.warning()}")


def _drafts_by_status(counts: dict[str, int]) -> str:
    """ "drafts: 40 pending, 2 flagged", the statuses that have drafts, or "no drafts"."""
    held = [f"{count:,} {status}" for status, count in counts.items() if count and status != "total"]
    return f"drafts: {', '.join(held)}" if held else "no drafts"
