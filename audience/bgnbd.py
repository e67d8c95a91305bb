"""BG/NBD (Fader, Hardie & Lee 2005): probability alive and expected purchases from frequency, recency and age.

Fitted by maximum likelihood with scipy (L-BFGS-B on log parameters, with the likelihood's analytic gradient,
over the distinct customer histories weighted by how many customers share each) rather than the ``lifetimes``
package, which has been unmaintained since 2020 and breaks on current pandas/numpy. Inputs are per customer:
``frequency`` = repeat purchases, ``recency`` = time of the last purchase since the first, ``T`` = time since
the first purchase, all in one time unit (the fitted ``alpha`` is in that unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from audience.errors import ModelFitFailed, NotEnoughHistory
from audience.threads import one_blas_thread


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
        return BetaGeoModel._log_likelihood_and_gradient(params, x, t_x, T)[0]

    @staticmethod
    def _log_likelihood_and_gradient(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's log-likelihood and its gradient (4 x customers: d/dr, d/dalpha, d/da, d/db).

        The likelihood is log(e^beyond + e^died): alive through T, or dropped out just after the last purchase
        (possible only with repeats). Each part's derivatives are digamma and 1/(alpha + t) terms, weighted by
        the part's share of the sum, ``p`` and ``1 - p``."""
        r, alpha, a, b = params
        repeats = np.maximum(x, 1)
        log_alpha_T, log_alpha_t_x = np.log(alpha + T), np.log(alpha + t_x)
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        beyond = betaln(a, b + x) - betaln(a, b) - (r + x) * log_alpha_T
        repeat = np.where(x > 0, betaln(a + 1, b + repeats - 1) - betaln(a, b), -np.inf)
        died = repeat - (r + x) * log_alpha_t_x
        both = np.logaddexp(beyond, died)
        p = np.exp(beyond - both)  # the share of "alive through T"; 1 without repeats
        q = 1.0 - p
        ab = digamma(a + b)
        gradient = np.stack(
            [
                digamma(r + x) - digamma(r) + np.log(alpha) - p * log_alpha_T - q * log_alpha_t_x,
                r / alpha - (r + x) * (p / (alpha + T) + q / (alpha + t_x)),
                p * (ab - digamma(a + b + x)) + q * (digamma(a + 1) - digamma(a + b + repeats) - digamma(a) + ab),
                p * (digamma(b + x) - digamma(a + b + x) - digamma(b) + ab)
                + q * (digamma(b + repeats - 1) - digamma(a + b + repeats) - digamma(b) + ab),
            ]
        )
        return common + both, gradient

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
        # Customers with the same (frequency, recency, T) add the same term: each distinct history once, weighted
        # by how many customers have it (a shop's one-time buyers share a few hundred histories).
        histories, which = np.unique(np.column_stack([x, t_x, T]), axis=0, return_inverse=True)
        counts = np.bincount(which.ravel(), weights=w, minlength=len(histories))
        total = w.sum()
        penalized = np.array([1.0, 0.0, 1.0, 1.0])

        def loss(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(log_params)
            params[1] *= scale
            likelihood, gradient = self._log_likelihood_and_gradient(params, *histories.T)
            value = -(counts @ likelihood) / total + self.penalizer * (penalized * params**2).sum()
            # d/d log(theta) = theta * d/d theta (alpha's scale included)
            slope = -(gradient @ counts) / total * params + self.penalizer * 2 * penalized * params**2
            return float(value), slope

        best = None
        with one_blas_thread():  # L-BFGS-B's steps on 4 parameters: threads only add their overhead
            for start in ([0.0, 0.0, 0.0, 0.0], [np.log(0.5), 0.0, np.log(0.5), np.log(2.0)]):
                result = minimize(loss, np.array(start), jac=True, method="L-BFGS-B", bounds=[(-9, 9)] * 4)
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
