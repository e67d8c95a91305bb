"""Pick each draft's best variant by predicted value, and flag drafts a person should review.

Pure functions over a frame of variants with predictions (``p_open``, ``p_click``, ``p_conversion``), a
draft id, a variant id and ``checks_passed`` (the generation guardrails' verdict). The value of a variant is
``w_open * p_open + w_click * p_click + w_conversion * p_conversion``; the chosen variant is the most valuable
one that passed its checks. A draft is flagged when any of its variants failed a check, when none passed, or
when its chosen variant predicts fewer opens or clicks than the rules' floors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.errors import require_columns

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
    return select_ranked(
        rank_variants(variants, rules, draft_column=draft_column),
        rules,
        draft_column=draft_column,
        variant_column=variant_column,
    )


def select_ranked(
    ranked: pd.DataFrame,
    rules: SelectionRules = SelectionRules(),
    *,
    draft_column: str = "draft_id",
    variant_column: str = "variant_id",
) -> pd.DataFrame:
    """:func:`select_variants` of variants :func:`rank_variants` ranked already (under the same ``rules``)."""
    require_columns(ranked, [variant_column], "variants")
    if ranked.empty:
        return _empty_selection(draft_column)
    # Whole-column work on the columns' arrays, drafts in the order they first appear; only the flagged drafts'
    # sentences are built one by one (a campaign of a million drafts has no Python step per draft it does not
    # flag). The frame's own selecting, grouping and reindexing cost more than the rest of a campaign batch's.
    drafts = pd.unique(ranked[draft_column])
    codes = pd.factorize(ranked[draft_column], use_na_sentinel=False)[0]  # each row's position in ``drafts``
    best = _best_of_drafts(ranked, draft_column, drafts, codes)
    passed = _checks_passed(ranked).to_numpy()
    failed_ids: list[list[str] | None] = [None] * len(drafts)
    failed_rows = np.flatnonzero(~passed)
    for code, variant in zip(codes[failed_rows], ranked[variant_column].iloc[failed_rows].astype(str), strict=True):
        if failed_ids[code] is None:
            failed_ids[code] = []
        failed_ids[code].append(variant)
    variant_counts = np.bincount(codes, minlength=len(drafts))
    p_open, p_click = best("p_open"), best("p_click")
    low_open, low_click = p_open < rules.min_p_open, p_click < rules.min_p_click
    flagged = np.array([ids is not None for ids in failed_ids], dtype=bool) | low_open | low_click
    reasons: list[list[str]] = [[] for _ in drafts]
    for i in np.flatnonzero(flagged):
        ids = failed_ids[i]
        if ids is not None and len(ids) == variant_counts[i]:
            reasons[i].append("every variant failed a guardrail check")
        elif ids is not None:
            reasons[i].append(f"variant(s) {', '.join(ids)} failed a guardrail check")
        reasons[i].extend(floor_reasons(p_open[i], p_click[i], rules))
    selection = pd.DataFrame(
        {
            "chosen_variant": best(variant_column, float_values=False),
            "p_open": p_open,
            "p_click": p_click,
            "p_conversion": best("p_conversion"),
            "value": best("value"),
            "flagged": flagged,
            "flag_reasons": reasons,
        },
        index=pd.Index(drafts, name=draft_column),
    )
    return selection


def _best_of_drafts(
    ranked: pd.DataFrame, draft_column: str, drafts: object, codes: np.ndarray
) -> Callable[..., np.ndarray]:
    """A reader of the rank-1 variant's value of a column for each of ``drafts`` (``codes``: each row's draft), as
    floats unless told otherwise: ``ranked[ranked["rank"] == 1].set_index(draft_column).reindex(drafts)``'s column,
    read from the column's array where each draft has one rank-1 variant, as ranking gives them."""
    firsts = np.flatnonzero(ranked["rank"].to_numpy() == 1)
    if len(firsts) == len(drafts) and (np.bincount(codes[firsts], minlength=len(drafts)) == 1).all():
        positions = np.empty(len(drafts), dtype=np.intp)
        positions[codes[firsts]] = firsts

        def read(column: str, float_values: bool = True) -> np.ndarray:
            values = ranked[column].astype(float) if float_values else ranked[column]
            return values.to_numpy()[positions]

        return read
    best = ranked[ranked["rank"] == 1].set_index(draft_column).reindex(drafts)  # a draft without one, or with two

    def read_frame(column: str, float_values: bool = True) -> np.ndarray:
        return (best[column].astype(float) if float_values else best[column]).to_numpy()

    return read_frame


def floor_reasons(p_open: float, p_click: float, rules: SelectionRules = SelectionRules()) -> list[str]:
    """The sentences that send a draft to a person for its chosen variant's predictions under ``rules``' floors
    (none when both clear them); ``is_floor_reason`` knows them again."""
    reasons = []
    if p_open < rules.min_p_open:
        reasons.append(f"predicted open rate {p_open:.1%} is under the {rules.min_p_open:.0%} floor")
    if p_click < rules.min_p_click:
        reasons.append(f"predicted click rate {p_click:.1%} is under the {rules.min_p_click:.0%} floor")
    return reasons


def is_floor_reason(reason: str) -> bool:
    """Whether ``reason`` is one of ``floor_reasons``' sentences."""
    return reason.startswith(("predicted open rate ", "predicted click rate ")) and reason.endswith(" floor")


def _checks_passed(variants: pd.DataFrame) -> pd.Series:
    if "checks_passed" not in variants.columns:
        return pd.Series(True, index=variants.index)
    return variants["checks_passed"].fillna(False).astype(bool)


def _empty_selection(draft_column: str) -> pd.DataFrame:
    columns = ["chosen_variant", *PREDICTION_COLUMNS, "value", "flagged", "flag_reasons"]
    return pd.DataFrame(columns=columns, index=pd.Index([], name=draft_column)).astype(
        {"flagged": bool, "value": np.float64}
    )
