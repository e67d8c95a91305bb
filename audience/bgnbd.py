"""BG/NBD (Fader, Hardie & Lee 2005): probability alive and expected purchases from frequency, recency and age.

Fitted by maximum likelihood with scipy (L-BFGS-B on log parameters) rather than the ``lifetimes`` package,
which has been unmaintained since 2020 and breaks on current pandas/numpy. Inputs are per customer:
``frequency`` = repeat purchases, ``recency`` = time of the last purchase since the first, ``T`` = time since
the first purchase, all in one time unit (the fitted ``alpha`` is in that unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from audience.errors import ModelFitFailed, NotEnoughHistory


@dataclass
class BetaGeoModel:
    r: float = np.nan
    alpha: float = np.nan
    a: float = np.nan
    b: float = np.nan
    penalizer: float = 0.0

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @staticmethod
    def _log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        beyond = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
        repeat = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b), -np.inf)
        died = repeat - (r + x) * np.log(alpha + t_x)
        return common + np.logaddexp(beyond, died)

    def fit(self, frequency, recency, T, weights=None) -> BetaGeoModel:
        """Maximum-likelihood fit; ``weights`` counts identical customers (optional)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        if len(x) < 10 or (x > 0).sum() < 3:
            raise NotEnoughHistory(
                f"BG/NBD needs at least 10 customers and 3 with a repeat purchase; got {len(x)} customers "
                f"and {(x > 0).sum()} with repeats."
            )
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        scale = max(float(T.max()), 1.0) / 10  # keeps the optimizer on numbers near 1 whatever the time unit

        def loss(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            params[1] *= scale
            value = -(w * self._log_likelihood(params, x, t_x, T)).sum() / w.sum()
            return float(value + self.penalizer * (params[[0, 2, 3]] ** 2).sum())

        best = None
        for start in ([0.0, 0.0, 0.0, 0.0], [np.log(0.5), 0.0, np.log(0.5), np.log(2.0)]):
            result = minimize(loss, np.array(start), method="L-BFGS-B", bounds=[(-9, 9)] * 4)
            if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                best = result
            if best is not None and best.success:
                break  # the second start is for when the first one does not converge
        if best is None:
            raise ModelFitFailed("BG/NBD could not be fitted: the likelihood was not finite for any start.")
        r, alpha, a, b = np.exp(best.x)
        self.r, self.alpha, self.a, self.b = float(r), float(alpha * scale), float(a), float(b)
        self.log_likelihood_ = -best.fun * w.sum()
        return self

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability each customer is still active at age ``T``; 1 for customers without repeats."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        log_ratio = (
            np.log(self.a)
            - np.log(self.b + np.maximum(x, 1) - 1)
            + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)

    def expected_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` time units given each customer's history."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1) if abs(a - 1) > 1e-9 else np.nan
        body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        log_ratio = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        denominator = 1 + np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
        return np.maximum(head * body / denominator, 0.0)

    def expected_purchases_new(self, t: float) -> float:
        """Expected purchases of a new customer in their first ``t`` time units (the unconditional E[X(t)])."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        survival = (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return float((a + b - 1) / (a - 1) * (1 - survival))


def p_no_purchase(p_alive: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """P(no purchase in the horizon) from BG/NBD: dead, or alive with a Poisson count of zero."""
    p_alive, expected = np.asarray(p_alive, dtype=float), np.asarray(expected, dtype=float)
    rate = np.divide(expected, p_alive, out=np.zeros_like(expected), where=p_alive > 0)
    return (1 - p_alive) + p_alive * np.exp(-rate)
