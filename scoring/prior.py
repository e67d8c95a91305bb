"""A prior for a shop without history, from public data, blended out as the shop's own sends accumulate.

The public prior knows rates, not the shop: P(open) is the share of Email Campaign SME emails that were read
or acknowledged, P(click | open) the share of those engaged emails that were acknowledged (the SME file's
closest thing to a click), and P(conversion | click) the share of e-mailed Hillstrom customers' site visits
that ended in a purchase. An optional copy model (Upworthy) moves P(click | open) by the relative appeal of the subject:
``odds × exp(copy score − mean copy score of the batch)``.

Blending rule, per link of the chain (open, click | open, conversion | click), in log-odds:
``logit p = (1 − w) · logit p_prior + w · logit p_shop`` with ``w = n / (n + k)``, where ``n`` is the number of
the shop's sends that trained the shop model for that link (opens for click | open, clicks for
conversion | click) and ``k`` (default 2,000 sends) is how many sends the prior is worth. With no shop model,
``w = 0``; after 2,000 sends the two weigh equally; after 20,000 the shop has 91 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from scoring.artifacts import load_model, save_model
from scoring.copy_model import CopyModel
from scoring.engagement import EngagementModel
from scoring.errors import DatasetUnavailable

# Measured from the public files (see PublicPrior.from_public_data); used when the files are absent.
DEFAULT_RATES = {"open": 0.196, "click": 0.177, "conversion": 0.064}
EPSILON = 1e-4
BLEND_VERSION = 1


@dataclass
class PublicPrior:
    """Chain rates from public data, optionally shifted per variant by a copy model."""

    rates: dict[str, float]
    copy_model: CopyModel | None = None

    @classmethod
    def default(cls, copy_model: CopyModel | None = None) -> PublicPrior:
        """The public rates as measured once (``DEFAULT_RATES``), for machines without the data files."""
        return cls(dict(DEFAULT_RATES), copy_model)

    @classmethod
    def from_public_data(cls, copy_model: CopyModel | None = None) -> PublicPrior:
        try:
            from evals.datasets import DatasetMissing, email_campaign_sme, hillstrom
        except ImportError as error:  # pragma: no cover - evals ships with the project
            raise DatasetUnavailable("The public data loaders (evals.datasets) are not installed.") from error
        try:
            emails, customers = email_campaign_sme(), hillstrom()
        except DatasetMissing as error:
            raise DatasetUnavailable(f"The public data for the prior is missing: {error}") from error
        emailed = customers[customers["segment"] != "No E-Mail"]
        p_open = float((emails["email_status"] >= 1).mean())
        rates = {
            "open": p_open,
            "click": float((emails["email_status"] == 2).mean() / p_open),
            "conversion": float(emailed["conversion"].sum() / max(emailed["visit"].sum(), 1)),
        }
        return cls(rates, copy_model)

    def subject_appeal(self, variants: pd.DataFrame) -> np.ndarray | None:
        """Each variant's copy score minus the batch's mean, in log-odds of a click (None without a copy
        model or subjects)."""
        if self.copy_model is None or not len(variants) or "subject" not in variants.columns:
            return None
        scores = self.copy_model.score(variants["subject"].fillna("").astype(str))
        return scores - scores.mean()

    def links(self, variants: pd.DataFrame) -> dict[str, np.ndarray]:
        links = {name: np.full(len(variants), rate) for name, rate in self.rates.items()}
        appeal = self.subject_appeal(variants)
        if appeal is not None:
            links["click"] = expit(logit(links["click"]) + appeal)
        return links


def engagement_links(model: EngagementModel, variants: pd.DataFrame) -> dict[str, np.ndarray]:
    """The engagement model's three links (open, click | open, conversion | click) for each variant."""
    predictions = model.predict(variants)
    p_open = predictions["p_open"].to_numpy()
    click = predictions["p_click"].to_numpy() / np.maximum(p_open, EPSILON)
    conversion = predictions["p_conversion"].to_numpy() / np.maximum(predictions["p_click"].to_numpy(), EPSILON)
    return {"open": p_open, "click": click, "conversion": conversion}


def shop_weight(n_shop: float, prior_sends: float) -> float:
    """``w = n / (n + k)``: the shop model's share of the blend."""
    return float(n_shop / (n_shop + prior_sends)) if n_shop > 0 else 0.0


@dataclass
class BlendedEngagement:
    """The public prior and the shop's own model, blended per link by how much shop data stands behind it."""

    name = "blended_engagement"

    prior: PublicPrior
    shop: EngagementModel | None = None
    prior_sends: float = 2000.0

    def save(self, path: str | Path) -> Path:
        """Write the prior, the shop model (if any) and ``prior_sends`` to one file."""
        return save_model(self, path, kind=self.name, version=BLEND_VERSION, metadata={"weights": self.weights()})

    @classmethod
    def load(cls, path: str | Path) -> BlendedEngagement:
        """Read a blend written by :meth:`save`; a wrong or unreadable file raises ``ModelFileError``."""
        return load_model(path, kind=cls.name, version=BLEND_VERSION)

    def weights(self) -> dict[str, float]:
        if self.shop is None or not self.shop.is_fitted:
            return {"open": 0.0, "click": 0.0, "conversion": 0.0}
        rows = {name: link.metrics.get("rows", 0.0) for name, link in self.shop.links.items()}
        return {name: shop_weight(rows[name], self.prior_sends) for name in ("open", "click", "conversion")}

    def predict(self, variants: pd.DataFrame) -> pd.DataFrame:
        """``p_open``, ``p_click``, ``p_conversion`` like :meth:`EngagementModel.predict`, blended."""
        prior_links = self.prior.links(variants)
        weights = self.weights()
        shop_links = engagement_links(self.shop, variants) if any(weights.values()) else prior_links
        blended = {
            name: expit(
                (1 - weights[name]) * logit(np.clip(prior_links[name], EPSILON, 1 - EPSILON))
                + weights[name] * logit(np.clip(shop_links[name], EPSILON, 1 - EPSILON))
            )
            for name in ("open", "click", "conversion")
        }
        p_open = blended["open"]
        p_click = p_open * blended["click"]
        return pd.DataFrame(
            {"p_open": p_open, "p_click": p_click, "p_conversion": p_click * blended["conversion"]},
            index=variants.index,
        )
