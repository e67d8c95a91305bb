"""A prior for a shop without history, from public data, blended out as the shop's own sends accumulate.

The public prior knows rates, not the shop: P(open) is the share of Email Campaign SME emails that were read
or acknowledged, P(click | open) the share of those engaged emails that were acknowledged (the SME file's
closest thing to a click), and P(conversion | click) the share of e-mailed Hillstrom customers' site visits
that ended in a purchase. An optional copy model (Upworthy) moves P(click | open) by the relative appeal of the subject:
``odds × exp(copy score − mean copy score of the batch)``, for English subjects only (it learned from English
headlines; a German or Russian subject's score says nothing about its appeal). Variants that name the subjects they
are compared with (the ``COMPARED_WITHIN`` column, which ``score_drafts`` sets to each draft's own variants, so that a
draft's figures do not depend on which drafts share its batch) take the mean over those instead of the batch's.

Blending rule, per link of the chain (open, click | open, conversion | click), in log-odds:
``logit p = (1 − w) · logit p_prior + w · logit p_shop`` with ``w = n / (n + k)``, where ``n`` is the number of
the shop's sends that trained the shop model for that link (opens for click | open, clicks for
conversion | click) and ``k`` (default 2,000 sends) is how many sends the prior is worth. With no shop model,
``w = 0``; after 2,000 sends the two weigh equally; after 20,000 the shop has 91 %.

That weight suits what the shop model learned about *which* sends do better, which takes thousands of sends,
but is far too slow for the shop's *level*: a few hundred sends pin down a shop's rates, and shops differ
widely from the public files (the demo store opens 36 % and clicks 12 % of its sends, against the prior's
20 % and 3.5 %). So :meth:`BlendedEngagement.fit` adds one log-odds offset per link that sets the blend's mean
over the shop's sends to the shop's own rate, shrunk toward the prior's as a Beta prior worth ``level_sends``
sends: ``(level_sends · prior rate + positives) / (level_sends + rows)``. ``level_sends`` is 30 because shops'
open rates commonly run from about 15 % to 45 % (a spread of ±0.08 around 0.2 is a Beta worth about 25–30
sends). On the demo store's time split (``python -m evals.scoring.run --only demo``), the blend trained on all
16,730 earlier sends predicted 0.34 opens, 0.101 clicks and 0.017 conversions per later send before the
offsets (ECE 0.029 / 0.023 / 0.036) and 0.36 / 0.124 / 0.047 with them (ECE 0.023 / 0.014 / 0.010), against
0.36 / 0.123 / 0.052 observed; trained on 2,000 of those sends, 0.27 / 0.056 / 0.004 before (ECE 0.111 /
0.067 / 0.048) and 0.35 / 0.114 / 0.036 with them (ECE 0.079 / 0.021 / 0.021).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from scoring.artifacts import load_model, save_model
from scoring.copy_model import CopyModel
from scoring.engagement import EngagementModel, chain_outcomes
from scoring.errors import DatasetUnavailable, NotEnoughData
from scoring.features import OUTCOME_COLUMNS

# Measured from the public files (see PublicPrior.from_public_data); used when the files are absent.
DEFAULT_RATES = {"open": 0.196, "click": 0.177, "conversion": 0.064}
EPSILON = 1e-4
BLEND_VERSION = 2
LINKS = ("open", "click", "conversion")
# The column naming, where variants carry it, the group whose subjects each variant's appeal is measured against.
COMPARED_WITHIN = "compared_within"


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
        """Each variant's copy score minus the mean over the batch's English variants (over those of its
        ``COMPARED_WITHIN`` group, where the variants carry that column), in log-odds of a click (None without a
        copy model or subjects). The copy model learned from English headlines, so variants in another locale (the
        ``locale`` column, when there is one) get NaN: no appeal is known. So do the variants of a group whose
        English subjects are all one: its scores are relative, and such a subject has none other to be compared with."""
        if self.copy_model is None or not len(variants) or "subject" not in variants.columns:
            return None
        english = np.ones(len(variants), dtype=bool)
        if "locale" in variants.columns:
            english = variants["locale"].fillna("en").astype(str).str.lower().str.startswith("en").to_numpy()
        appeal = np.full(len(variants), np.nan)
        if english.any():
            subjects = variants.loc[english, "subject"].fillna("").astype(str)
            scores = self.copy_model.score(subjects)
            if COMPARED_WITHIN not in variants.columns:
                appeal[english] = scores - scores.mean()
            else:
                groups = variants[COMPARED_WITHIN].to_numpy()[english]
                centred = np.full_like(scores, np.nan)
                for group in pd.unique(groups):  # each group's mean as the group scored alone has it, to the float
                    rows = groups == group
                    if subjects[rows].nunique() > 1:
                        centred[rows] = scores[rows] - scores[rows].mean()
                appeal[english] = centred
        return appeal

    def links(self, variants: pd.DataFrame) -> dict[str, np.ndarray]:
        links = {name: np.full(len(variants), rate) for name, rate in self.rates.items()}
        appeal = self.subject_appeal(variants)
        if appeal is not None:
            links["click"] = expit(logit(links["click"]) + np.nan_to_num(appeal))
        return links


def engagement_links(
    model: EngagementModel, variants: pd.DataFrame, predictions: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """The engagement model's three links (open, click | open, conversion | click) for each variant, from its
    ``predictions`` of ``variants`` when they are already made."""
    predictions = model.predict(variants) if predictions is None else predictions
    p_open = predictions["p_open"].to_numpy()
    click = predictions["p_click"].to_numpy() / np.maximum(p_open, EPSILON)
    conversion = predictions["p_conversion"].to_numpy() / np.maximum(predictions["p_click"].to_numpy(), EPSILON)
    return {"open": p_open, "click": click, "conversion": conversion}


def shop_weight(n_shop: float, prior_sends: float) -> float:
    """``w = n / (n + k)``: the shop model's share of the blend."""
    return float(n_shop / (n_shop + prior_sends)) if n_shop > 0 else 0.0


