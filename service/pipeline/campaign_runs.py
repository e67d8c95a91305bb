"""Campaign runs for the CLI and the demo: create + generate in one call, and a summary table; a send, and the
due-check, run in the command's process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from generation.settings import LLMSettings
from service.audiences import choose_today
from service.campaigns import create_campaign, start_generating
from service.db.session import session_scope
from service.errors import CampaignFailed, GeneratedAgain, InvalidInput, JobCancelled, Problem, TailorError
from service.jobs import InlineJobRunner
from service.jobs.runner import JobRunning
from service.jobs.schedule import live_job, none_live
from service.pipeline.due_drafts import has_due_drafts
from service.pipeline.generate import generate_campaign, require_models
from service.pipeline.sending import send_campaign, send_due_drafts
from service.schemas import NOT_ONE_LINE, ONE_LINE, CampaignIn
from service.settings import CampaignSettings, home_settings
from service.state import model_store


@dataclass
class RunSummary:
    campaign_id: int
    result: dict[str, Any]

    def warning(self) -> str | None:
        """What to tell the person who ran the campaign before they look for drafts: that there are none."""
        if self.result["customers"] == 0:
            return (
                f"campaign #{self.campaign_id} is empty: no mailable customer fits its campaign type and audience query"
            )
        return None

    def table(self, total_seconds: float | None = None) -> str:
        r, f = self.result, self.result["forecast"]
        rows = [
            ("campaign", f"#{self.campaign_id}"),
            ("customers targeted", r["customers"]),
            ("drafts", r["drafts"]),
            ("flagged drafts", f"{r['flagged']}{_why_flagged(r)}"),
            ("predicted opens", f"{f['opens']:.1f}"),
            ("predicted clicks", f"{f['clicks']:.1f}"),
            ("predicted conversions", f"{f['conversions']:.2f}"),
            ("predicted revenue", f"{f['revenue']:.2f} ({f['revenue_low']:.2f}–{f['revenue_high']:.2f})"),
            ("LLM calls", r.get("llm_calls", 0)),
            ("variants in template copy", f"{r['fallback_share']:.0%}{_why_template(r)}"),
            *_lines_turned_down(r),
            ("seconds generating", f"{r['seconds']:.1f}"),
        ]
        if total_seconds is not None:
            rows.append(("seconds in all", f"{total_seconds:.1f}"))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _why_flagged(result: dict[str, Any]) -> str:
    """The most common kinds of reasons the flagged drafts wait for a person, with their counts."""
    kinds = result.get("flagged_why") or {}
    return f" ({'; '.join(f'{kind}: {count}' for kind, count in kinds.items())})" if kinds else ""


def _why_template(result: dict[str, Any]) -> str:
    """Why variants are in the template's copy: the locales the model is not asked to write, the groups the provider
    failed or the model did not answer in time, answers that were not the JSON asked for, and the checks that
    turned the model's copy down, most often first."""

    def groups(n: int) -> str:
        return f"{n} group{'s' if n != 1 else ''}"

    if not result.get("fallback_share"):
        return ""
    reasons = []
    if n := result.get("template_only_groups"):
        reasons.append(f"{groups(n)} in locales the model does not write")
    if n := result.get("unavailable_groups"):
        timeouts = result.get("timeouts") or 0
        reasons.append(f"{groups(n)} without the model (the provider failed, or {timeouts} calls timed out)")
    if n := result.get("invalid_answers"):
        reasons.append(f"{n} answer{'s' if n != 1 else ''} not in the JSON asked for")
    if turned_down := result.get("rejected_by_check"):
        reasons.append("model copy turned down by " + _counted(turned_down))
    return f" ({'; '.join(reasons)})" if reasons else ""


def _lines_turned_down(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The row saying which checks turned down the model's product lines, most often first (the template's line
    replaces each: a variant's copy stays the model's), or no row when none was."""
    turned_down = result.get("lines_rejected_by_check")
    if not turned_down:
        return []
    return [("model product lines turned down", f"{_counted(turned_down)} (each is the template's line instead)")]


def _counted(counts: dict[str, int]) -> str:
    """Check names with their counts, most often first: "structure 9, injection 2"."""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in ranked)


OPTIONS = {"campaign_type": "--campaign-type", "max_customers": "--limit", "audience_query": "--audience-query"}


def _option(field: str) -> str:
    """The command-line option that sets a campaign's ``field``."""
    return OPTIONS.get(field, f"--{field}")


