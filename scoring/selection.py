"""Pick each draft's best variant by predicted value, and flag drafts a person should review.

Pure functions over a frame of variants with predictions (``p_open``, ``p_click``, ``p_conversion``), a
draft id, a variant id and ``checks_passed`` (the generation guardrails' verdict). The value of a variant is
``w_open * p_open + w_click * p_click + w_conversion * p_conversion``; the chosen variant is the most valuable
one that passed its checks. A draft is flagged when any of its variants failed a check, when none passed, or
when its chosen variant predicts fewer opens or clicks than the rules' floors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.features import require_columns

PREDICTION_COLUMNS = ["p_open", "p_click", "p_conversion"]


@dataclass(frozen=True)
class SelectionRules:
    """Weights of the value score and the floors under which a draft goes to a person."""

    w_open: float = 1.0
    w_click: float = 3.0
    w_conversion: float = 10.0
    min_p_open: float = 0.10
    min_p_click: float = 0.01


def variant_value(predictions: pd.DataFrame, rules: SelectionRules = SelectionRules()) -> pd.Series:
    """The predicted value of each variant under ``rules``' weights."""
    require_columns(predictions, PREDICTION_COLUMNS, "variant predictions")
    return (
        rules.w_open * predictions["p_open"]
        + rules.w_click * predictions["p_click"]
        + rules.w_conversion * predictions["p_conversion"]
    ).rename("value")


def rank_variants(
    variants: pd.DataFrame,
    rules: SelectionRules = SelectionRules(),
    *,
    draft_column: str = "draft_id",
) -> pd.DataFrame:
    """The variants with ``value`` and ``rank`` (1 = best within its draft; failed checks rank last)."""
    require_columns(variants, [draft_column, *PREDICTION_COLUMNS], "variants")
    ranked = variants.copy()
    ranked["value"] = variant_value(ranked, rules)
    passed = _checks_passed(ranked)
    # Failed variants sort after passing ones by pushing their key below any real value.
    sort_key = ranked["value"].where(passed, ranked["value"] - 1e9)
    ranked["rank"] = sort_key.groupby(ranked[draft_column]).rank(ascending=False, method="first").astype(int)
    return ranked


def select_variants(
    variants: pd.DataFrame,
    rules: SelectionRules = SelectionRules(),
    *,
    draft_column: str = "draft_id",
    variant_column: str = "variant_id",
) -> pd.DataFrame:
    """One row per draft (indexed by draft id): ``chosen_variant``, its predictions and value, ``flagged``
    and ``flag_reasons`` (a list of sentences for the reviewer)."""
    require_columns(variants, [variant_column], "variants")
    ranked = rank_variants(variants, rules, draft_column=draft_column)
    ranked["_passed"] = _checks_passed(ranked)
    rows = []
    for draft_id, group in ranked.groupby(draft_column, sort=False):
        best = group.loc[group["rank"].idxmin()]
        reasons = []
        failed = group.loc[~group["_passed"], variant_column].astype(str).tolist()
        if len(failed) == len(group):
            reasons.append("every variant failed a guardrail check")
        elif failed:
            reasons.append(f"variant(s) {', '.join(failed)} failed a guardrail check")
        if best["p_open"] < rules.min_p_open:
            reasons.append(f"predicted open rate {best['p_open']:.1%} is under the {rules.min_p_open:.0%} floor")
        if best["p_click"] < rules.min_p_click:
            reasons.append(f"predicted click rate {best['p_click']:.1%} is under the {rules.min_p_click:.0%} floor")
        rows.append(
            {
                draft_column: draft_id,
                "chosen_variant": best[variant_column],
                "p_open": float(best["p_open"]),
                "p_click": float(best["p_click"]),
                "p_conversion": float(best["p_conversion"]),
                "value": float(best["value"]),
                "flagged": bool(reasons),
                "flag_reasons": reasons,
            }
        )
    return pd.DataFrame(rows).set_index(draft_column) if rows else _empty_selection(draft_column)


def _checks_passed(variants: pd.DataFrame) -> pd.Series:
    if "checks_passed" not in variants.columns:
        return pd.Series(True, index=variants.index)
    return variants["checks_passed"].fillna(False).astype(bool)


def _empty_selection(draft_column: str) -> pd.DataFrame:
    columns = ["chosen_variant", *PREDICTION_COLUMNS, "value", "flagged", "flag_reasons"]
    return pd.DataFrame(columns=columns, index=pd.Index([], name=draft_column)).astype(
        {"flagged": bool, "value": np.float64}
    )
