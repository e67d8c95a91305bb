"""A campaign's A/B/n experiment: each arm's rates, lift over the holdout and revenue."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RateOut(BaseModel):
    """A rate's posterior mean and highest-density credible interval (the shortest, which holds ``observed``: it
    starts at 0 when none was counted); ``p_best`` among the variant arms."""

    mean: float
    low: float
    high: float
    p_best: float | None = None
    observed: float | None = Field(
        None, description="the share the counts give (opens, clicks or conversions over the sends that could report "
        "them, the holdout's conversions over its customers); null before any such send. `mean` is pulled towards "
        "the uniform prior's 0.5",
    )  # fmt: skip


class LiftOut(BaseModel):
    """Conversion rate minus the holdout's, in absolute terms (0.01 is one point), with its credible interval and
    P(arm beats the holdout), under one prior for both centred on the rate they pool."""

    mean: float
    low: float
    high: float
    p_better: float
    observed: float | None = Field(None, description="the observed conversion rates' difference (`observed`)")


class RevenueLiftOut(BaseModel):
    """Revenue per customer minus the holdout's, with its interval (normal approximation)."""

    mean: float
    low: float
    high: float


class ArmOut(BaseModel):
    arm: str
    customers: int
    sends: int
    opens: int | None
    clicks: int | None
    sends_reporting_opens: int | None = Field(
        None, description="of `sends`, those that could report an open (their email carried Tailor's open image, or "
        "the email service posts opens or clicks to POST /events): what `open_rate` and an allocation by opens count; "
        "null for the holdout",
    )  # fmt: skip
    sends_reporting_clicks: int | None = Field(
        None, description="of `sends`, those that could report a click (their email's links led through Tailor, or "
        "the email service posts clicks to POST /events): what `click_rate` and an allocation by clicks count; null "
        "for the holdout",
    )  # fmt: skip
    conversions: int
    open_rate: RateOut | None = None
    click_rate: RateOut | None = None
    conversion_rate: RateOut | None = None
    lift_over_holdout: LiftOut | None = None
    revenue: float = 0.0
    revenue_per_customer: float | None = None
    revenue_lift_over_holdout: RevenueLiftOut | None = None


class ExperimentOut(BaseModel):
    campaign_id: int
    holdout_share: float
    level: float
    allocation_outcome: str
    conversion_window_days: int
    conversion_definition: str
    next_allocation: dict[str, float]
    pinned: int = Field(
        0, description="drafts sent exactly the variant their reviewer chose or edited (not an arm's): they are "
        "in no arm and none of the arms' counts",
    )  # fmt: skip
    arms: list[ArmOut]
    warnings: list[str] = Field(
        [], description="what keeps the experiment from learning: none of its arms' sends could report "
        "`allocation_outcome` (opens or clicks) and email sent now will not either, so every batch is split evenly; "
        "or those that could report it have only machines' (`machine_open`, `machine_click`: a privacy proxy's, a "
        "link scanner's) and no reader's, so the arms' even P(best) and split are no result; each says what to do",
    )  # fmt: skip
