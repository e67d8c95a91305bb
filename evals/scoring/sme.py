"""Email Campaign SME: predict each email's status (0 ignored, 1 read, 2 acknowledged) from the send's features.

Protocol: a stratified 80/20 split (seeded; the same 20 % test rows as the former 60/20/20 split). On the
80 % part, 5-fold stratified cross-fitting: in each fold two binary LightGBM models, P(status >= 1) and
P(status >= 2) (an ordinal formulation that matches the cascade rule), are fitted with early stopping on the
held fold, giving out-of-fold (OOF) probabilities for all 80 % of the rows. The OOF probabilities are
calibrated per class (isotonic, one-vs-rest, renormalized) and the decision rule is a cascade: "acknowledged"
when P(acknowledged) > t2, else "read" when P(read or acknowledged) > t1, else "ignored", with the two
thresholds that maximize macro-F1 on the OOF rows (~55k rows instead of the former ~14k validation rows).
The test rows get the mean of the five fold models, through the same calibrators and thresholds; the
test split is scored once. Always answering "ignored" scores 0.804 accuracy, so compare on macro-F1 and
one-vs-rest AUC (published: 0.45 and 0.78).

Chosen by cross-fitted OOF macro-F1 (thresholds and calibration chosen on four folds' OOF rows, applied to
the fifth); the test split played no part. OOF scores (cascade on calibrated probabilities): ordinal 0.490,
multiclass 0.487, multiclass with class_weight="balanced" 0.482, smaller or larger trees 0.484-0.488, seed
bagging x3 0.489, blends with the multiclass model or a spline logistic regression 0.487-0.488, extra
features (missingness flags, links/images per word, email_type x campaign x time x source) 0.485, without
customer_location 0.486 (it carries no signal: read-or-acknowledged rate 0.22-0.24 in every location),
Email_ID as a number 0.487 (no signal; arbitrary, so unused). A per-class weight rule (argmax of weighted
probabilities) scored 0.478-0.482 and a cascade on P(read) + a * P(acknowledged) peaked at a = 1. Also
tried on the ordinal pair: P(acknowledged | engaged) as the second model 0.485, a more regularized second
model 0.483, the extra features 0.487, 10 folds 0.489. The same ordinal setup with LightGBM seeds 1 and 2
scores 0.485 and 0.489, so the variants are not separable beyond that noise; the target 0.50 was not
reached on OOF. Test: this protocol 0.477 macro-F1, 0.792 AUC; the former single-validation multiclass
protocol 0.474, 0.790 (a difference within the test split's noise, ~0.006).
"""

from __future__ import annotations

import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from evals.datasets import email_campaign_sme
from scoring.metrics import calibration_summary

CATEGORICAL = [
    "email_type",
    "email_source_type",
    "customer_location",
    "email_campaign_type",
    "time_email_sent_category",
]
NUMERIC = ["subject_hotness_score", "total_past_communications", "word_count", "total_links", "total_images"]


def _features(emails: pd.DataFrame) -> pd.DataFrame:
    features = emails[NUMERIC].astype(float).copy()
    for column in CATEGORICAL:
        features[column] = emails[column].astype(str).astype("category")
    return features


def _calibrate(raw: np.ndarray, status: np.ndarray) -> list[IsotonicRegression]:
    return [
        IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw[:, k], status == k)
        for k in range(raw.shape[1])
    ]


def _apply(calibrators: list[IsotonicRegression], raw: np.ndarray) -> np.ndarray:
    calibrated = np.column_stack([calibrator.predict(raw[:, k]) for k, calibrator in enumerate(calibrators)])
    calibrated = np.clip(calibrated, 1e-6, None)
    return calibrated / calibrated.sum(axis=1, keepdims=True)


def _cascade(probabilities: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    engaged = probabilities[:, 1] + probabilities[:, 2]
    return np.where(probabilities[:, 2] > thresholds[1], 2, np.where(engaged > thresholds[0], 1, 0))


def _macro_f1_of(confusion: np.ndarray) -> np.ndarray:
    """Macro-F1 of each 3x3 confusion matrix (true class by row, predicted by column) in the last two axes, from
    the counts alone (sklearn's is too slow inside a threshold grid)."""
    true_positive = np.diagonal(confusion, axis1=-2, axis2=-1)
    denominator = confusion.sum(axis=-2) + confusion.sum(axis=-1)
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros(denominator.shape), where=denominator > 0)
    return np.mean(f1, axis=-1)


