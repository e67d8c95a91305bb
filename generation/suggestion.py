"""One new version of one variant's copy (subject, preheader, intro), asked of the configured model for a
copywriter, with a note of theirs ("warmer", "mention the gift first") when they give one.

The note is the copywriter's instruction, so it is told to the model as one, not as data; but it is one line of at
most ``NOTE_MAX`` characters, and the version it brings meets every check model copy meets (grounding, claims,
injection, structure, language, the campaign's goal...): a note asking for "50 % off" gets no discount the data does
not hold. A version turned down is asked for again with the checks' reasons, as the campaign's copy is
(`generation.copywriter`), within ``max_retries`` and ``suggestion_deadline`` (a copywriter waits for it, so it is
far shorter than a campaign group's ``group_deadline``, which caps it); when none passes, SuggestionTurnedDown says
why, and no unchecked copy is returned. Nothing is cached: asking again is asking for another version. The product
lines stay the variant's own.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from generation import templates
from generation.brands import BrandKit
from generation.copywriter import SEGMENT_WORDS, CopyVariant, add_usage, clean_data, short_reason
from generation.diversity import is_near_duplicate
from generation.errors import GenerationError, ModelOutputInvalid, ModelTimedOut
from generation.guardrails import COPY_CHECKS, CheckContext, run_checks
from generation.guardrails.length import LIMITS
from generation.guardrails.structure import plain_words
from generation.invisible import first_direction_control, visible
from generation.llm import Usage, complete_json, model_locales
from generation.pipeline import finish_variant
from generation.render import offer_text
from generation.schemas import NOTE_MAX, DraftRequest, Variant
from generation.settings import LLMSettings
from generation.tidy import drop_repeated_opening, tidy

FIELDS = ("subject", "preheader", "intro")
# What the retry message and SuggestionTurnedDown call a version that is the variant's copy again
SAME_AS_NOW = "same_copy"
# What they call an answer that did not fit the JSON asked for
NOT_JSON = "format"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class NoteInvalid(GenerationError):
    """A copywriter's note the model is not told: over ``NOTE_MAX`` characters, or more than one line."""


class LocaleNotWritten(GenerationError):
    """The configured model is not asked to write the draft's language (TAILOR_LLM_LOCALES, or its registration)."""


class SuggestionTurnedDown(GenerationError):
    """Every version the model wrote failed a check; ``reasons`` (check name, why) are the last version's."""

    def __init__(self, reasons: list[tuple[str, str]], versions: int) -> None:
        self.reasons, self.versions = reasons, versions
        said = "; ".join(f"{name}: {why}" for name, why in reasons)
        super().__init__(
            f"The model's {versions} version{'s' if versions != 1 else ''} of this copy failed the checks "
            f"(the last: {said}). Nothing was changed: ask again, perhaps with another note, or edit the copy yourself."
        )


@dataclass
class Suggestion:
    """A version that passed the copy checks, rendered over the variant's product lines with every check's result."""

    variant: Variant
    versions: int  # the model's versions asked for, this one included
    usage: Usage = field(default_factory=Usage)


def checked_note(note: str) -> str:
    """The note as the model is told it, and the copywriter's page says it again: the characters that take no room
    and spaces at either end dropped; NoteInvalid when it is too long, not one line (a line break would start an
    instruction of its own in the prompt) or holds a direction control (generation.invisible: the page showed the
    note, and what followed it on the line, in another order than it was written)."""
    if (found := first_direction_control(note)) is not None:
        raise NoteInvalid(f"the note's {found}, which shows it in another order than it is written; delete it")
    note = visible(note).strip()
    if len(note) > NOTE_MAX:
        raise NoteInvalid(f"the note is {len(note):,} characters long; at most {NOTE_MAX}")
    if _CONTROL.search(note):
        raise NoteInvalid("the note must be one line: it holds a line break, a tab or another control character")
    return re.sub(r"</?\s*data\s*>", " ", note, flags=re.I)


def suggest_copy(
    request: DraftRequest,
    brand: BrandKit,
    current: CopyVariant,
    product_lines: list[str],
    *,
    note: str = "",
    variant_id: str = "A",
    settings: LLMSettings | None = None,
) -> Suggestion:
    """One new version of ``current`` for ``request``'s customer, written by the configured model with ``note``
    told as the copywriter's wish, checked as all model copy is and rendered over ``product_lines``. Raises
    NoteInvalid, LocaleNotWritten, SuggestionTurnedDown (no version passed), and the gateway's ModelUnavailable or
    ModelTimedOut (no answer by ``suggestion_deadline`` seconds from the call, at most ``group_deadline``: the
    deadline bounds the whole, and its message names it)."""
    settings = settings or LLMSettings()
    note = checked_note(note)
    locale = request.customer.locale
    locales = model_locales(settings)
    if locales is not None and locale not in locales:
        raise LocaleNotWritten(
            f"The model '{settings.model}' (TAILOR_LLM_MODEL) is not asked to write {locale} (it writes "
            f"{', '.join(sorted(locales))}; TAILOR_LLM_LOCALES): edit this copy yourself, or configure a model that "
            "writes it."
        )
    schema = _schema(request, current)
    instructions = "\n".join(m["content"] for m in _messages(request, brand, None, "", "-"))
    waits = min(settings.suggestion_deadline, settings.group_deadline)
    deadline = time.perf_counter() + waits
    usage, reasons, problems, versions = Usage(), [], "", 0
    for attempt in range(settings.max_retries + 1):
        if attempt and time.perf_counter() >= deadline:
            break
        versions += 1
        messages = _messages(request, brand, current, note, problems)
        try:
            answer, spent = complete_json(messages, schema, settings, deadline=deadline)
            add_usage(usage, spent)
            version = _parsed(answer, brand, locale)
        except ModelTimedOut as slow:  # the suggestion's deadline is named, not the group's it was given as
            if slow.limit != "ends_at":
                raise
            raise ModelTimedOut(_too_slow(settings, waits), slow.limit) from slow
        except ModelOutputInvalid as invalid:
            if invalid.usage is not None:
                add_usage(usage, invalid.usage)
            reasons = [(NOT_JSON, f"the answer did not fit the JSON asked for ({short_reason(invalid)})")]
            problems = f"it did not fit the required JSON format ({short_reason(invalid)})"
            continue
        reasons = _failed(request, brand, version, current, instructions)
        if not reasons:
            variant = finish_variant(
                request, brand, variant_id=variant_id, subject=version.subject, preheader=version.preheader,
                intro=version.intro, product_lines=product_lines,
            )  # fmt: skip
            return Suggestion(variant=variant, versions=versions, usage=usage)
        problems = "; ".join(why for _, why in reasons[:4])
    raise SuggestionTurnedDown(reasons, versions)