def create_and_generate(
    engine: Engine, *, campaign_type: str, brand: str, limit: int | None, name: str | None,
    audience_query: str | None, listener: Callable[[int, int, str], None] | None = None, refuse_empty: bool = True,
) -> RunSummary:  # fmt: skip
    """Create a campaign and generate it. What the input decides (campaign type, brand, audience query, trained
    models, and with ``refuse_empty`` that some customer fits) is checked before the campaign exists, so a
    mistake leaves nothing behind; a generation that stops after that keeps the campaign, failed, and raises
    CampaignFailed naming it and why. The demo passes ``refuse_empty=False``: a shop kept from before may have no
    lapsing customer, and its page is served all the same."""
    spec = _campaign_spec(
        name=name or f"{campaign_type.replace('_', ' ')} campaign", brand=brand, campaign_type=campaign_type,
        audience_query=audience_query, max_customers=limit,
    )  # fmt: skip
    models = model_store(home_settings().models_dir)
    require_models(models)
    CampaignSettings()  # a bad TAILOR_CAMPAIGN_* or TAILOR_LLM_* setting is told (by name) before a campaign exists
    LLMSettings()
    try:
        with session_scope(engine) as session:
            campaign_id = create_campaign(session, spec).id
            if refuse_empty and choose_today(session, spec.campaign_type, spec.audience_query).empty:
                raise _nobody_fits(spec)  # rolled back: an empty campaign is not left to find
    except InvalidInput as refused:  # told in the command's words: its options, not the API's fields
        problems = [
            Problem(p.row, p.column and _option(p.column), p.message, field_kind="option") for p in refused.problems
        ]
        raise InvalidInput(refused.what, problems) from None
    return _generated(engine, models, campaign_id, listener)


def generate_again(
    engine: Engine, campaign_id: int, listener: Callable[[int, int, str], None] | None = None
) -> RunSummary:
    """Generate an existing campaign again (one whose generation failed, say), as POST /campaigns/{id}/generate
    does: drafts a person edited, approved or rejected are kept, the untouched ones written again. Refused before
    the models are trained, while it is being generated and once it has sent email (service.campaigns)."""
    models = model_store(home_settings().models_dir)
    require_models(models)
    CampaignSettings()
    LLMSettings()
    with session_scope(engine) as session:
        start_generating(session, campaign_id)
    return _generated(engine, models, campaign_id, listener)


def _generated(
    engine: Engine, models, campaign_id: int, listener: Callable[[int, int, str], None] | None
) -> RunSummary:
    """Run the generation of a campaign marked generating; CampaignFailed naming it and why if it stops, unless a
    later generation of the campaign took it over (GeneratedAgain, told as it is): that one already generated it
    again, and the campaign is not failed."""
    runner = InlineJobRunner(engine, listener)
    try:
        runner.submit("generate", generate_campaign, engine=engine, models=models, campaign_id=campaign_id)
    except GeneratedAgain:
        raise
    except KeyboardInterrupt as interrupted:  # Ctrl-C: the campaign is failed (generate_campaign); which, for the
        interrupted.campaign_id = campaign_id  # command to say, as for any other stop
        raise
    except JobCancelled as cancelled:  # a stop the person asked for (`tailor jobs cancel`): no cause to look for
        raise CampaignFailed(
            f"campaign #{campaign_id}'s generation was {cancelled}; it is kept with the status failed: generate it "
            f"again with `tailor campaigns generate {campaign_id}` to write its drafts."
        ) from cancelled
    except Exception as error:  # the job recorded the error and its trace, and set the campaign failed
        why = error.on_command_line() if isinstance(error, TailorError) else f"{type(error).__name__}: {error}"
        raise CampaignFailed(  # the command line's alone: a server's generation fails its job, not this
            f"campaign #{campaign_id} failed while generating ({why}); it is kept with the status failed: once "
            f"the cause is fixed, generate it again with `tailor campaigns generate {campaign_id}`."
        ) from error
    return RunSummary(campaign_id, runner.last_result)