def _best_thresholds(probabilities: np.ndarray, status: np.ndarray) -> tuple[tuple[float, float], float]:
    """The (t1, t2) of the grid whose cascade scores the best macro-F1, the first of equal scores in the grid's
    order (t1 outer). Each t2's confusion matrices for every t1 are counted at once (a sorted search of each
    class's engaged probabilities), where the 1,840 cascades, each over every row, took 0.7 CPU-s; the counts,
    and so the scores and the choice, are the same."""
    engaged = probabilities[:, 1] + probabilities[:, 2]
    engaged_cuts = np.quantile(engaged, np.linspace(0.5, 0.95, 46))
    acknowledged_cuts = np.quantile(probabilities[:, 2], np.linspace(0.8, 0.995, 40))
    scores = np.empty((len(engaged_cuts), len(acknowledged_cuts)))
    for column, t2 in enumerate(acknowledged_cuts):
        acknowledged = probabilities[:, 2] > t2
        confusion = np.zeros((len(engaged_cuts), 3, 3), dtype=np.int64)
        confusion[:, :, 2] = np.bincount(status[acknowledged], minlength=3)
        for true_class in range(3):
            rest = np.sort(engaged[~acknowledged & (status == true_class)])
            read = len(rest) - np.searchsorted(rest, engaged_cuts, side="right")  # engaged > t1
            confusion[:, true_class, 1] = read
            confusion[:, true_class, 0] = len(rest) - read
        scores[:, column] = _macro_f1_of(confusion)
    row, column = np.unravel_index(np.argmax(scores), scores.shape)  # argmax: the first of equal maxima
    return (float(engaged_cuts[row]), float(acknowledged_cuts[column])), float(scores[row, column])


def _ordinal(ge1: np.ndarray, ge2: np.ndarray) -> np.ndarray:
    """Three class probabilities from P(status >= 1) and P(status >= 2), the latter capped by the former."""
    ge2 = np.minimum(ge2, ge1)
    return np.column_stack([1 - ge1, ge1 - ge2, ge2])


def evaluate(quick: bool = False, seed: int = 42, folds: int = 5) -> dict:
    started = time.perf_counter()
    emails = email_campaign_sme()
    if quick:
        emails = emails.sample(n=min(30_000, len(emails)), random_state=seed)
    features, status = _features(emails), emails["email_status"].to_numpy(int)
    rest_x, test_x, rest_y, test_y = train_test_split(
        features, status, test_size=0.2, stratify=status, random_state=seed
    )
    params = dict(
        objective="binary",
        n_estimators=150 if quick else 600,
        learning_rate=0.05 if quick else 0.03,
        num_leaves=15,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        verbose=-1,
        n_jobs=1,
    )
    oof = np.zeros((len(rest_y), 3))
    test_raw = np.zeros((len(test_y), 3))
    trees: list[list[int]] = []
    for fit_rows, held_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rest_x, rest_y):
        held, on_test, fold_trees = [], [], []
        for cut in (1, 2):
            model = lgb.LGBMClassifier(**params)
            model.fit(
                rest_x.iloc[fit_rows],
                (rest_y[fit_rows] >= cut).astype(int),
                eval_X=rest_x.iloc[held_rows],
                eval_y=(rest_y[held_rows] >= cut).astype(int),
                callbacks=[lgb.early_stopping(50, verbose=False)],
            )
            held.append(model.predict_proba(rest_x.iloc[held_rows])[:, 1])
            on_test.append(model.predict_proba(test_x)[:, 1])
            fold_trees.append(int(model.best_iteration_ or model.n_estimators))
        oof[held_rows] = _ordinal(*held)
        test_raw += _ordinal(*on_test) / folds
        trees.append(fold_trees)
    calibrators = _calibrate(oof, rest_y)
    thresholds, oof_f1 = _best_thresholds(_apply(calibrators, oof), rest_y)
    test_probabilities = _apply(calibrators, test_raw)
    predicted = _cascade(test_probabilities, thresholds)
    engaged = test_probabilities[:, 1:].sum(axis=1)
    return {
        "dataset": "email-campaign-sme (stratified 80/20, 5-fold OOF on the 80 %)",
        "quick": quick,
        "seed": seed,
        "rows": len(emails),
        "test_rows": len(test_y),
        "trees_engaged_acknowledged_by_fold": trees,
        "thresholds_engaged_acknowledged": list(thresholds),
        "oof_macro_f1": oof_f1,
        "macro_f1": float(f1_score(test_y, predicted, average="macro")),
        "f1_by_class": f1_score(test_y, predicted, average=None).round(4).tolist(),
        "accuracy": float(accuracy_score(test_y, predicted)),
        "always_ignored_accuracy": float(np.mean(test_y == 0)),
        "auc_ovr_macro": float(roc_auc_score(test_y, test_probabilities, multi_class="ovr", average="macro")),
        "auc_ovr_by_class": [round(float(roc_auc_score(test_y == k, test_probabilities[:, k])), 4) for k in range(3)],
        "calibration_engaged": calibration_summary((test_y >= 1).astype(float), engaged),
        "calibration_by_class": {
            str(k): {
                key: value
                for key, value in calibration_summary((test_y == k).astype(float), test_probabilities[:, k]).items()
                if key != "reliability"
            }
            for k in range(3)
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
