"""Variant selection ranks by value, skips failed variants and flags drafts a person should see."""

from __future__ import annotations

import pandas as pd

from scoring.selection import SelectionRules, rank_variants, select_variants


def _variants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "draft_id": ["d1", "d1", "d2", "d2", "d3", "d3"],
            "variant_id": ["a", "b", "a", "b", "a", "b"],
            "p_open": [0.30, 0.40, 0.50, 0.20, 0.05, 0.04],
            "p_click": [0.05, 0.06, 0.10, 0.02, 0.004, 0.003],
            "p_conversion": [0.01, 0.01, 0.02, 0.00, 0.001, 0.001],
            "checks_passed": [True, True, False, True, True, True],
        }
    )


def test_best_passing_variant_is_chosen():
    chosen = select_variants(_variants())
    assert chosen.loc["d1", "chosen_variant"] == "b"
    assert chosen.loc["d2", "chosen_variant"] == "b"  # "a" is better but failed a check
    assert not chosen.loc["d1", "flagged"]


def test_failed_checks_and_low_predictions_are_flagged_with_reasons():
    chosen = select_variants(_variants())
    assert chosen.loc["d2", "flagged"]
    assert any("failed a guardrail check" in reason for reason in chosen.loc["d2", "flag_reasons"])
    assert chosen.loc["d3", "flagged"]
    assert any("open rate" in reason for reason in chosen.loc["d3", "flag_reasons"])


def test_all_failed_is_flagged_and_rules_change_the_floor():
    variants = _variants().assign(checks_passed=False)
    assert "every variant failed a guardrail check" in select_variants(variants).loc["d1", "flag_reasons"]
    lenient = select_variants(_variants(), SelectionRules(min_p_open=0.0, min_p_click=0.0))
    assert not lenient.loc["d3", "flagged"]


def test_rank_puts_failed_variants_last_and_weights_matter():
    ranked = rank_variants(_variants())
    assert ranked.set_index(["draft_id", "variant_id"]).loc[("d2", "a"), "rank"] == 2
    click_heavy = SelectionRules(w_open=0.0, w_click=1.0, w_conversion=0.0)
    variants = _variants().assign(p_open=[0.9, 0.1, 0.5, 0.2, 0.05, 0.04], p_click=[0.01, 0.09, 0.1, 0.02, 0.01, 0.01])
    assert select_variants(variants, click_heavy).loc["d1", "chosen_variant"] == "b"


def test_empty_input_gives_an_empty_selection():
    assert select_variants(_variants().iloc[:0]).empty


def _select_one_by_one(variants: pd.DataFrame, rules: SelectionRules = SelectionRules()) -> pd.DataFrame:
    """The former selection, a Python step per draft: what the whole-column version must give exactly."""
    ranked = rank_variants(variants, rules)
    passed = variants["checks_passed"].fillna(False).astype(bool) if "checks_passed" in variants else True
    ranked["_passed"] = passed
    rows = []
    for draft_id, group in ranked.groupby("draft_id", sort=False):
        best = group.loc[group["rank"].idxmin()]
        reasons = []
        failed = group.loc[~group["_passed"], "variant_id"].astype(str).tolist()
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
                "draft_id": draft_id, "chosen_variant": best["variant_id"], "p_open": float(best["p_open"]),
                "p_click": float(best["p_click"]), "p_conversion": float(best["p_conversion"]),
                "value": float(best["value"]), "flagged": bool(reasons), "flag_reasons": reasons,
            }
        )  # fmt: skip
    return pd.DataFrame(rows).set_index("draft_id")


def test_selection_equals_the_former_draft_by_draft_selection():
    import numpy as np

    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 5, 400)  # drafts of 1 to 4 variants
    drafts = np.repeat(np.arange(len(sizes)), sizes)
    n = len(drafts)
    variants = pd.DataFrame(
        {
            "draft_id": drafts,
            "variant_id": np.concatenate([np.arange(size) for size in sizes]),
            "p_open": rng.uniform(0.02, 0.5, n),
            "p_click": rng.uniform(0.0, 0.05, n),
            "p_conversion": rng.uniform(0.0, 0.01, n),
            "checks_passed": rng.random(n) > 0.25,
        }
    ).sample(frac=1.0, random_state=3)  # drafts' rows interleaved, first appearances in a random order
    variants.loc[variants["draft_id"] % 7 == 0, "checks_passed"] = False  # some drafts fail every check
    named = variants.assign(
        draft_id="d" + variants["draft_id"].astype(str), variant_id="v" + variants["variant_id"].astype(str)
    )
    for frame in (variants, named, variants.drop(columns="checks_passed")):
        for rules in (SelectionRules(), SelectionRules(w_click=0.0, min_p_open=0.3, min_p_click=0.02)):
            pd.testing.assert_frame_equal(select_variants(frame, rules), _select_one_by_one(frame, rules))


def test_a_draft_ranked_without_a_first_variant_keeps_the_frame_s_reading():
    """``select_ranked`` reads the rank-1 variants from the columns' arrays when each draft has one; ranks edited
    so that a draft has none read as the frame's reindexing does: that draft's choice missing, the others' alike."""
    from scoring.selection import select_ranked

    ranked = rank_variants(_variants())
    edited = ranked.assign(rank=ranked["rank"] + (ranked["draft_id"] == "d2"))
    chosen, whole = select_ranked(edited), select_ranked(ranked)
    assert chosen["chosen_variant"].isna().tolist() == [False, True, False]
    assert chosen.loc["d2", "flag_reasons"] == ["variant(s) a failed a guardrail check"]
    pd.testing.assert_frame_equal(chosen.drop(index="d2"), whole.drop(index="d2"), check_exact=True)
