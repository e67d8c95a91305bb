"""`tailor send` (a campaign's approved drafts, now) and `tailor send-due` (every campaign's drafts that are due,
from cron), and what a send did, in words. Registered on the app by service.cli; heavy imports happen inside the
commands."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli_bounds import COUNT, CampaignOption

# `tailor send` and `tailor send-due`: mail even where the link check fails (sending.send_campaign's links_must_answer).
UncheckedLinks = Annotated[
    bool, typer.Option("--unchecked-links", help="send even though Tailor does not answer this machine where the "
                       "unsubscribe links lead (TAILOR_PUBLIC_URL), when it does answer the recipients there"),
]  # fmt: skip


def send(
    campaign: CampaignOption,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", **COUNT, help="send at most this many emails now, to the first "
                                 "customers in the audience's order")
    ] = None,
    unchecked_links: UncheckedLinks = False,
) -> None:  # fmt: skip
    """Send the campaign's approved drafts now through the shop's SMTP server (TAILOR_SMTP_*): customers who
    unsubscribed or bounced are skipped, drafts whose products changed go back to review, and those the contact policy
    holds back wait; run it again to send them when they fall due (the next is said on the shop's clock,
    TAILOR_SEND_TIMEZONE, and in UTC). Nothing is sent while no Tailor server (`tailor
    serve`) answers where the emails' unsubscribe links lead."""
    from service.cli import _echo, _engine_after_crashes, progress_bar
    from service.pipeline.campaign_runs import send_now

    engine = _engine_after_crashes()
    try:
        with progress_bar("sending") as update:
            result = send_now(engine, campaign, batch_size, listener=update, links_must_answer=not unchecked_links)
    except KeyboardInterrupt as interrupted:  # what went before Ctrl-C (its job's result), else typer says nothing
        if (done := getattr(interrupted, "done_before", None)) is not None:
            said = _send_words({"waiting": 0, **done})
            for line in [f"interrupted: {said[0]}", *said[1:]]:
                typer.echo(line)
            rest = f"the rest wait: `tailor send --campaign {campaign}` sends them"
            typer.echo(f"{rest}; a draft whose email was in hand may have gone, and goes back to review")
        raise
    said = _send_words(result)
    if said == [_sent(0)]:  # nothing went, nor waits: why, as its job's message says (on a terminal's bar alone)
        said = [f"{_sent(0)}: {_why_nothing_went(engine, campaign)}"]
    for line in said:
        typer.echo(line)
    for warning in result.get("warnings", []):
        _echo(f"warning: {warning}")


def _why_nothing_went(engine, campaign_id: int) -> str:
    """Why a send mailed nothing with nothing waiting: a campaign never written (its generation failed before its
    first draft), or none of its drafts approved and due (all sent, rejected or skipped)."""
    from service.campaigns import draft_counts_of
    from service.db.session import session_scope

    with session_scope(engine) as session:
        drafts = draft_counts_of(session, [campaign_id])[campaign_id]["total"]
    if not drafts:
        generate = f"`tailor campaigns generate {campaign_id}`"
        return f"campaign {campaign_id} has no drafts; generate it first ({generate})"
    return "no approved draft is due"


def _sent(emails: int) -> str:
    from service.wording import counted

    return f"sent {counted(emails, 'email', 'emails')}"


def send_due(
    unchecked_links: UncheckedLinks = False,
) -> None:  # fmt: skip
    """Send every campaign's approved drafts that are due now (each customer's best hour, the contact policy's wait
    over, a refused address's time to be tried again), as `tailor serve` does every TAILOR_SEND_DUE_CHECK_MINUTES: for
    a shop that runs Tailor from the command line alone, run it from cron (every 5 minutes, say). It says what it did
    for each campaign, or that nothing is due; while another due-check runs (a server's), it leaves the drafts to it.
    As `tailor send`, it mails nothing while no Tailor server answers where the unsubscribe links lead."""
    from service.cli import _engine_after_crashes, progress_bar
    from service.errors import TailorError
    from service.pipeline.campaign_runs import send_due_now

    try:
        with progress_bar("sending the due drafts") as update:
            result = send_due_now(_engine_after_crashes(), listener=update, links_must_answer=not unchecked_links)
    except TailorError as failed:  # the mail server down: what the campaigns before it did, then the error
        _tell_due_sends((failed.done_before or {}).get("campaigns", {}))
        raise
    except KeyboardInterrupt as interrupted:  # Ctrl-C: likewise, where typer ends the command with no word
        _tell_due_sends((getattr(interrupted, "done_before", None) or {}).get("campaigns", {}))
        typer.echo("interrupted: the drafts not sent wait for the next `tailor send-due`")
        raise
    if "running" in result:
        typer.echo(f"a due-check is running already (job {result['running']}): it sends what is due")
    elif not result["campaigns"]:
        typer.echo("nothing is due")
    _tell_due_sends(result.get("campaigns", {}))


