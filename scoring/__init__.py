"""Predictive performance models: P(open), P(click), P(conversion) for drafts and their variants.

The service's entry points:

- :class:`EngagementModel` — ``fit(sends)``, ``predict(variants)``, ``top_reasons``, ``save``/``load``;
- :class:`BlendedEngagement` with :class:`PublicPrior` — the public-data prior blended with the shop's model;
- :func:`score_drafts` — predict, explain, rank, pick and flag every draft of a campaign in one call;
- :func:`forecast_totals`, :func:`best_send_hours`, and the experiment functions in ``scoring.experiments``;
- :func:`fit_copy_file` / :func:`predict_copy_file` — the copy-only model behind ``tailor scoring``.
"""

from scoring.copy_model import CopyModel, fit_copy_file, predict_copy_file
from scoring.engagement import EngagementModel
from scoring.experiments import allocate_sends, assign_arms, effects, thompson_allocation
from scoring.forecast import forecast_by, forecast_totals
from scoring.pipeline import ScoredDrafts, score_drafts
from scoring.prior import BlendedEngagement, PublicPrior
from scoring.selection import SelectionRules, rank_variants, select_variants
from scoring.send_time import best_send_hours

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
