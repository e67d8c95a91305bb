"""Writes one group's copy with the LLM: a langchain-core chain of prompt -> litellm -> parse and check,
retried with the problems told to the model, then falling back to the template's own copy.

The model writes only words: subject, preheader and intro per variant, and one short line per product. A
group in a locale the model is not asked to write (`generation.llm.model_locales`) gets the template's copy
without a call.

What the local model's rejected copy fails on (a development sample: demo store seed 11, 20 English customers,
hearth, EVAL_SEED 7, one call at a time; main kept 0.225 of variants): "structure" mostly as the preheader or intro
repeating the subject (the model copies the prompt's example, the campaign's own template copy, into several
fields), "injection" as product lines that lift the product's description whole (rightly refused: that is how an
instruction hidden in the data would reach a customer). Tried without gain there: asking in the prompt that the
fields not repeat each other and that lines not copy the description (0.175); a retry message telling each reason
once, without the "version 1: ... product line 1" labels the model copied into subjects (0.325 there, but the quick
eval's 0.45 fell to 0.225 and `tailor demo`'s template share rose from 82 % to 100 %: reverted); grammar patterns in
the JSON schema (two words or more, no digits, markup or link characters: the failing shapes went, but sampling
slowed to 2.5-4.9 tokens/s from 4.5-5.8 and the quick eval timed out 7 calls of 9 on a loaded machine; untimed on an
idle one); forcing lines to end on . ! ? (the model looped); labelling products "p1 (Tea): ..." (it wrote "P1").
The example is what keeps the copy on the campaign's goal (same sample, LLM seeds 7/8/9; as it is: 0.225, 0.35,
0.5): without an example, 0.0 and 0.0 (every answer turned down, mostly for length, structure and the campaign's
goal); an example written for the structure alone ("a few words that say what the email is for", "a different
phrase that adds one detail", ...), 0.025 and 0.025 (the goal missed 42 times of 80).

A version turned down only because its preheader repeats its subject keeps its subject and intro with the
template's preheader, once that copy passes every check; its structure check says the preheader is the template's
(`turned_down`). On the quick eval (hearth, EVAL_SEED 7, the same 19 answers) model copy kept rose from 0.45 to 0.60,
0.15 of the variants with the template's preheader, none flagged. So does a version whose intro repeats its
preheader (the model wrote "Picked to go with your last order" as both, the intro with a full stop): then the
preheader is the template's, or else the intro; and one whose intro repeats its subject keeps its subject and
preheader with the template's intro.

The system message names the brand, what its kit says the shop sells (`shop`) and its voice. The kit's audience,
reading level and preferred words are not in it: on the quick eval's sample, hearth and atelier (kept 0.45 and 0.30
as it is), a line for each gave 0.375 and 0.15, all three in the voice's line 0.15 and 0.05.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, Field, ValidationError

from generation import templates
from generation.brands import BrandKit
from generation.diversity import is_near_duplicate
from generation.errors import ModelOutputInvalid, ModelTimedOut, ModelUnavailable
from generation.grouping import Group
from generation.guardrails import COPY_CHECKS, CheckContext, run_checks, structure
from generation.guardrails.claims import short_words
from generation.guardrails.length import LIMITS
from generation.guardrails.structure import plain_words, repeats
from generation.llm import Usage, complete_json, model_locales
from generation.llm.breaker import ProviderWatch
from generation.render import offer_text
from generation.schemas import CheckResult, DraftRequest
from generation.settings import LLMSettings
from generation.tidy import drop_repeated_opening, tidy

_ENDS_SENTENCE = re.compile(r"[.!?…]\W*$")

SEGMENT_WORDS = {
    "champions": "our best and most frequent customers",
    "loyal": "loyal customers who order regularly",
    "potential_loyalists": "recent customers who are starting to order regularly",
    "new": "customers who placed their first order recently",
    "at_risk": "good customers who have not ordered for a while",
    "cant_lose": "former top customers who have stopped ordering",
    "hibernating": "occasional customers who have been quiet for a long time",
    "lost": "customers who have not ordered for a very long time",
}
_CACHE: dict[str, dict[str, Any]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_LIMIT = 4096


class CopyVariant(BaseModel):
    subject: str = Field(min_length=1)
    preheader: str = Field(min_length=1)
    intro: str = Field(min_length=1)
    # check name -> why it turned down the model's preheader or intro, which the template's replaces in this variant
    # of the model's copy (the rest is the model's); empty when every word is the model's, or the template's
    turned_down: dict[str, str] = Field(default_factory=dict)


@dataclass
class GroupCopy:
    """What one group's emails share: variants of copy and a line per product (None: use the template line)."""

    variants: list[tuple[CopyVariant, bool]]  # (copy, used_fallback)
    product_lines: dict[str, str]
    usage: Usage = field(default_factory=Usage)
    llm_calls: int = 0
    cache_hits: int = 0
    invalid_answers: int = 0
    timeouts: int = 0
    valid_first_try: bool = False
    rejected_by_check: dict[str, int] = field(default_factory=dict)  # model versions each check turned down
    # model product lines turned down, by check, or as ``NOT_ITS_OWN`` (`_reads_as_its_own`): the template's line
    # replaces each, not the version's copy
    lines_rejected_by_check: dict[str, int] = field(default_factory=dict)
    template_only: bool = False  # the model does not write this locale: template copy, no call
    # check name -> why it turned down a version of the model's copy (the latest such reason): what the group's
    # template variants say they replaced, so a copywriter reads which check the model keeps failing
    turned_down: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None  # why the model could not be used for this group (a provider error, no answer)
    answered: bool = False  # the model answered at least one of this group's calls (or the cache held one)


