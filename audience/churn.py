"""Supervised churn risk: gradient boosting on time-windowed features, calibrated; churn = no order in the horizon.

The shop's own history is the training set: at several past cutoffs (the latest one ``horizon`` days before
the as-of day, then every ``step_days`` further back) every customer's features are computed from orders
before the cutoff and labelled by whether they bought in the horizon after it. The latest cutoff is held
out to calibrate the model's scores (Platt scaling on the log-odds), because scores from a model fitted on
other seasons are ranked well but not calibrated to the season at hand.

The boosted trees' log-odds are averaged with BG/NBD's P(no purchase) log-odds before calibration: trees
approximate BG/NBD's smooth ranking coarsely, and on Online Retail the average ranked better than either
alone. Half and half is what validation on the training cutoffs chose (trees fitted on the cutoffs whose
horizon ends before the latest one's starts, AUC on the latest: 0.4-0.5 best on all three eval dates). BG/NBD
knows nothing of the season, so the average is shifted to the trees' own calibrated mean risk over the
customers at the as-of day: the ranking comes from the average, the season's level from the trees.

Small shops (fewer than ``small_shop_rows`` training snapshots, about 600 customers with a year of history)
get BG/NBD's own P(no purchase) at the as-of day, its log-odds shifted by one constant: the shift that would
have matched the churn the shop saw a year earlier (the training cutoff nearest 365 days back, so the same
season; no shift with fewer than ``MIN_SEASON_ROWS`` customers then). BG/NBD knows no season, and on random
300-customer samples of Online Retail its mean P(no purchase) missed the observed churn by up to 0.10 (0.56
against 0.66 as of 2011-03-01). Chosen on three other as-of dates (10 samples each): ECE 0.233 -> 0.233 (no
history a year earlier), 0.088 -> 0.084, 0.069 -> 0.058; then on the eval dates, scored once: 0.116 -> 0.119,
0.095 -> 0.063, 0.081 -> 0.069. With perfect calibration, ECE on 300 customers would still be about 0.057 from
sampling alone. The ranking, and so the AUC, is BG/NBD's either way.
Before that shift, BG/NBD's P(no purchase) was compared with the alternatives: on random 300-customer
samples of Online Retail the trees ranked below BG/NBD, and so did a logistic regression on log-scaled
features (mean AUC 0.754/0.805/0.791 on the three eval dates against BG/NBD's 0.774/0.821/0.797), which was
also calibrated worse (mean ECE 0.144/0.169/0.078 against 0.116/0.095/0.081). Platt scaling of either on the
latest training cutoff did not help: that cutoff's horizon is the previous season, which is why the shift
comes from a year earlier.

Tried without gain, so that the next attempt does not repeat it (AUC on the latest training cutoff with trees
fitted on the cutoffs before its horizon, mean over the three eval dates; the model as it is scores 0.8044, and a
feature of pure noise moves that by up to 0.0003): a per-customer renewal signal, P(no purchase in the horizon)
from the customer's log gaps shrunk toward the shop's (hierarchical log-normal), as features 0.8038 or as a third
log-odds in the average 0.8031-0.8040; BG/NBD fitted per first-purchase quarter 0.8033-0.8047; BG/NBD on the last
270 or 365 days only 0.7998-0.8043; BG/NBD's exact P(no purchase) (the gamma posterior's zero count instead of a
Poisson one) in the average 0.8040-0.8043; MBG/NBD (customers may also drop out after their first purchase) in the
average 0.8042 or as features 0.8041; a Poisson booster on the number of purchase days in the horizon
0.8026-0.8045; trees also fitted on 30/60/120/180-day labels 0.8035-0.8044; cutoffs every 10 or 20 days
0.8033-0.8035; trend features (recent purchase-day rate against the customer's own, spend, basket, product and gap
trends) 0.8050; buying in the horizon's calendar days in any past year 0.8045; products' seasonal lift 0.8044; hour
and weekday of orders 0.8044; the customer's past residuals against BG/NBD 0.8043; weights of the average learned
by logistic regression on a held-out cutoff 0.7933-0.7983. The best, products' return rate after as long a silence
as the customer's (0.8054), moved the eval margins by +0.0000/+0.0003/+0.0004 at 1.5x the profile time. None of
these reached the +0.02 AUC margin over BG/NBD and recency.

A shop with about one year of history scored in December is left too low (Online Retail's first year as of
2010-12-10: mean risk 0.370 against 0.694 observed): its latest cutoff's horizon is the Christmas peak and no
cutoff a year back exists. Tried there: the trees' own level over all training cutoffs (0.374) and the mean over
the cutoffs of the shift each would have needed (0.424, ECE 0.324 -> 0.270). As of 2011-01-15, also without a
cutoff a year back, both were worse than the model as it is (ECE 0.160 -> 0.275 and 0.198), so neither was kept;
reproduce with a script that fits ChurnModel on the lines before each date (as evals/audience/churn.py does).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from audience.bgnbd import p_no_purchase
from audience.errors import NotEnoughHistory
from audience.features import BGNBD_FEATURES, OrderHistory, customer_features
from audience.orders import as_timestamp
from audience.progress import Progress

MIN_TRAINING_ROWS = 200
MIN_SEASON_ROWS = 50  # customers with history a year before the as-of day, for a small shop's season shift
BGNBD_WEIGHT = 0.5


def _log_odds_of(probability: np.ndarray) -> np.ndarray:
    return logit(np.clip(probability, 1e-6, 1 - 1e-6))


@dataclass
class ChurnModel:
    horizon_days: int = 90
    n_cutoffs: int = 18
    step_days: int = 30
    min_history_days: int = 60
    random_state: int = 0
    small_shop_rows: int = 10_000
    # The snapshots learned from are those of at most this many customers, drawn at random (seeded), so that
    # fitting stays bounded however big the shop. On the 100,000-customer demo shop (as of 2026-08-02, churn
    # observed in the next 90 days), AUC / Brier were 0.9254 / 0.1030 from 10,000 customers, 0.9255 / 0.1028
    # from 25,000 and 0.9258 / 0.1024 from all 83,338 with history (fit 4.5 s, 9.8 s, 34.3 s; peak +252 MB at
    # 25,000, +997 MB for all). Online Retail's eval shops are far smaller, so they are learned from whole.
    max_customers: int | None = 25_000
    # OpenMP threads the boosted trees fit and score with (the rest of the model stays on one). The trees are the
    # same to the bit on any number: scikit-learn's histograms, split gains and predictions add in an order that
    # does not depend on the threads.
    threads: int = 1
    booster_params: dict = field(
        default_factory=lambda: {"max_iter": 300, "learning_rate": 0.03, "max_leaf_nodes": 7,
                                 "min_samples_leaf": 100, "l2_regularization": 1.0}
    )  # fmt: skip

    def training_cutoffs(self, lines: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.Timestamp]:
        """Past cutoffs whose whole horizon lies before ``as_of``, newest first, each with some history."""
        start = lines["timestamp"].min().normalize() + pd.Timedelta(days=self.min_history_days)
        latest = as_of - pd.Timedelta(days=self.horizon_days)
        cutoffs = [latest - pd.Timedelta(days=self.step_days * k) for k in range(self.n_cutoffs)]
        return [cutoff for cutoff in cutoffs if cutoff >= start]

    def training_frame(
        self, lines: pd.DataFrame, as_of: pd.Timestamp, progress: Progress | None = None
    ) -> pd.DataFrame:
        """Every customer's features at each training cutoff (``cutoff_number`` 0 the latest), labelled ``churned``."""
        history, cutoffs = self._history(lines, as_of)
        return self._snapshots(history, cutoffs, progress, featured=range(len(cutoffs)))

    def _history(
        self, lines: pd.DataFrame, as_of: pd.Timestamp, history: OrderHistory | None = None
    ) -> tuple[OrderHistory, list[pd.Timestamp]]:
        """The order history the snapshots come from (of the drawn customers) and the training cutoffs; ``history``,
        where given, is that of ``lines``, taken as it is when no customer is left out of the draw."""
        # Customers are drawn by their place among the sorted ids (the same draw as from the ids themselves): testing
        # a million lines' ids against 25,000 chosen strings took 0.3 s, picking them by code a millisecond.
        codes, customers = pd.factorize(lines["customer_id"], sort=True)
        if self.max_customers is not None and len(customers) > self.max_customers:
            drawn = np.random.default_rng(self.random_state).choice(len(customers), self.max_customers, replace=False)
            chosen = np.zeros(len(customers), dtype=bool)
            chosen[drawn] = True
            lines, history = lines[chosen[codes]], None
        cutoffs = self.training_cutoffs(lines, as_of)
        if len(cutoffs) < 2:
            needed = self.min_history_days + self.horizon_days + self.step_days
            raise NotEnoughHistory(
                f"The churn model needs orders covering at least {needed} days before the as-of day; "
                f"these orders start on {lines['timestamp'].min().date()}."
            )
        if history is None or history.horizon_days != self.horizon_days:
            history = OrderHistory(lines, self.horizon_days)
        return history, cutoffs

    def _snapshots(
        self,
        history: OrderHistory,
        cutoffs: list[pd.Timestamp],
        progress: Progress | None,
        featured: Container[int],
        features_at: Callable[[OrderHistory, pd.Timestamp], pd.DataFrame] = OrderHistory.features_at,
    ) -> pd.DataFrame:
        """A row per customer with orders before each cutoff, labelled ``churned``, with ``cutoff_number``; the
        features (``features_at`` of the history and the cutoff: all of them unless told) only at the cutoffs whose
        number is in ``featured`` (the other rows hold none)."""
        frames = []
        for number, cutoff in enumerate(cutoffs):
            if number in featured:
                features = features_at(history, cutoff)
                labels = history.churned_within(features.index, cutoff)
                frames.append(features.assign(churned=labels, cutoff_number=number))
            else:  # the same columns as the assigned ones, set as arrays (no empty frame copied to assign them)
                customers = history.customers_before(cutoff)
                labels = history.churned_within(customers, cutoff).to_numpy()
                number_of = np.full(len(customers), number, dtype=np.int64)
                frames.append(pd.DataFrame({"churned": labels, "cutoff_number": number_of}, index=customers))
            if progress is not None:
                progress(number + 1, len(cutoffs), f"features at past day {number + 1} of {len(cutoffs)}")
        return pd.concat(frames)

    def fit(
        self,
        lines: pd.DataFrame,
        as_of: date | str | pd.Timestamp,
        as_of_features: pd.DataFrame | None = None,
        progress: Progress | None = None,
    ) -> ChurnModel:
        """Learn from ``lines`` (validated order lines) before ``as_of``.

        ``as_of_features`` (``customer_features`` at ``as_of``, computed here when not given) are the customers
        the model will score, over whom its mean risk is set. ``progress`` hears each past cutoff's features
        (``done`` of ``total`` cutoffs), then ``total`` of ``total`` as the trees are fitted.
        """
        self._fit(lines, as_timestamp(as_of), as_of_features, progress)
        return self

    def fit_predict(
        self,
        lines: pd.DataFrame,
        as_of: date | str | pd.Timestamp,
        as_of_features: pd.DataFrame,
        progress: Progress | None = None,
        history: OrderHistory | None = None,
    ) -> pd.Series:
        """``fit``, then ``predict_features(as_of_features)``: the same risks, to the last bit, with the trees'
        log-odds of the customers at ``as_of`` taken once for both (``fit`` and ``predict_features`` made three
        passes through the 300 trees, each about a second for the 96,000 customers of the 100,000-customer demo
        shop). ``history``, where given, is the :class:`audience.features.OrderHistory` of ``lines`` (all before
        ``as_of``) that ``as_of_features`` came from, not rolled up again."""
        trees = self._fit(lines, as_timestamp(as_of), as_of_features, progress, history)
        return self._risk(as_of_features, trees)

    def _fit(
        self,
        lines: pd.DataFrame,
        as_of: pd.Timestamp,
        as_of_features: pd.DataFrame | None,
        progress: Progress | None,
        history: OrderHistory | None = None,
    ) -> np.ndarray | None:
        """What ``fit`` does; returns the trees' log-odds of ``as_of_features`` (None when BG/NBD gives the risk)."""
        # A small shop's risk is BG/NBD's, shifted by the churn at the cutoff a year back: its snapshots are counted
        # and labelled at every cutoff, but their features are taken at that cutoff only (taking them at all 18 was
        # three quarters of a 160-customer shop's profile time, for the same risks).
        before = lines["timestamp"] < as_of
        history, cutoffs = self._history(lines[before], as_of, history if before.all() else None)
        # There, BG/NBD's own outputs are the only features taken: the others were half its churn model's time.
        snapshots = sum(len(history.customers_before(cutoff)) for cutoff in cutoffs[1:])
        if snapshots >= self.small_shop_rows:
            training = self._snapshots(history, cutoffs, progress, range(len(cutoffs)))
        else:
            year_ago = [self._year_ago()]
            training = self._snapshots(history, cutoffs, progress, year_ago, OrderHistory.bgnbd_features_at)
        calibration = training[training.cutoff_number == 0]
        learning = training[training.cutoff_number > 0]
        one_outcome = learning["churned"].nunique() < 2 or calibration["churned"].nunique() < 2
        if len(learning) < MIN_TRAINING_ROWS:
            raise NotEnoughHistory(
                f"The churn model needs at least {MIN_TRAINING_ROWS} past customer snapshots to learn from; "
                f"these orders give {len(learning)}."
            )
        if one_outcome:
            raise NotEnoughHistory(
                f"The churn model needs past customers who came back and past customers who did not; in these "
                f"orders every one of the {len(training)} past snapshots has the same outcome (the history may be "
                f"too short for the {self.horizon_days}-day horizon)."
            )
        if as_of_features is None:
            as_of_features = customer_features(lines, as_of, self.horizon_days)
        if len(learning) < self.small_shop_rows:
            if as_of_features[BGNBD_FEATURES].isna().any(axis=None):
                raise NotEnoughHistory("BG/NBD, which gives a small shop's churn risk, could not be fitted.")
            self.kind_ = "bgnbd"
            self.feature_names_ = BGNBD_FEATURES
            self.season_shift_ = self._season_shift(training)
            as_of_trees = None
        else:
            self.kind_ = "boosted_trees"
            self.feature_names_ = [c for c in training.columns if c not in ("churned", "cutoff_number")]
            self.estimator_ = HistGradientBoostingClassifier(random_state=self.random_state, **self.booster_params)
            if progress is not None:
                cutoffs = int(training["cutoff_number"].max()) + 1
                progress(cutoffs, cutoffs, f"fitting the trees on {len(learning):,} customer snapshots")
            with self._trees_threads():
                self.estimator_.fit(learning[self.feature_names_], learning["churned"])
            churned, trees = calibration["churned"], self._log_odds(calibration)
            blended = self._blended_log_odds(calibration, trees)
            self.trees_calibrator_ = LogisticRegression(C=1e4).fit(trees[:, None], churned)
            self.calibrator_ = LogisticRegression(C=1e4).fit(blended[:, None], churned)
            as_of_trees = self._log_odds(as_of_features)
            self.level_shift_ = self._level_shift(as_of_features, as_of_trees)
        self.training_rows_ = len(training)
        self.base_rate_ = float(training["churned"].mean())
        return as_of_trees

    def _season_shift(self, training: pd.DataFrame) -> float:
        """Log-odds that would have set BG/NBD's mean P(no purchase) to the churn the shop saw a year earlier, at
        the training cutoff nearest that day (the same season); 0 without enough customers then."""
        then = training[training.cutoff_number == self._year_ago()]
        if len(then) < MIN_SEASON_ROWS:  # too few then, or none: a history shorter than a year has no such cutoff,
            return 0.0  # and a small shop's snapshots have features only there (``_fit``)
        risk = np.asarray(p_no_purchase(then["bgnbd_p_alive"], then["bgnbd_expected"]), dtype=float)
        known = np.isfinite(risk)
        if known.sum() < MIN_SEASON_ROWS:
            return 0.0
        log_odds, churned = _log_odds_of(risk[known]), float(then["churned"].to_numpy()[known].mean())
        return float(brentq(lambda shift: expit(log_odds + shift).mean() - churned, -20.0, 20.0))

    def _year_ago(self) -> int:
        """The number of the training cutoff nearest a year before the as-of day."""
        return round((365 - self.horizon_days) / self.step_days)

    def _trees_threads(self) -> threadpool_limits:
        return threadpool_limits(limits=self.threads, user_api="openmp")

    def _log_odds(self, features: pd.DataFrame) -> np.ndarray:
        with self._trees_threads():
            probability = self.estimator_.predict_proba(features[self.feature_names_])[:, 1]
        return _log_odds_of(probability)

    def _blended_log_odds(self, features: pd.DataFrame, trees: np.ndarray) -> np.ndarray:
        """The average of ``trees`` (the trees' log-odds of ``features``) and BG/NBD's."""
        bgnbd = _log_odds_of(p_no_purchase(features["bgnbd_p_alive"], features["bgnbd_expected"]))
        blended = (1 - BGNBD_WEIGHT) * trees + BGNBD_WEIGHT * bgnbd
        return np.where(np.isfinite(blended), blended, trees)  # BG/NBD could not be fitted at that cutoff

    def _calibrated_log_odds(self, features: pd.DataFrame, trees: np.ndarray) -> np.ndarray:
        return self.calibrator_.decision_function(self._blended_log_odds(features, trees)[:, None])

    def _level_shift(self, features: pd.DataFrame, trees: np.ndarray) -> float:
        """Log-odds that move the blend's mean risk over ``features`` (``trees`` their trees' log-odds) to the
        trees' calibrated mean risk."""
        target = self.trees_calibrator_.predict_proba(trees[:, None])[:, 1].mean()
        log_odds = self._calibrated_log_odds(features, trees)
        return brentq(lambda shift: expit(log_odds + shift).mean() - target, -20.0, 20.0)

    def predict_features(self, features: pd.DataFrame) -> pd.Series:
        """Calibrated P(no order within the horizon) for feature rows."""
        return self._risk(features, None if self.kind_ == "bgnbd" else self._log_odds(features))

    def _risk(self, features: pd.DataFrame, trees: np.ndarray | None) -> pd.Series:
        """``predict_features``, given the trees' log-odds of ``features`` (None for BG/NBD's risk)."""
        features = features.reindex(columns=self.feature_names_)
        if self.kind_ == "bgnbd":
            bgnbd = p_no_purchase(features["bgnbd_p_alive"], features["bgnbd_expected"])
            risk = expit(_log_odds_of(np.asarray(bgnbd, dtype=float)) + self.season_shift_)
        else:
            risk = expit(self._calibrated_log_odds(features, trees) + self.level_shift_)
        return pd.Series(risk, index=features.index, name="churn_risk")

    def predict(self, lines: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.Series:
        """Calibrated churn risk per customer with orders before ``as_of``."""
        return self.predict_features(customer_features(lines, as_timestamp(as_of), self.horizon_days))
