"""Copy generation for a batch of draft requests: group, write each group's copy once, personalize per customer,
render, check, and fall back to the template's copy where a variant fails its checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from generation import templates
from generation.abandonable import as_completed
from generation.brands import BrandKit
from generation.copywriter import CopyVariant, GroupCopy, write_group_copy
from generation.errors import ModelUnavailable
from generation.grouping import group_requests
from generation.guardrails import CHECKS, CheckContext, goal, run_checks
from generation.llm.breaker import ProviderWatch
from generation.locales import in_writing_locale, regional_spelling
from generation.render import render_email
from generation.schemas import Draft, DraftRequest, GenerationResult, GenerationStats, Variant
from generation.settings import LLMSettings

VARIANT_IDS = "ABCDEFGH"
EDIT_CHECKS = tuple(name for name in CHECKS if name != goal.NAME)


def finish_variant(
    request: DraftRequest,
    brand: BrandKit,
    *,
    variant_id: str,
    subject: str,
    preheader: str,
    intro: str,
    product_lines: list[str],
    used_fallback: bool = False,
    edited: bool = False,
    turned_down: Mapping[str, str] | None = None,
) -> Variant:
    """Render one variant for one customer and run every guardrail on it; after a reviewer's edit (``edited``)
    every one but the campaign_goal check, which holds written copy to the campaign's words, not a person. The copy
    is spelt as the customer's region spells its language (``locales.regional_spelling``). ``turned_down`` (check
    name -> reason) says why each check turned down the model's copy that this template copy replaces: it goes on
    that check's result."""
    subject, preheader, intro = (regional_spelling(field, request.customer) for field in (subject, preheader, intro))
    product_lines = [regional_spelling(line, request.customer) for line in product_lines]
    html, text = render_email(
        request, brand, subject=subject, preheader=preheader, intro=intro, product_lines=product_lines
    )
    context = CheckContext(
        request=request, brand=brand, subject=subject, preheader=preheader, intro=intro,
        product_lines=product_lines, html=html, text=text,
    )  # fmt: skip
    turned_down = turned_down or {}
    checks = [
        check.model_copy(update={"turned_down": turned_down[check.name]}) if check.name in turned_down else check
        for check in run_checks(context, EDIT_CHECKS if edited else None)
    ]
    return Variant(
        variant_id=variant_id, subject=subject, preheader=preheader, intro=intro, product_lines=product_lines,
        html=html, text=text, checks=checks, used_fallback=used_fallback,
    )  # fmt: skip


def template_product_lines(request: DraftRequest) -> list[str]:
    lines = templates.strings(request.customer.locale)["product_line"]
    return [lines[i % len(lines)] for i in range(len(request.products))]


def _email_lines(request: DraftRequest, model_lines: dict[str, str], defaults: list[str]) -> list[str]:
    """Each product's model line, else its template line; a template line the email already shows (the model
    copies the examples it is given) gives way to one it does not show, while there is one: an Italian VIP email
    said "Una proposta della nostra gamma per Lei." under its second and third products."""
    written = [model_lines.get(p.product_id) for p in request.products]
    unused = [line for line in templates.strings(request.customer.locale)["product_line"] if line not in written]
    lines = []
    for line, default in zip(written, defaults, strict=True):
        if line is None:
            line = default if default in unused or not unused else unused[0]
        if line in unused:
            unused.remove(line)
        lines.append(line)
    return lines


