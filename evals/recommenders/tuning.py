"""Hyper-parameter search with Optuna on a validation split built inside the training data (never the test).

`tune(model_name, split, products, trials)` returns the best parameters found for that model, maximising
Recall@10 on the validation split (over new-to-customer products where repeats don't exist, otherwise the
mean of all-products and new-products Recall@10).
"""

from __future__ import annotations

import logging

import optuna
import pandas as pd

from evals.recommenders.evaluate import evaluate
from evals.recommenders.protocols import Split
from recommenders.base import FitProgress


def _space(model_name: str, trial: optuna.Trial) -> dict:
    if model_name == "als":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128, 256]),
            "regularization": trial.suggest_float("regularization", 1e-3, 10.0, log=True),
            "alpha": trial.suggest_float("alpha", 0.5, 50.0, log=True),
            "iterations": trial.suggest_int("iterations", 10, 30),
            "preparation": {"confidence": trial.suggest_categorical("confidence", ["none", "log", "bm25"])},
        }
    if model_name == "bpr":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.1, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 0.1, log=True),
            "iterations": trial.suggest_int("iterations", 50, 300),
        }
    if model_name in ("item_knn", "bm25"):
        return {
            "similarity": trial.suggest_categorical("similarity", ["cosine", "bm25", "tfidf"]),
            "neighbours": trial.suggest_int("neighbours", 10, 400, log=True),
        }
    if model_name == "ease":
        return {"regularization": trial.suggest_float("regularization", 10.0, 3000.0, log=True)}
    if model_name == "ease_hybrid":
        return {
            "regularization": trial.suggest_float("regularization", 100.0, 3000.0, log=True),
            "side_weight": trial.suggest_float("side_weight", 0.0, 10.0),
            "neighbours": trial.suggest_int("neighbours", 20, 400, log=True),
            "knn_weight": trial.suggest_float("knn_weight", 0.0, 0.4),
            "factors": trial.suggest_categorical("factors", [16, 32, 64, 128]),
            "spectral_weight": trial.suggest_float("spectral_weight", 0.0, 0.4),
        }
    if model_name == "blend":
        return {
            "collaborative_params": {"regularization": trial.suggest_float("ease_l2", 50.0, 2000.0, log=True)},
            "half_life_days": trial.suggest_float("half_life_days", 15.0, 180.0, log=True),
            "candidates": trial.suggest_categorical("candidates", [20, 50, 100]),
            "regularization": trial.suggest_float("regularization", 0.01, 10.0, log=True),
        }
    raise ValueError(f"no search space for '{model_name}'")


TUNABLE = ("als", "bpr", "item_knn", "ease", "ease_hybrid", "blend")


def objective_value(metrics: dict) -> float:
    new = metrics["new"]["recall@10"]
    return (metrics["all"]["recall@10"] + new) / 2 if "all" in metrics else new


def tune(
    model_name: str,
    split: Split,
    products: pd.DataFrame | None,
    trials: int = 20,
    seed: int = 0,
    fixed: dict | None = None,
    progress: FitProgress | None = None,
) -> tuple[dict, float]:
    """Best (params, validation objective) after `trials` Optuna trials on `split.validation()`; `fixed` parameters
    (the run's own configuration, such as the quick run's one training window) hold in every trial. ``progress``
    hears (trials done, trials) as each trial starts."""
    validation = split.validation()
    # ERROR: a trial's error is raised out of the search, for its caller to tell once; Optuna's own warning of it
    # wrote its traceback in plain text into the server's JSON log when a tuning job was cancelled or stopped
    optuna.logging.set_verbosity(logging.ERROR)

    def objective(trial: optuna.Trial) -> float:
        if progress is not None:
            progress(trial.number, trials, f"trial {trial.number + 1} of {trials}")
        params = _space(model_name, trial) | (fixed or {})
        trial.set_user_attr("params", params)
        return objective_value(evaluate(model_name, params, validation, products, beyond=False))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return study.best_trial.user_attrs["params"], float(study.best_value)
