"""Predictive performance models: P(open), P(click), P(conversion) for drafts and their variants.

The service's entry points:

- :class:`EngagementModel` — ``fit(sends)``, ``predict(variants)``, ``top_reasons``, ``save``/``load``;
- :class:`BlendedEngagement` with :class:`PublicPrior` — the public-data prior blended with the shop's model;
- :func:`score_drafts` — predict, explain, rank, pick and flag every draft of a campaign in one call;
- :func:`forecast_totals`, :func:`best_send_hours`, and the experiment functions in ``scoring.experiments``;
- :func:`fit_copy_file` / :func:`predict_copy_file` — the copy-only model behind ``tailor scoring``.
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Each name and the module that holds it, imported when first asked for: importing one module (the experiments'
# statistics, for `tailor campaigns list`) loaded every one, scikit-learn for the copy model among them (2.8 s).
_HOMES = {
    "CopyModel": "copy_model", "fit_copy_file": "copy_model", "predict_copy_file": "copy_model",
    "EngagementModel": "engagement",
    "allocate_sends": "experiments", "assign_arms": "experiments", "effects": "experiments",
    "thompson_allocation": "experiments",
    "forecast_by": "forecast", "forecast_totals": "forecast",
    "ScoredDrafts": "pipeline", "score_drafts": "pipeline",
    "BlendedEngagement": "prior", "PublicPrior": "prior",
    "SelectionRules": "selection", "rank_variants": "selection", "select_variants": "selection",
    "best_send_hours": "send_time",
}  # fmt: skip

if TYPE_CHECKING:
    from scoring.copy_model import CopyModel, fit_copy_file, predict_copy_file
    from scoring.engagement import EngagementModel
    from scoring.experiments import allocate_sends, assign_arms, effects, thompson_allocation
    from scoring.forecast import forecast_by, forecast_totals
    from scoring.pipeline import ScoredDrafts, score_drafts
    from scoring.prior import BlendedEngagement, PublicPrior
    from scoring.selection import SelectionRules, rank_variants, select_variants
    from scoring.send_time import best_send_hours


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    return getattr(import_module(f"scoring.{_HOMES[name]}"), name)


__all__ = [
    "BlendedEngagement",
    "CopyModel",
    "EngagementModel",
    "PublicPrior",
    "ScoredDrafts",
    "SelectionRules",
    "allocate_sends",
    "assign_arms",
    "best_send_hours",
    "effects",
    "fit_copy_file",
    "forecast_by",
    "forecast_totals",
    "predict_copy_file",
    "rank_variants",
    "score_drafts",
    "select_variants",
    "thompson_allocation",
]