def copy_schema(n_variants: int, product_labels: list[str], examples: list[dict], line_examples: list[str]) -> dict:
    """The JSON schema the model must fill; `examples` carry the template copy (the fake model echoes them).

    No string length bounds: llama.cpp's grammar makes bounded repetition about four times slower to sample;
    max_tokens bounds the answer, and tidy() and the length check bound each field.
    """
    variant = {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "preheader": {"type": "string"},
            "intro": {"type": "string"},
        },
        "required": ["subject", "preheader", "intro"],
        "additionalProperties": False,
    }
    lines = {
        label: {"type": "string", "examples": [line_examples[i % len(line_examples)]]}
        for i, label in enumerate(product_labels)
    }
    return {
        "type": "object",
        "properties": {
            "variants": {
                "type": "array",
                "items": variant,
                "minItems": n_variants,
                "maxItems": n_variants,
                "examples": [[examples[i % len(examples)] for i in range(n_variants)]],
            },
            "product_lines": {
                "type": "object",
                "properties": lines,
                "required": product_labels,
                "additionalProperties": False,
            },
        },
        "required": ["variants", "product_lines"],
        "additionalProperties": False,
    }


def clean_data(text: str, limit: int = 200) -> str:
    """Data goes into the prompt as data: no delimiter look-alikes, one line, bounded length."""
    text = re.sub(r"</?\s*data\s*>", " ", text, flags=re.I)
    return " ".join(text.split())[:limit]


def build_messages(
    group: Group, brand: BrandKit, n_variants: int, problems: str = "", with_data: bool = True
) -> list[dict[str, str]]:
    """The system and user messages that ask for the group's copy; without data (``with_data`` False: no products,
    offer or example), the instructions alone, which the copy must not repeat."""
    products = group.products() if with_data else []
    first = group.first
    # The campaign's own template copy is the example: on the campaign's goal, where the brand's examples (its
    # voice, told in the system message) are not: the model wrote win-back copy off the brand's tea example. Both it
    # and the goal words are the group's language's: a German group was shown English ones ("miss, while, back")
    # while told to write only in German, and its copy is held to the German words (campaign_goal).
    example = templates.fallback_copies(group.campaign_type, group.locale)[0] if with_data else None
    goal_words = templates.goal_words(group.campaign_type, group.locale)
    system = templates.render_file(
        "llm/system.j2", brand=brand, language=templates.LANGUAGE_NAMES.get(group.locale, group.locale)
    )
    user = templates.render_file(
        "llm/user.j2",
        goal=templates.campaign(group.campaign_type)["goal"],
        goal_words=goal_words[:4],
        segment_description=SEGMENT_WORDS.get(group.segment, "customers of the shop"),
        # in the shop's currency, as the email states it: a British shop's model was told "Enjoy €5 off"
        offer_text=offer_text(first.offer, "en", first.currency) if with_data else "",
        products=[
            {"label": f"p{i + 1}", "category": clean_data(p.category, 40), "description": clean_data(p.description)}
            for i, p in enumerate(products)
        ],
        n_variants=n_variants,
        example=example,
        problems=problems,
    )
    return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]