@dataclass
class BlendedEngagement:
    """The public prior and the shop's own model, blended per link by how much shop data stands behind it,
    with per-link offsets (log-odds) that set the blend's level to the shop's own rates."""

    name = "blended_engagement"

    prior: PublicPrior
    shop: EngagementModel | None = None
    prior_sends: float = 2000.0
    offsets: dict[str, float] = field(default_factory=dict)
    shop_model_note: str | None = None

    @classmethod
    def fit(
        cls,
        sends: pd.DataFrame,
        prior: PublicPrior,
        *,
        min_shop_sends: int = 50,
        prior_sends: float = 2000.0,
        level_sends: float = 30.0,
        random_state: int = 0,
    ) -> BlendedEngagement:
        """The model the service serves, from the shop's sends with outcomes (possibly none): the shop model
        when there are at least ``min_shop_sends`` sends and enough opens to fit it (otherwise the prior
        alone, with the reason kept in ``shop_model_note``), then the level offsets."""
        shop, note = None, None
        if len(sends) >= min_shop_sends:
            try:
                shop = EngagementModel(random_state=random_state).fit(sends)
            except NotEnoughData as error:
                note = str(error)
        elif len(sends):
            note = f"{len(sends)} sends with outcomes; the shop model needs at least {min_shop_sends}."
        model = cls(prior, shop, prior_sends, shop_model_note=note)
        model.offsets = model.level_offsets(sends, level_sends) if len(sends) else {}
        return model

    def level_offsets(self, sends: pd.DataFrame, level_sends: float) -> dict[str, float]:
        """Per link, the log-odds shift that makes the blend's mean over the link's rows equal the shop's
        rate shrunk toward the prior's: ``(level_sends · mean prior rate + positives) / (level_sends + rows)``."""
        prior_links, log_odds = self._links_log_odds(sends.drop(columns=list(OUTCOME_COLUMNS)))
        opened, clicked, converted = chain_outcomes(sends)
        chain = {
            "open": (np.ones(len(opened), dtype=bool), opened),
            "click": (opened == 1, clicked),
            "conversion": (clicked == 1, converted),
        }
        offsets = {}
        for name, (rows, outcome) in chain.items():
            if not rows.any():
                offsets[name] = 0.0
                continue
            prior_rate = float(prior_links[name][rows].mean())
            target = (level_sends * prior_rate + outcome[rows].sum()) / (level_sends + rows.sum())
            offsets[name] = _shift_to_mean(log_odds[name][rows], target)
        return offsets

    def save(self, path: str | Path) -> Path:
        """Write the prior, the shop model (if any), ``prior_sends`` and the level offsets to one file."""
        metadata = {"weights": self.weights(), "offsets": self.offsets}
        return save_model(self, path, kind=self.name, version=BLEND_VERSION, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> BlendedEngagement:
        """Read a blend written by :meth:`save`; a wrong or unreadable file raises ``ModelFileError``."""
        return load_model(path, kind=cls.name, version=BLEND_VERSION)

    def weights(self) -> dict[str, float]:
        if self.shop is None or not self.shop.is_fitted:
            return dict.fromkeys(LINKS, 0.0)
        rows = {name: link.metrics.get("rows", 0.0) for name, link in self.shop.links.items()}
        return {name: shop_weight(rows[name], self.prior_sends) for name in LINKS}

    def _links_log_odds(
        self, variants: pd.DataFrame, shop_predictions: pd.DataFrame | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The prior's links and the blend's log-odds per link, before the level offsets."""
        prior_links = self.prior.links(variants)
        weights = self.weights()
        shop_links = engagement_links(self.shop, variants, shop_predictions) if any(weights.values()) else prior_links
        log_odds = {
            name: (1 - weights[name]) * logit(np.clip(prior_links[name], EPSILON, 1 - EPSILON))
            + weights[name] * logit(np.clip(shop_links[name], EPSILON, 1 - EPSILON))
            for name in LINKS
        }
        return prior_links, log_odds

    def predict(self, variants: pd.DataFrame, shop_predictions: pd.DataFrame | None = None) -> pd.DataFrame:
        """``p_open``, ``p_click``, ``p_conversion`` like :meth:`EngagementModel.predict`, blended and set to
        the shop's level; ``shop_predictions``, when given, are the shop model's own for ``variants``."""
        log_odds = self._links_log_odds(variants, shop_predictions)[1]
        blended = {name: expit(log_odds[name] + self.offsets.get(name, 0.0)) for name in LINKS}
        p_open = blended["open"]
        p_click = p_open * blended["click"]
        return pd.DataFrame(
            {"p_open": p_open, "p_click": p_click, "p_conversion": p_click * blended["conversion"]},
            index=variants.index,
        )


def _shift_to_mean(log_odds: np.ndarray, target: float) -> float:
    """The constant that, added to ``log_odds``, makes their mean probability ``target``."""
    return float(brentq(lambda shift: expit(log_odds + shift).mean() - target, -20.0, 20.0))
