"""The one call the service makes per campaign: score every variant, explain it, pick and flag per draft."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.base import Scorer
from scoring.engagement import EngagementModel
from scoring.prior import COMPARED_WITHIN, BlendedEngagement
from scoring.selection import SelectionRules, rank_variants, select_ranked


@dataclass
class ScoredDrafts:
    """``variants``: the input plus ``p_open``, ``p_click``, ``p_conversion``, ``value``, ``rank`` and
    ``reasons`` (list of sentences: open first, then click and conversion); ``drafts``:
    :func:`select_variants`' frame, one row per draft."""

    variants: pd.DataFrame
    drafts: pd.DataFrame


def _explainer(model: Scorer) -> EngagementModel | None:
    if isinstance(model, EngagementModel):
        return model
    if isinstance(model, BlendedEngagement) and model.shop is not None and any(model.weights().values()):
        return model.shop
    return None


def _prior_note(model: Scorer) -> list[str]:
    """While the public prior outweighs the shop's own model, say so before the shop model's reasons."""
    if not isinstance(model, BlendedEngagement):
        return []
    weight = model.weights()["open"]
    if weight >= 0.5:
        return []
    return [f"mostly public rates: the shop's own sends weigh {weight:.0%} in these figures"]


def _appeal_reason(shift: float) -> str:
    side = "more" if shift >= 0 else "less"
    return f"subject: {side} clickable than the average of this email's subjects (copy model, {shift:+.2f} log-odds)"


def score_drafts(
    variants: pd.DataFrame,
    model: Scorer,
    rules: SelectionRules = SelectionRules(),
    *,
    n_reasons: int = 3,
    draft_column: str = "draft_id",
    variant_column: str = "variant_id",
) -> ScoredDrafts:
    """Predict, explain, rank and select. ``variants`` is the sends shape without outcomes plus the draft id,
    the variant id and ``checks_passed``.

    A subject's appeal (the copy model's, in the public prior) is measured against its own draft's subjects, unless
    the variants name a ``COMPARED_WITHIN`` group: so a draft gets the same figures whichever drafts it is scored
    with (a generation batch, a refresh's 25, or an edit's one)."""
    explainer = _explainer(model)
    if COMPARED_WITHIN not in variants.columns:
        compared = variants.assign(**{COMPARED_WITHIN: variants[draft_column]})
    else:
        compared = variants
    if explainer is not None and len(variants):
        # The shop model's predictions and reasons come from one pass over the variants; a blend uses them.
        own, reasons = explainer.assess(variants, {"open": n_reasons, "click": 1, "conversion": 1})
        predictions = own if model is explainer else model.predict(compared, shop_predictions=own)
    else:
        predictions, reasons = model.predict(compared), None
    scored = variants.drop(columns=[c for c in predictions.columns if c in variants.columns]).join(predictions)
    if reasons is not None:
        note = _prior_note(model)
        scored["reasons"] = [[*note, *row] for row in reasons]
    else:
        scored["reasons"] = [["no history yet: rates from public data"] for _ in range(len(scored))]
        appeal = model.prior.subject_appeal(compared) if isinstance(model, BlendedEngagement) else None
        if appeal is not None:
            for reasons, shift in zip(scored["reasons"], appeal, strict=True):
                if not np.isnan(shift):  # NaN: a subject the copy model cannot judge (not English)
                    reasons.append(_appeal_reason(shift))
    ranked = rank_variants(scored, rules, draft_column=draft_column)
    drafts = select_ranked(ranked, rules, draft_column=draft_column, variant_column=variant_column)
    return ScoredDrafts(variants=ranked, drafts=drafts)
