"""Predictive performance models: P(open), P(click), P(conversion) for drafts and their variants.

The service calls :class:`EngagementModel` (``fit``/``predict``/``top_reasons``/``save``/``load``) and
:func:`select_variants` to preselect each draft's best variant and flag drafts for review.
"""

from scoring.engagement import EngagementModel
from scoring.selection import SelectionRules, rank_variants, select_variants

__all__ = ["EngagementModel", "SelectionRules", "rank_variants", "select_variants"]
