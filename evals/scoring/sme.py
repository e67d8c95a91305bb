"""Email Campaign SME: predict each email's status (0 ignored, 1 read, 2 acknowledged) from the send's features.

Protocol: a stratified 60/20/20 train/validation/test split (seeded). A LightGBM multiclass model is fitted
on train with early stopping on validation; its probabilities are calibrated per class on validation
(isotonic, one-vs-rest, renormalized). The decision rule is a cascade: "acknowledged" when
P(acknowledged) > t2, else "read" when P(read or acknowledged) > t1, else "ignored"; the thresholds that
maximize macro-F1 on validation are kept (a per-class weight rule scored lower in 5-fold out-of-fold checks
on the training part, 0.482 against 0.488). The test split is scored once. Always answering
"ignored" scores 0.804 accuracy, so compare on macro-F1 and one-vs-rest AUC (published: 0.45 and 0.78).
"""

from __future__ import annotations

import itertools
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

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


def _calibrate(raw_validation: np.ndarray, status_validation: np.ndarray) -> list[IsotonicRegression]:
    return [
        IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw_validation[:, k], status_validation == k)
        for k in range(raw_validation.shape[1])
    ]


def _apply(calibrators: list[IsotonicRegression], raw: np.ndarray) -> np.ndarray:
    calibrated = np.column_stack([calibrator.predict(raw[:, k]) for k, calibrator in enumerate(calibrators)])
    calibrated = np.clip(calibrated, 1e-6, None)
    return calibrated / calibrated.sum(axis=1, keepdims=True)


def _cascade(probabilities: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    engaged = probabilities[:, 1] + probabilities[:, 2]
    return np.where(probabilities[:, 2] > thresholds[1], 2, np.where(engaged > thresholds[0], 1, 0))


def _macro_f1(status: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the three classes via one bincount (sklearn's is too slow inside a threshold grid)."""
    confusion = np.bincount(status * 3 + predicted, minlength=9).reshape(3, 3)
    true_positive = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    return float(np.mean(np.divide(2 * true_positive, denominator, out=np.zeros(3), where=denominator > 0)))


def _best_thresholds(probabilities: np.ndarray, status: np.ndarray) -> tuple[tuple[float, float], float]:
    engaged = probabilities[:, 1] + probabilities[:, 2]
    best, best_f1 = (0.5, 0.5), -1.0
    for t1, t2 in itertools.product(
        np.quantile(engaged, np.linspace(0.5, 0.95, 46)), np.quantile(probabilities[:, 2], np.linspace(0.8, 0.995, 40))
    ):
        score = _macro_f1(status, _cascade(probabilities, (t1, t2)))
        if score > best_f1:
            best, best_f1 = (float(t1), float(t2)), score
    return best, best_f1


def evaluate(quick: bool = False, seed: int = 42) -> dict:
    started = time.perf_counter()
    emails = email_campaign_sme()
    if quick:
        emails = emails.sample(n=min(30_000, len(emails)), random_state=seed)
    features, status = _features(emails), emails["email_status"].to_numpy(int)
    rest_x, test_x, rest_y, test_y = train_test_split(
        features, status, test_size=0.2, stratify=status, random_state=seed
    )
    train_x, valid_x, train_y, valid_y = train_test_split(
        rest_x, rest_y, test_size=0.25, stratify=rest_y, random_state=seed
    )
    model = lgb.LGBMClassifier(
        objective="multiclass",
        n_estimators=150 if quick else 600,
        learning_rate=0.05 if quick else 0.03,
        num_leaves=15,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        verbose=-1,
        n_jobs=2,
    )
    model.fit(train_x, train_y, eval_X=valid_x, eval_y=valid_y, callbacks=[lgb.early_stopping(50, verbose=False)])
    calibrators = _calibrate(model.predict_proba(valid_x), valid_y)
    valid_probabilities = _apply(calibrators, model.predict_proba(valid_x))
    thresholds, valid_f1 = _best_thresholds(valid_probabilities, valid_y)
    test_probabilities = _apply(calibrators, model.predict_proba(test_x))
    predicted = _cascade(test_probabilities, thresholds)
    engaged = test_probabilities[:, 1:].sum(axis=1)
    return {
        "dataset": "email-campaign-sme (stratified 60/20/20)",
        "quick": quick,
        "seed": seed,
        "rows": len(emails),
        "test_rows": len(test_y),
        "trees": int(model.best_iteration_ or model.n_estimators),
        "thresholds_engaged_acknowledged": list(thresholds),
        "validation_macro_f1": valid_f1,
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
