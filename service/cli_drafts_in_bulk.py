"""`tailor drafts approve-pending|reapprove-late`: a campaign's drafts approved in bulk, as the review page's
"approve all pending" does, or again after the due-check held them back for lateness. Registered on the `drafts`
group by service.cli, beside the one-by-one review of service/cli_drafts.py; heavy imports happen inside the
commands."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli_bounds import CampaignId
from service.cli_drafts import BULK_APPROVAL_OPTIONS, told_by_option


def drafts_approve_pending(
    campaign: CampaignId,
    reviewer: Annotated[str, typer.Option(help="who approves them, kept with each approval")] = "",
    comment: Annotated[str, typer.Option(help="kept with each approval")] = "",
) -> None:
    """Approve every pending draft of the campaign with its chosen variant, as the review page's "approve all pending"
    does: the drafts that passed every guardrail check and review floor. Flagged drafts stay for a person; it says how
    many."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.drafts import approve_pending
    from service.unseen_copy import unseen_holders_said
    from service.wording import counted

    by_option = told_by_option(f"campaign {campaign}'s drafts", BULK_APPROVAL_OPTIONS, "were not approved")
    with session_scope(_engine_after_crashes()) as session, by_option:
        done = approve_pending(session, campaign, reviewer, comment)
    typer.echo(f"approved {counted(done['approved'], 'pending draft', 'pending drafts')}, each with its chosen variant")
    if done["out_of_date"]:
        typer.echo(
            f"flagged {counted(done['out_of_date'], 'draft', 'drafts')} whose email the catalog no longer agrees "
            "with (a price, the stock)"
        )
    if done["unseen_characters"]:
        flagged = counted(done["unseen_characters"], "draft", "drafts")
        typer.echo(f"flagged {flagged}{unseen_holders_said(done['unseen_in'])}")
    if done["left_for_review"]:
        waiting = counted(done["left_for_review"], "flagged draft waits", "flagged drafts wait")
        listed = f"`tailor drafts list --campaign {campaign} --status flagged`"
        typer.echo(f"{waiting} for a person: {listed} lists them, or review them at /review (`tailor serve`)")


def drafts_reapprove_late(
    campaign: CampaignId,
    reviewer: Annotated[str, typer.Option(help="who approves them, kept with each approval")] = "",
    comment: Annotated[str, typer.Option(help="kept with each approval")] = "",
) -> None:
    """Approve again the campaign's drafts the send's due-check held back for lateness alone (after an outage, more
    than TAILOR_SEND_LATE_LIMIT_HOURS past their moment): a fresh approval each, so they go at the next send. Drafts
    flagged for anything else stay for a person; it says how many, and why."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.late_drafts import LEFT, reapprove_late
    from service.wording import counted

    by_option = told_by_option(f"campaign {campaign}'s drafts", BULK_APPROVAL_OPTIONS, "were not approved")
    with session_scope(_engine_after_crashes()) as session, by_option:
        done = reapprove_late(session, campaign, reviewer, comment)
    typer.echo(f"approved again {counted(done['reapproved'], 'draft', 'drafts')} held back for lateness")
    if done["goes"]:
        typer.echo(f"they go {done['goes']}")
    for why, count in done["left"].items():
        if count:
            typer.echo(f"left for review: {count:,} {LEFT[why]}")
    typer.echo(f"{counted(done['left_for_review'], 'draft waits', 'drafts wait')} for a person in all")