def _tell_due_sends(campaigns: dict[str, dict]) -> None:
    """What the due-check did for each campaign, in `tailor send`'s words, under its id."""
    from service.cli import _echo

    for campaign_id, result in campaigns.items():
        if "not_sent" in result:  # being generated, or deleted, since the check began: the next check sends it
            typer.echo(f"campaign {campaign_id}: not sent now: {result['not_sent']}")
            continue
        typer.echo(f"campaign {campaign_id}:")
        for line in _send_words({"waiting": 0, **result}):  # a send the mail server stopped counts no waiting
            typer.echo(f"  {line}")
        for warning in result.get("warnings", []):
            _echo(f"warning: campaign {campaign_id}: {warning}")


def _send_words(result: dict) -> list[str]:
    """What a send did, a line for each thing that happened: sent, skipped, held back, waiting or deferred, refused."""
    from service.wording import counted

    lines = [_sent(result["sent"])]
    if result["skipped"]:
        lines.append(f"skipped {result['skipped']:,}: customers who may not be mailed (unsubscribed, bounced, an "
                     "address already mailed in this campaign; each draft says why)")  # fmt: skip
    if result.get("held_back_count"):
        why = {"late": "too late to send", "stale_facts": "products changed since written",
               "failed_checks": "copy fails a check",
               "unseen_characters": "copy, address or a link holds characters no one sees"}  # fmt: skip
        reasons = ", ".join(f"{why.get(k, k)}: {n:,}" for k, n in result.get("held_back_by_reason", {}).items())
        lines.append(f"back to review: {result['held_back_count']:,} ({reasons})")
    if result["waiting"]:
        waiting = counted(
            result["waiting"], "approved draft waits for its send time", "approved drafts wait for their send times"
        )
        policy = f" ({result['deferred']:,} held back by the contact policy)" if result["deferred"] else ""
        lines.append(f"{waiting}{policy}; the next falls due {_shop_time(result['next_send_at'])}: send again then")
    elif result["deferred"]:  # none waits: a send the mail server stopped part way, or customers not mailable since
        lines.append(f"deferred {result['deferred']:,} by the contact policy (each draft says until when)")
    if result.get("awaiting_review"):  # nothing went: what a person must approve first
        waits = counted(result["awaiting_review"], "draft waits", "drafts wait")
        lines.append(f"{waits} for review (pending or flagged): approve them first (tailor drafts list)")
    if result.get("still_due"):  # a batch's limit reached (--batch-size)
        left = counted(result["still_due"], "approved draft is due", "approved drafts are due")
        lines.append(f"{left} and left for the next batch: send again to mail them")
    if result["refused"]:
        lines.append(f"refused by the mail server: {len(result['refused']):,}")
        lines += [f"  draft {refused['draft_id']}: {refused['answer']}" for refused in result["refused"][:20]]
    return lines


def _shop_time(moment: str) -> str:
    """A moment a job's result gives (``service.clock.as_text``: UTC) as the shop's marketers read it: on the shop's
    clock (TAILOR_SEND_TIMEZONE) with its zone's name, and in UTC beside it where that clock is another
    ("2026-12-08 10:00 CET (09:00 UTC)"), as the server's logs and the API's JSON keep it. A Berlin shop read
    "2026-12-08T09:00:00Z" for an email going at 10:00 there."""
    from datetime import datetime

    from service.clock import as_utc
    from service.send_times import on_shop_clock

    in_utc = as_utc(datetime.fromisoformat(moment))
    local = on_shop_clock(in_utc, "%Y-%m-%d %H:%M")
    if local == f"{in_utc:%Y-%m-%d %H:%M} UTC":  # the shop keeps UTC
        return local
    same_day = local.startswith(f"{in_utc:%Y-%m-%d} ")
    return f"{local} ({in_utc:{'%H:%M' if same_day else '%Y-%m-%d %H:%M'}} UTC)"