def _too_slow(settings: LLMSettings, waits: float) -> str:
    """What ModelTimedOut says when the suggestion's deadline ran out, naming the setting that set it."""
    setting = (
        "TAILOR_LLM_SUGGESTION_DEADLINE" if waits == settings.suggestion_deadline
        else "TAILOR_LLM_GROUP_DEADLINE, which caps TAILOR_LLM_SUGGESTION_DEADLINE"
    )  # fmt: skip
    return f"The model '{settings.model}' did not answer within {waits:g} s, as long as a suggestion waits ({setting})."


def _messages(
    request: DraftRequest, brand: BrandKit, current: CopyVariant | None, note: str, problems: str
) -> list[dict[str, str]]:
    """The system message campaigns are written with, and the request for one new version; without ``current``,
    the instructions alone (no data, no copy, no note), which the copy must not repeat."""
    locale = request.customer.locale
    system = templates.render_file("llm/system.j2", brand=brand, language=templates.LANGUAGE_NAMES.get(locale, locale))
    with_data = current is not None
    user = templates.render_file(
        "llm/suggestion.j2",
        goal=templates.campaign(request.campaign_type)["goal"],
        goal_words=templates.goal_words(request.campaign_type, locale)[:4],
        segment_description=SEGMENT_WORDS.get(request.customer.segment, "customers of the shop"),
        offer_text=offer_text(request.offer, "en", request.currency) if with_data and request.offer else "",
        products=[
            {"label": f"p{i + 1}", "category": clean_data(p.category, 40), "description": clean_data(p.description)}
            for i, p in enumerate(request.products if with_data else [])
        ],
        current={name: clean_data(getattr(current, name), 300) for name in FIELDS} if with_data else None,
        note=note,
        problems=problems,
    )
    return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]


def _schema(request: DraftRequest, current: CopyVariant) -> dict:
    """One version's JSON schema; its example (which only the fake model reads) is a template copy of the campaign
    other than ``current``, so that the fake model suggests something new."""
    copies = templates.fallback_copies(request.campaign_type, request.customer.locale)
    other = next((c for c in copies if not _nearly_current(CopyVariant(**c), current)), copies[0])
    return {
        "type": "object",
        "properties": {name: {"type": "string"} for name in FIELDS},
        "required": list(FIELDS),
        "additionalProperties": False,
        "examples": [{name: other[name] for name in FIELDS}],
    }


def _parsed(answer: dict, brand: BrandKit, locale: str) -> CopyVariant:
    """The answer's fields tidied as the campaign's copy is; ModelOutputInvalid when one is missing or empty."""
    fields = {name: tidy(answer.get(name) or "", name, brand, locale) for name in FIELDS}
    fields["intro"] = drop_repeated_opening(
        fields["intro"], [fields["subject"], fields["preheader"]], LIMITS["intro"][0]
    )
    if missing := [name for name in FIELDS if not fields[name]]:
        raise ModelOutputInvalid(f"the answer had no {' or '.join(missing)}")
    return CopyVariant(**fields)


def _failed(
    request: DraftRequest, brand: BrandKit, version: CopyVariant, current: CopyVariant, instructions: str
) -> list[tuple[str, str]]:
    """(check name, why) for each copy check ``version`` fails, and for being ``current`` again, or nearly."""
    context = CheckContext(
        request=request, brand=brand, subject=version.subject, preheader=version.preheader, intro=version.intro,
        product_lines=[], instructions=instructions,
    )  # fmt: skip
    failed = [(c.name, c.reason) for c in run_checks(context, COPY_CHECKS) if not c.passed]
    if _nearly_current(version, current):
        failed.append((SAME_AS_NOW, "it is the current copy again, or nearly; write a different version"))
    return failed


def _nearly_current(version: CopyVariant, current: CopyVariant) -> bool:
    """Whether ``version`` is ``current`` again, or nearly: the same subject over words mostly the same (the local
    model, asked for "warmer", kept the subject and preheader and cut the intro's second sentence). A new subject
    alone is a new version: a note may ask for one ("shorter subject")."""
    whole = [" ".join(getattr(copy, name) for name in FIELDS) for copy in (version, current)]
    return plain_words(version.subject) == plain_words(current.subject) and is_near_duplicate(whole[0], whole[1:])
