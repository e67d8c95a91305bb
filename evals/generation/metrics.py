"""Metrics of one generation run over draft requests: what a reviewer would receive and what it cost."""

from __future__ import annotations

from collections import Counter

from generation.copywriter import TEMPLATE_FIELD
from generation.diversity import mean_pairwise_distance
from generation.render import offer_text, safe_first_name
from generation.schemas import DraftRequest, GenerationResult


def personalization(request: DraftRequest, text: str) -> dict[str, bool]:
    """Which personal elements the email carries: name (when the data has a usable one), products, offer."""
    name = safe_first_name(request.customer.first_name)
    return {
        "name": (name in text) if name else True,
        "products": all(p.name in text for p in request.products),
        "offer": (offer_text(request.offer, request.customer.locale) in text) if request.offer else True,
    }


def generation_metrics(requests: list[DraftRequest], result: GenerationResult) -> dict:
    stats = result.stats
    variants = [v for d in result.drafts for v in d.variants]
    n_drafts, n_variants = len(result.drafts), max(len(variants), 1)
    violations = Counter(c.name for v in variants for c in v.checks if not c.passed)
    model_variants = [v for v in variants if not v.used_fallback]
    by_id = {r.customer.customer_id: r for r in requests}
    coverage = Counter()
    for draft in result.drafts:
        parts = personalization(by_id[draft.customer_id], draft.variants[0].text)
        coverage.update({key: int(value) for key, value in parts.items()})
        coverage["all"] += int(all(parts.values()))
    diversity = [
        mean_pairwise_distance([f"{v.subject} {v.intro}" for v in d.variants])
        for d in result.drafts
        if len(d.variants) > 1
    ]
    # The groups whose copy the model was asked for, answered by it or by the cache of its answers (a cached group's
    # first answer is the model's, parsed alike): a run served from the cache alone left them out of the denominator
    # and in the numerator, and read 2.0.
    groups_called = max(stats.groups - stats.template_only_groups, 1)
    return {
        "customers": len(requests),
        "drafts": n_drafts,
        "variants": len(variants),
        "groups": stats.groups,
        "template_only_groups": stats.template_only_groups,  # locales the model is not asked to write
        "llm_calls": stats.llm_calls,
        "llm_calls_per_1000_customers": round(1000 * stats.llm_calls / max(len(requests), 1), 1),
        "schema_valid_rate_before_fallback": round(stats.schema_valid_first / groups_called, 3),
        "invalid_answers": stats.invalid_answers,
        "timeouts": stats.timeouts,
        "rejected_by_check": dict(sorted(stats.rejected_by_check.items(), key=lambda item: -item[1])),
        "lines_rejected_by_check": dict(sorted(stats.lines_rejected_by_check.items(), key=lambda item: -item[1])),
        "fallback_rate": round(stats.fallbacks / n_variants, 3),
        "model_copy_kept_rate": round(len(model_variants) / n_variants, 3),
        # of it, the variants whose preheader, or intro, is the template's (the model's repeated another field)
        "template_preheader_rate": round(sum(_names_template(v, "preheader") for v in model_variants) / n_variants, 3),
        "template_intro_rate": round(sum(_names_template(v, "intro") for v in model_variants) / n_variants, 3),
        "violations_in_review": dict(sorted(violations.items())),
        "grounding_violations": violations.get("grounding", 0),
        "unbacked_claim_violations": violations.get("unbacked_claims", 0),
        "flagged_variant_rate": round(sum(not v.passed for v in variants) / n_variants, 3),
        "language_match_rate": round(1 - violations.get("language", 0) / n_variants, 3),
        "language_match_rate_model_copy": _rate(model_variants, "language"),
        "personalization_coverage": {
            key: round(value / max(n_drafts, 1), 3) for key, value in sorted(coverage.items())
        },
        "variant_diversity": round(sum(diversity) / len(diversity), 3) if diversity else 0.0,
        "prompt_tokens_per_draft": round(stats.prompt_tokens / max(n_drafts, 1), 1),
        "completion_tokens_per_draft": round(stats.completion_tokens / max(n_drafts, 1), 1),
        "seconds_per_draft": round(stats.seconds / max(n_drafts, 1), 3),
        "seconds": stats.seconds,
        "cost_usd": round(stats.cost_usd, 6),
        "cache_hits": stats.cache_hits,
    }


def _names_template(variant, field: str) -> bool:
    """Whether a variant of the model's copy says its ``field`` is the template's."""
    return any(TEMPLATE_FIELD.format(field=field) in check.turned_down for check in variant.checks)


def _rate(variants, check: str) -> float | None:
    if not variants:
        return None
    return round(sum(all(c.passed for c in v.checks if c.name == check) for v in variants) / len(variants), 3)