def _cache_key(settings: LLMSettings, messages: list[dict], schema: dict) -> str:
    blob = json.dumps(
        [settings.model, settings.temperature, settings.seed, messages, schema], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _group_request(group: Group) -> DraftRequest:
    """A request standing for the whole group when checking shared copy: its products are the group's."""
    first = group.first
    return first.model_copy(update={"products": group.products()})


def _instructions(group: Group, brand: BrandKit, n_variants: int) -> str:
    """What the group's model is told, its data left out, a retry's request to fix the answer included."""
    messages = build_messages(group, brand, n_variants, problems="-", with_data=False)
    return "\n".join(message["content"] for message in messages)


def _problems(checked: _CheckedCopy, variants: list[CopyVariant], lines: dict[str, str]) -> list[tuple[str, str]]:
    """(check name, what to tell the model) for every check a version of the answer fails."""
    problems = []
    for i, variant in enumerate(variants):
        problems += [(c.name, f"version {i + 1}: {c.reason}") for c in checked.copy(variant, lines) if not c.passed]
    return problems


def write_group_copy(
    group: Group, brand: BrandKit, n_variants: int, settings: LLMSettings, watch: ProviderWatch | None = None
) -> GroupCopy:
    """The group's copy: the model's versions that pass the checks (asked again, told what was wrong, up to
    ``max_retries`` times within ``group_deadline``), else the templates'. With ``watch``, no call is made once the
    campaign's provider failed before it ever answered (``unavailable`` says why), and this group's failure or
    answer is told to it."""
    watch = watch or ProviderWatch()
    fallbacks = templates.fallback_copies(group.campaign_type, group.locale)
    result = GroupCopy(variants=[], product_lines={})
    locales = model_locales(settings)
    if locales is not None and group.locale not in locales:
        result.template_only = True
        result.variants, result.product_lines, _ = _choose_variants(
            _CheckedCopy(group, brand, ""), [], fallbacks, n_variants
        )
        return result
    line_examples = templates.strings(group.locale)["product_line"]
    products = group.products()
    labels = [f"p{i + 1}" for i in range(len(products))]
    schema = copy_schema(n_variants, labels, fallbacks, line_examples)

    def answered() -> None:  # the model answered (or the cache held its answer): told to the campaign too
        result.answered = True
        watch.answered()

    def call(messages: list[dict]) -> dict[str, Any]:
        key = _cache_key(settings, messages, schema)
        if settings.cache and key in _CACHE:
            result.cache_hits += 1
            answered()
            return _CACHE[key]
        result.llm_calls += 1
        try:
            answer, usage = complete_json(
                messages, schema, settings, deadline=started + settings.group_deadline, abandoned=watch.abandoned
            )
        except ModelOutputInvalid as invalid:  # an answer that cannot be used was still paid for
            answered()
            if invalid.usage is not None:
                add_usage(result.usage, invalid.usage)
            raise
        answered()
        add_usage(result.usage, usage)
        if settings.cache:
            with _CACHE_LOCK:
                if len(_CACHE) >= _CACHE_LIMIT:
                    _CACHE.clear()
                _CACHE[key] = answer
        return answer

    def parse(answer: dict[str, Any]) -> tuple[list[CopyVariant], dict[str, str]]:
        variants = []
        for raw in answer.get("variants") or []:
            if isinstance(raw, dict):
                fields = {
                    name: tidy(raw.get(name) or "", name, brand, group.locale)
                    for name in ("subject", "preheader", "intro")
                }
                fields["intro"] = drop_repeated_opening(
                    fields["intro"], [fields["subject"], fields["preheader"]], LIMITS["intro"][0]
                )
                if all(fields.values()):
                    variants.append(CopyVariant(**fields))
        raw_lines = answer.get("product_lines") or {}
        lines = {
            p.product_id: tidy(raw_lines[label], "product line", brand, group.locale)
            for p, label in zip(products, labels, strict=True)
            if isinstance(raw_lines, dict) and raw_lines.get(label)
        }
        if not variants:
            raise ModelOutputInvalid("the answer had no complete version with subject, preheader and intro")
        return variants, lines

    attempt = (
        RunnableLambda(lambda problems: build_messages(group, brand, n_variants, problems))
        | RunnableLambda(call)
        | RunnableLambda(parse)
    )

    answers: list[tuple[list[CopyVariant], dict[str, str]]] = []  # every parsed answer, first to last
    instructions = _instructions(group, brand, n_variants)
    checked = _CheckedCopy(group, brand, instructions)
    problems = ""
    started = time.perf_counter()
    for attempt_number in range(settings.max_retries + 1):
        if attempt_number and time.perf_counter() - started > settings.group_deadline:
            break
        if stopped := watch.stopped:
            result.unavailable = stopped
            break
        try:
            variants, lines = attempt.invoke(problems)
        except ModelTimedOut as error:
            result.timeouts += 1
            if not result.answered:
                result.unavailable = str(error)
                watch.failed(str(error))
            break  # a slow model stays slow: the template copy is the answer for this group
        except ModelUnavailable as error:
            result.unavailable = str(error)
            watch.failed(str(error))
            break  # the campaign decides (generate_drafts): fail if the model never answered, else template copy
        except (ModelOutputInvalid, ValidationError) as error:
            result.invalid_answers += 1
            problems = f"it did not fit the required JSON format ({short_reason(error)})"
            continue
        found = _problems(checked, variants, lines)
        if attempt_number == 0:
            result.valid_first_try = True
        answers.append((variants, lines))
        _count_turned_down(result, checked, variants, lines)
        if not found:
            break
        problems = "; ".join(reason for _, reason in found[:4])
    result.variants, result.product_lines, result.turned_down = _choose_variants(
        checked, answers, fallbacks, n_variants
    )
    return result


class _CheckedCopy:
    """The copy checks' results for a group's versions, with the answer's product lines and alone, and for its product
    lines alone, by the text judged: `_count_turned_down` and `_choose_variants` judge the same versions and lines,
    and a retry may answer one again, so each is checked once (a check reads nothing but its context: the group's
    request, the brand kit and the instructions, which stay the same here, and the text)."""

    def __init__(self, group: Group, brand: BrandKit, instructions: str) -> None:
        self.request = _group_request(group)
        self.brand = brand
        self.instructions = instructions
        self._results: dict[tuple, list[CheckResult]] = {}

    def copy(self, variant: CopyVariant, lines: dict[str, str]) -> list[CheckResult]:
        """The checks of a version with the answer's product lines (what the model is told to fix)."""
        key = ("copy", variant.subject, variant.preheader, variant.intro, tuple(lines.items()))
        if key not in self._results:
            self._results[key] = run_checks(self.variant_context(variant, lines), COPY_CHECKS)
        return self._results[key]

    def variant_context(self, variant: CopyVariant, lines: dict[str, str] | None = None) -> CheckContext:
        """What the checks read of one version, with ``lines`` (product id: line) or without product lines."""
        lines = lines or {}
        return CheckContext(
            request=self.request, brand=self.brand, subject=variant.subject, preheader=variant.preheader,
            intro=variant.intro, product_lines=list(lines.values()), line_products=list(lines),
            instructions=self.instructions,
        )  # fmt: skip

    def variant(self, variant: CopyVariant) -> list[CheckResult]:
        key = ("variant", variant.subject, variant.preheader, variant.intro)
        if key not in self._results:
            self._results[key] = run_checks(self.variant_context(variant), COPY_CHECKS)
        return self._results[key]

    def line(self, product_id: str, line: str) -> list[CheckResult]:
        key = ("line", product_id, line)
        if key not in self._results:
            context = _line_context(self.request, self.brand, product_id, line, self.instructions)
            self._results[key] = run_checks(context, COPY_CHECKS)
        return self._results[key]


# What ``lines_rejected_by_check`` counts a product line under that reads as no finished line about its product
NOT_ITS_OWN = "not_about_its_product"


def _count_turned_down(
    result: GroupCopy, checked: _CheckedCopy, variants: list[CopyVariant], lines: dict[str, str]
) -> None:
    """Count, in ``result``, the checks each version of an answer fails on its own, and those each of its product
    lines fails, as `_choose_variants` judges them: a line's failure counted in every version (as the retry's
    message tells it) read as the versions' (a demo's "turned down by injection 12" was six lines lifted from their
    products' descriptions, each counted twice, none of it a version's)."""
    for variant in variants:
        for check in checked.variant(variant):
            if not check.passed:
                result.rejected_by_check[check.name] = result.rejected_by_check.get(check.name, 0) + 1
    # A check's reason comes first: a line lifted from the instructions is about no product either.
    for product_id, line in lines.items():
        failed = [check.name for check in checked.line(product_id, line) if not check.passed]
        if not failed and not _reads_as_its_own(line, checked.request, product_id):
            failed = [NOT_ITS_OWN]
        for name in failed:
            result.lines_rejected_by_check[name] = result.lines_rejected_by_check.get(name, 0) + 1


def add_usage(total: Usage, call: Usage) -> None:
    for name in ("prompt_tokens", "completion_tokens", "cost_usd", "seconds"):
        setattr(total, name, getattr(total, name) + getattr(call, name))


def _choose_variants(
    checked: _CheckedCopy, answers: list, fallbacks: list[dict], n_variants: int
) -> tuple[list[tuple[CopyVariant, bool]], dict[str, str], dict[str, str]]:
    """Model variants from any attempt that pass the copy checks and are not near-duplicates, topped up with
    template copy; per product, the first model line from any attempt that passes on its own; and, by check, the
    latest reason a check gave for turning a model variant down."""
    chosen: list[tuple[CopyVariant, bool]] = []
    lines: dict[str, str] = {}
    turned_down: dict[str, str] = {}
    request = checked.request
    for variants, answer_lines in answers:
        for variant in variants:
            if len(chosen) >= n_variants:
                break
            failed = [check for check in checked.variant(variant) if not check.passed]
            context = checked.variant_context(variant)
            if failed and (salvaged := _with_template_field(variant, failed, context, fallbacks, len(chosen))):
                variant, failed = salvaged, []
            turned_down.update((check.name, check.reason) for check in failed)
            if failed:
                continue
            if is_near_duplicate(_idea(variant), [_idea(v) for v, _ in chosen]) or _same_subject(variant, chosen):
                continue
            chosen.append((variant, False))
        for product_id, line in answer_lines.items():  # one model line a product: two products sharing one get
            if (
                product_id not in lines and line not in lines.values()
                and _reads_as_its_own(line, request, product_id)
                and all(check.passed for check in checked.line(product_id, line))
            ):  # fmt: skip
                lines[product_id] = line  # it for the first, the template's line for the second
    for i in range(len(fallbacks) * 2):
        if len(chosen) >= n_variants:
            break
        variant = CopyVariant(**fallbacks[i % len(fallbacks)])
        if i < len(fallbacks) and (
            is_near_duplicate(_idea(variant), [_idea(v) for v, _ in chosen]) or _same_subject(variant, chosen)
        ):
            continue
        chosen.append((variant, True))
    return chosen[:n_variants], lines, turned_down


# How a kept variant of the model's copy says which of its fields is the template's (`_with_template_field`)
TEMPLATE_FIELD = "so the {field} is the template's"


def _with_template_field(
    variant: CopyVariant, failed: list, context: CheckContext, fallbacks: list[dict], slot: int
) -> CopyVariant | None:
    """The model's copy with one field the template's, when all the variant failed was its structure and that field
    repeats another (the local model copies the subject into the preheader, and the preheader into the intro) and
    the copy then passes every check; else None (without it, the whole variant went to template copy for the one
    field). The preheader is tried first, then the intro: the subject is always the model's. Its ``turned_down`` says
    which field is the template's, and why; the template's variants are tried from the one of its `slot`."""
    if [check.name for check in failed] != [structure.NAME]:
        return None
    for name in _repeating_fields(variant):
        kept = " and ".join(other for other in ("subject", "preheader", "intro") if other != name)
        why = f"{failed[0].reason}, {TEMPLATE_FIELD.format(field=name)}; the {kept} are the model's"
        for template in fallbacks[slot % len(fallbacks) :] + fallbacks[: slot % len(fallbacks)]:
            if all(c.passed for c in run_checks(replace(context, **{name: template[name]}), COPY_CHECKS)):
                return variant.model_copy(update={name: template[name], "turned_down": {structure.NAME: why}})
    return None


def _repeating_fields(variant: CopyVariant) -> list[str]:
    """The fields of ``variant`` that repeat another, the preheader before the intro: of a preheader the intro
    repeats, both ("Picked to go with your last order" and "Picked to go with your last order."), where the intro
    says more when they differ."""
    preheader_repeats = repeats(variant.preheader, variant.subject) or repeats(variant.intro, variant.preheader)
    intro_repeats = repeats(variant.intro, variant.subject) or repeats(variant.intro, variant.preheader)
    return [name for name, repeating in (("preheader", preheader_repeats), ("intro", intro_repeats)) if repeating]


def _same_subject(variant: CopyVariant, chosen: list[tuple[CopyVariant, bool]]) -> bool:
    """Whether a chosen variant has the same subject line: an A/B test of two emails that open alike in the inbox
    compares nothing an open rate can tell (the model's and the template's both wrote "Picked to go with your last
    order")."""
    return plain_words(variant.subject) in {plain_words(v.subject) for v, _ in chosen}


def _stems(*texts: str) -> set[str]:
    """Words of four letters or more, compared by their first five: "biscuit" and "biscuits", "roast" and
    "roasted"."""
    return {word[:5] for word in short_words(*texts)}


def _reads_as_its_own(line: str, request: DraftRequest, product_id: str) -> bool:
    """Whether a model's product line reads as a finished line about its own product, beyond what the checks ask of
    any copy (a person's edit too): it ends its sentence, names no size or variant in brackets ("Pretzel Biscuits
    (250 g)", another product's name), and shares a word with its product's name, category or description. The
    local model wrote lines about other products, about its own answer ("So here is a possible revision of the
    previous version") and half sentences ("… to our shop today, featuring a new dessert"); a line that misses is
    the template's line instead, which is always true of its product."""
    product = next((p for p in request.products if p.product_id == product_id), None)
    if product is None or not _ENDS_SENTENCE.search(line) or "(" in line or ")" in line:
        return False
    return bool(_stems(line) & _stems(product.name, product.category, product.description))


def _line_context(
    request: DraftRequest, brand: BrandKit, product_id: str, line: str, instructions: str
) -> CheckContext:
    """What the checks read of one model product line, alone."""
    return CheckContext(
        request=request, brand=brand, subject="", preheader="", intro="", product_lines=[line], lines_only=True,
        line_products=[product_id], instructions=instructions,
    )  # fmt: skip


def _idea(variant: CopyVariant) -> str:
    return f"{variant.subject} {variant.intro}"


def short_reason(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