def _nobody_fits(spec: CampaignIn) -> InvalidInput:
    """Why a campaign run would make an empty campaign: whom its type is for, and that its query left none of them
    (win_back with 'segment = lost' said only "empty", after the campaign was made)."""
    from audience.campaigns import CAMPAIGNS

    rule = CAMPAIGNS[spec.campaign_type]
    for_whom = f"{spec.campaign_type} is for {', '.join(rule.segments) or 'every segment'} ({rule.purpose})"
    if spec.audience_query:
        message = f"no mailable customer fits: {for_whom}, and the audience query leaves none of them"
        return InvalidInput("campaign", [Problem(None, "audience_query", message)])
    message = f"no mailable customer fits: {for_whom}, and no customer is one today"
    return InvalidInput("campaign", [Problem(None, "campaign_type", message)])


def _campaign_spec(**fields: Any) -> CampaignIn:
    """The campaign as the API takes it; InvalidInput naming the command's option for a value it refuses."""
    try:
        return CampaignIn(**fields)
    except ValidationError as error:
        problems = [
            Problem(None, _option(field), _in_words(e), field_kind="option")
            for e in error.errors()
            for field in e["loc"][:1]
        ]
        raise InvalidInput("campaign", problems) from None


def _in_words(error: dict[str, Any]) -> str:
    """A refused option's problem as the API words it (service.app): a name of two lines is said so, not as the
    regular expression it failed."""
    if error["type"] == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == ONE_LINE:
        return NOT_ONE_LINE
    return error["msg"].removeprefix("Value error, ")


def send_now(
    engine: Engine, campaign_id: int, limit: int | None = None, listener: Callable[[int, int, str], None] | None = None,
    links_must_answer: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Send the campaign's approved drafts that are due now through the SMTP server (TAILOR_SMTP_*), at most
    ``limit`` emails, as POST /campaigns/{id}/send does without a schedule: the send job, run in this process.
    Its result: sent, skipped, deferred, waiting (and next_send_at), held_back_count, refused, warnings. This
    process serves no unsubscribe links: unless ``links_must_answer`` is False, nothing is sent while Tailor does
    not answer where they lead (sending.send_campaign)."""
    runner = InlineJobRunner(engine, listener)
    runner.submit(  # CampaignNotFound, and no job recorded, for a campaign that is not there
        "send", send_campaign, engine=engine, campaign_id=campaign_id, limit=limit, links_must_answer=links_must_answer
    )
    return runner.last_result


def send_due_now(
    engine: Engine, listener: Callable[[int, int, str], None] | None = None, links_must_answer: bool = True
) -> dict[str, Any]:
    """Send every campaign's approved drafts that are due now (a send time come, a refused address's time to be tried
    again), as the server's scheduled due-check does: its job, run in this process, so GET /jobs lists it and a
    server's due-check lets its tick pass while it runs. Its result: the due-check's, each due campaign's send
    result by its id under ``campaigns``; or only ``running``, the id of a due-check another process runs now (a
    server's, an earlier cron run's), which sends what is due: a second beside it would share the drafts out. As
    ``send_now``, it sends nothing while Tailor does not answer where the unsubscribe links lead, unless
    ``links_must_answer`` is False. With nothing due it runs no job, as the server's due-check submits none: run
    from cron, each run recorded one that did nothing (and announced it), and they buried the ones that sent."""
    if (running := live_job(engine, "send_due")) is not None:
        return {"running": running}
    if not has_due_drafts(engine):
        return {"campaigns": {}}
    runner = InlineJobRunner(engine, listener)
    try:  # looked for again as its row is written: a server's tick may have submitted one since
        runner.submit_checked(
            "send_due", send_due_drafts, none_live("send_due"), engine=engine, links_must_answer=links_must_answer
        )
    except JobRunning as running:
        return {"running": running.job_id}
    return runner.last_result