def personalize(request: DraftRequest, brand: BrandKit, copy: GroupCopy, index: int) -> Variant:
    """The group's variant `index` for one customer. If it fails a check for this customer, the template's
    product lines replace the model's, then the template's copy replaces the rest; a template variant that
    still fails is returned flagged, with its reasons. A template variant's checks say why they turned the model's
    copy down: the group's versions (``copy.turned_down``), or the model's variant for this customer."""
    variant, used_fallback = copy.variants[index]
    defaults = template_product_lines(request)
    lines = _email_lines(request, copy.product_lines, defaults)
    fallbacks = templates.fallback_copies(request.campaign_type, request.customer.locale)
    template = CopyVariant(**fallbacks[index % len(fallbacks)])
    attempts = [(variant, lines, used_fallback), (variant, defaults, used_fallback), (template, defaults, True)]
    turned_down = copy.turned_down if used_fallback else {}
    finished = None
    for copy_variant, product_lines, is_fallback in attempts:
        if finished is not None and _same_email(copy_variant, product_lines, finished):  # its checks would agree
            continue
        # the model's copy says what of it is the template's (a preheader), and why
        why = turned_down if is_fallback else copy_variant.turned_down
        finished = _finish(request, brand, index, copy_variant, product_lines, is_fallback, why)
        if finished.passed:
            break
        if not is_fallback:  # the model's copy, failing for this customer: why the template's replaces it
            turned_down = {check.name: check.reason for check in finished.checks if not check.passed}
    return finished


def _same_email(copy: CopyVariant, product_lines: list[str], finished: Variant) -> bool:
    """Whether ``copy`` over ``product_lines`` is the email ``finished`` is: not when only its intro and lines are
    (the model took the template's intro and wrote a subject of its own: the template's subject was never tried)."""
    written = (copy.subject, copy.preheader, copy.intro, product_lines)
    return written == (finished.subject, finished.preheader, finished.intro, finished.product_lines)


def _finish(
    request, brand, index: int, variant: CopyVariant, lines: list[str], used_fallback: bool, turned_down: dict
) -> Variant:
    return finish_variant(
        request, brand, variant_id=VARIANT_IDS[index], subject=variant.subject, preheader=variant.preheader,
        intro=variant.intro, product_lines=lines, used_fallback=used_fallback, turned_down=turned_down,
    )  # fmt: skip


