"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): expected mean order value per customer.

Fitted by maximum likelihood with scipy on customers with repeat purchases: ``frequency`` = repeat purchases,
``monetary`` = their mean value (the first purchase excluded). Customers without repeats get the population
mean ``p * gamma / (q - 1)``; others a weighted blend of it and their own mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from audience.errors import ModelFitFailed, NotEnoughHistory
from audience.returns import LEAST_SPEND
from audience.threads import one_blas_thread


@dataclass
class GammaGammaModel:
    p: float = np.nan
    q: float = np.nan
    gamma: float = np.nan

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @staticmethod
    def _log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, gamma = params
        return (
            gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + x * m)
        )  # fmt: skip

    def fit(self, frequency, monetary) -> GammaGammaModel:
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        keep = (x > 0) & (m >= LEAST_SPEND)  # a customer whose returns cancel what they paid tells nothing of spend
        x, m = x[keep], m[keep]
        if len(x) < 5:
            raise NotEnoughHistory(
                f"Gamma-Gamma needs at least 5 customers with a repeat purchase of positive value; got {len(x)}."
            )
        scale = float(np.median(m))

        def loss(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            params[2] *= scale
            return float(-self._log_likelihood(params, x, m).mean())

        best = None
        with one_blas_thread():  # as BG/NBD's fit: L-BFGS-B's steps on 3 parameters
            for start in ([0.0, 0.0, 0.0], [np.log(5.0), np.log(3.0), 0.0]):
                result = minimize(loss, np.array(start), method="L-BFGS-B", bounds=[(-9, 9)] * 3)
                if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                    best = result
        if best is None:
            raise ModelFitFailed("Gamma-Gamma could not be fitted: the likelihood was not finite for any start.")
        p, q, gamma = np.exp(best.x)
        self.p, self.q, self.gamma = float(p), float(q), float(gamma * scale)
        return self

    @property
    def population_mean(self) -> float:
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else np.nan

    def expected_spend(self, frequency, monetary) -> np.ndarray:
        """Expected mean value of each customer's future orders."""
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
        own = np.where(x > 0, (self.gamma + x * m) * self.p / (self.p * x + self.q - 1), np.nan)
        fallback = self.population_mean
        if not np.isfinite(fallback):
            fallback = float(np.mean(m[x > 0])) if (x > 0).any() else 0.0
        return np.where((x > 0) & np.isfinite(own), own, fallback)