def generate_drafts(
    requests: Iterable[DraftRequest],
    brand: BrandKit,
    *,
    n_variants: int = 2,
    settings: LLMSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Drafts with `n_variants` checked variants per request, in the requests' order; LLM calls scale with
    groups, not customers. A customer in a language the brand kit or the templates do not cover gets the nearest
    covered one, else the kit's default, with a note on the draft (generation.locales). For more drafts than
    fit in memory at once, `stream_drafts` hands them over a batch at a time."""
    requests = _indexable(requests)
    stats = GenerationStats()
    drafts = {
        draft.customer_id: draft
        for batch in stream_drafts(requests, brand, stats, n_variants=n_variants, settings=settings, progress=progress)
        for draft in batch
    }
    ordered = [drafts[r.customer.customer_id] for r in requests if r.customer.customer_id in drafts]
    return GenerationResult(drafts=ordered, stats=stats)


def stream_drafts(
    requests: Iterable[DraftRequest],
    brand: BrandKit,
    stats: GenerationStats,
    *,
    n_variants: int = 2,
    settings: LLMSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 1_000,
    stop_if_asked: Callable[[], None] | None = None,
) -> Iterator[list[Draft]]:
    """`generate_drafts`' drafts a batch of at most `batch_size` at a time, group by group as each group's copy
    is written (so not in the requests' order), adding to `stats` as they go: a campaign of a million customers
    renders, checks and stores its drafts in pieces, while each group's copy is still written once for all.
    `requests` is read twice, by position: a sequence that builds each request when it is asked for keeps only
    the groups' positions in memory, not a million requests (any other iterable is read into a list first).
    ``stop_if_asked`` is called every half second while the model writes: what it raises (a cancelled job's) stops
    the drafts at once, no group's call begun after it, and the calls in flight abandoned, their copy dropped
    (``generation.abandonable``); closing the iterator does the same. ``progress`` hears (drafts written, total) at
    the start, after each draft written within a batch, and after each batch is handed over (its last draft's
    count): a group of thousands of customers moves draft by draft, not all at once when its batch is done. It is
    called as often as drafts are written, so a listener that writes somewhere throttles itself."""
    requests = _indexable(requests)
    settings = settings or LLMSettings()
    n_variants = max(1, min(n_variants, len(VARIANT_IDS)))
    started = time.perf_counter()
    # Read once to group them, then once more group by group as their drafts are written: the requests may be
    # built from the campaign's data as they are asked for (a million need not be held at once).
    groups = group_requests(in_writing_locale(request, brand)[0] for request in requests)
    for group in groups:
        templates.fallback_copies(group.campaign_type, group.locale)  # fail early on bad input
    watch = ProviderWatch()  # after a failure before any answer, the groups left make no call
    stats.groups += len(groups)
    done, total = 0, len(requests)
    if progress:
        progress(0, total)
    model_answered = False
    # Groups the provider failed (or the model did not answer in time) before the model had answered once: a setting
    # may be wrong or the provider down, and a campaign of template copy would hide that. They wait until another
    # group answers (then a failure is a passing one, and they get template copy), or fail the campaign at the end,
    # whichever group finished first.
    waiting: list[tuple[int, GroupCopy]] = []
    copies = as_completed(
        lambda group: write_group_copy(group, brand, n_variants, settings, watch),
        groups,
        settings.concurrency,
        while_waiting=stop_if_asked,
        abandon=watch.abandon,
    )
    for index, copy in copies:
        model_answered = model_answered or copy.answered
        if copy.unavailable and not model_answered:
            waiting.append((index, copy))
            continue
        ready, waiting = [*waiting, (index, copy)], []
        for group_index, group_copy in ready:
            _add_usage(stats, group_copy)
            members = groups[group_index].members
            for first in range(0, len(members), batch_size):
                batch = []
                for position in members[first : first + batch_size]:
                    request, notes = in_writing_locale(requests[position], brand)
                    variants = [personalize(request, brand, group_copy, i) for i in range(len(group_copy.variants))]
                    batch.append(
                        Draft(
                            customer_id=request.customer.customer_id, campaign_type=request.campaign_type,
                            locale=request.customer.locale, variants=variants, notes=[*notes, *_product_notes(request)],
                        )
                    )  # fmt: skip
                    stats.fallbacks += sum(v.used_fallback for v in variants)
                    if progress and len(batch) < batch_size and first + len(batch) < len(members):
                        progress(done + len(batch), total)  # the batch's last is told once it is handed over
                done += len(batch)
                stats.seconds = round(time.perf_counter() - started, 3)
                yield batch
                if progress:
                    progress(done, total)
    if waiting:
        raise ModelUnavailable(waiting[0][1].unavailable)
    stats.seconds = round(time.perf_counter() - started, 3)


def _indexable(requests: Iterable[DraftRequest]) -> Sequence[DraftRequest]:
    """``requests`` as a sequence that can be read again by position: a generator or a dict's values, as a list."""
    return requests if isinstance(requests, Sequence) else list(requests)


def _product_notes(request: DraftRequest) -> list[str]:
    """A note for the reviewer when the email would show no product: its copy speaks of products all the same."""
    if request.products:
        return []
    why = (
        "none of what this customer bought is in stock and bought again by the shop's customers"
        if request.campaign_type == "replenishment"
        else "the recommender found none this customer may be shown (all bought, out of stock or left out by the "
        "campaign's rules)"
    )
    return [f"No products to show: {why}. Reject the draft, or send it knowing it names no product."]


def _add_usage(stats: GenerationStats, copy: GroupCopy) -> None:
    stats.llm_calls += copy.llm_calls
    stats.cache_hits += copy.cache_hits
    stats.invalid_answers += copy.invalid_answers
    stats.timeouts += copy.timeouts
    stats.schema_valid_first += int(copy.valid_first_try)
    stats.template_only_groups += int(copy.template_only)
    stats.unavailable_groups += int(copy.unavailable is not None)
    for total, counts in (
        (stats.rejected_by_check, copy.rejected_by_check),
        (stats.lines_rejected_by_check, copy.lines_rejected_by_check),
    ):
        for name, count in counts.items():
            total[name] = total.get(name, 0) + count
    stats.prompt_tokens += copy.usage.prompt_tokens
    stats.completion_tokens += copy.usage.completion_tokens
    stats.cost_usd += copy.usage.cost_usd
