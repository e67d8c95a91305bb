"""The engagement model: calibrated P(open), P(click) and P(conversion) for each variant of each draft.

The three probabilities are a chain, so that they can never contradict each other:
``p_open = P(open)``, ``p_click = p_open * P(click | open)`` and ``p_conversion = p_click * P(conversion | click)``.
Each link is a logistic regression over copy (counts, word and character n-grams of the subject), context and
product features (see ``features.py``), fitted on 80 % of its rows and calibrated (isotonic with enough
positives, Platt otherwise) on the other 20 %, whose held-out AUC and Brier score are kept as the model's
metrics. A link with too few positives to learn from falls back to its observed rate. A linear model keeps the
reasons honest: each reason is a feature's contribution to the log-odds relative to the average training send.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_array

from scoring.artifacts import load_model, save_model
from scoring.errors import NotEnoughData, NotFitted, require_columns
from scoring.features import (
    ABSENT_FEATURE_WORDS,
    COPY_FEATURE_WORDS,
    NAME_TOKEN,
    OPTIONAL_NUMERIC,
    OUTCOME_COLUMNS,
    design_parts,
    subject_ngrams,
)
from scoring.history import HISTORY_COLUMNS, customer_totals, prediction_history, training_history

MODEL_VERSION = 2
MIN_POSITIVES = 20
# An optional column (churn risk, recommendation score) is learned from once this many sends, and this share
# of all sends, carry it (see EngagementModel._learn_optional_columns).
MIN_OPTIONAL_ROWS = 100
MIN_OPTIONAL_SHARE = 0.2
# Character n-grams read what words miss (inflections, misspellings, emoji, compound words). On the demo store's
# templated subjects they tie with words alone: validation on the last fifth of the training period, open AUC
# 0.7284 -> 0.7282, click 0.6449 -> 0.6472, conversion 0.6604 -> 0.6617 with 1,000 of them; fitting 16,730
# sends takes 4.5 s instead of 1.3 s.
CHAR_FEATURES = 1000
CATEGORY_WORDS = {
    "campaign_type": "a {} campaign",
    "locale": "locale {}",
    "segment": "the {} segment",
    # The hour and day of the send in UTC, as sends keep their times and the model learns them: a shop on another
    # clock (TAILOR_SEND_TIMEZONE) read "sending at 14:00" as its own 14:00, in New York 9:00's reason.
    "hour": "sending at {}:00 UTC",
    "weekday": "sending on {} (UTC)",
}
OUTCOME_WORDS = {"open": "an open", "click": "a click after opening", "conversion": "a purchase after clicking"}
# Words a reason never gives as its example of the subject's wording: a copywriter learns nothing from 'e.g. "to"'.
# The model still weighs them; a subject whose strongest n-grams are all such words is "the subject's wording".
_FUNCTION_WORDS_BY_LANGUAGE = {
    "en": "a an the and or but nor so to of in on at for with from by as into about is are be was were been it its "
    "this that these those you your yours we our ours us i my me he she they them their his her not no do does can "
    "will",
    "de": "und oder der die das den dem ein eine mit für zu von im am ist sie ihr ihre wir unser",
    "pl": "i w z na do dla o od to że się",
    "ru": "и в с на для к по от о а но не это вы ваш",
    "bg": "и в с на за от по да не се ви ваш",
    "fr": "le la les un une des du de et ou à au aux pour avec dans sur en est vous votre vos nous notre nos ce ces "
    "qui que",
    "es": "el la los las un una y o de del al a en con para por es su sus usted nuestro nuestra que se",
    "it": "il lo la i gli le un una e o di del della a al in con per su è lei suo sua nostro nostra che si",
    "pt": "o a os as um uma e ou de do da dos das em no na com para por é seu sua nosso nossa que se",
    "nl": "de het een en of van in op te met voor is u uw we ons onze die dat",
}
FUNCTION_WORDS = frozenset(word for words in _FUNCTION_WORDS_BY_LANGUAGE.values() for word in words.split())
# Rows designed, scored and explained at once: a row's transformed features take a few KB, so a campaign of
# 100,000 variants goes through in pieces of bounded size. The results do not depend on it.
CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class _Explaining:
    """What a fitted link's explanations read of its pipeline: the input columns its features sum into
    (``weights``: features x columns, each feature's coefficient in its column), the average training send's push
    per column, and the subject's n-grams a reason may quote with their absolute weights and words ("" last)."""

    columns: list[str]
    weights: sparse.csr_matrix
    baseline_pushes: np.ndarray
    text_columns: np.ndarray
    text_weights: np.ndarray
    words: np.ndarray


# What a link works out of its fitted pipeline when first asked, then remembers (neither saved nor kept by a refit).
_REMEMBERED = ("_feature_names", "_explaining_parts")


@dataclass
class Link:
    """One calibrated binary model of the chain, or a constant rate when its data are too thin."""

    name: str
    rate: float = 0.0
    pipeline: Pipeline | None = None
    calibrated: CalibratedClassifierCV | None = None
    baseline: np.ndarray | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def fit(self, design: pd.DataFrame, outcome: np.ndarray, *, C: float, seed: int) -> Link:
        for remembered in _REMEMBERED:  # they belong to a pipeline fitted before
            self.__dict__.pop(remembered, None)
        self.rate = float(outcome.mean()) if len(outcome) else 0.0
        positives, negatives = int(outcome.sum()), int(len(outcome) - outcome.sum())
        self.metrics = {"rows": float(len(outcome)), "positives": float(positives), "rate": self.rate}
        if min(positives, negatives) < MIN_POSITIVES:
            return self
        fit_part, calibration_part = train_test_split(
            np.arange(len(outcome)), test_size=0.2, stratify=outcome, random_state=seed
        )
        self.pipeline = _pipeline(design, C, min_df=3 if len(outcome) >= 1000 else 1)
        self.pipeline.fit(design.iloc[fit_part], outcome[fit_part])
        method = "isotonic" if outcome[calibration_part].sum() >= 200 else "sigmoid"
        # The frozen pipeline predicts the same whatever the folds, so an unstratified split gives the same
        # calibration as the default stratified one without its warning when a class has under 5 rows here.
        self.calibrated = CalibratedClassifierCV(FrozenEstimator(self.pipeline), method=method, cv=KFold(2))
        calibration_rows = design.iloc[calibration_part]
        self.calibrated.fit(calibration_rows, outcome[calibration_part])
        held_out = self.calibrated.predict_proba(calibration_rows)[:, 1]
        self.metrics |= {
            "auc_held_out": float(roc_auc_score(outcome[calibration_part], held_out)),
            "brier_held_out": float(brier_score_loss(outcome[calibration_part], held_out)),
            "calibration": method,
        }
        fitted_rows = transform_columns(self.pipeline.named_steps["columns"], design.iloc[fit_part])
        self.baseline = np.asarray(fitted_rows.mean(axis=0)).ravel()
        return self

    def predict(self, design: pd.DataFrame | DesignColumns, features: sparse.csr_matrix | None = None) -> np.ndarray:
        """Calibrated probabilities; ``features``, when given, are ``self.features(design)`` already computed.

        What ``self.calibrated.predict_proba(design)[:, 1]`` gives: the regression's decision values, mapped by
        the calibrator of each calibrated classifier and averaged, so that rows already transformed to explain
        them are not transformed again.
        """
        if self.calibrated is None:
            return np.full(len(design), self.rate)
        transformed = self.features(design) if features is None else features
        decision = self.pipeline[-1].decision_function(transformed)
        members = self.calibrated.calibrated_classifiers_
        return np.mean([member.calibrators[0].predict(decision) for member in members], axis=0)

    def features(self, design: pd.DataFrame | DesignColumns) -> sparse.csr_matrix:
        """The rows as the fitted model sees them (before its coefficients), sparse."""
        return sparse.csr_matrix(transform_columns(self.pipeline.named_steps["columns"], design))

    def feature_names(self) -> np.ndarray:
        """The names of the fitted pipeline's features, in column order (asked for once, then remembered)."""
        names = self.__dict__.get("_feature_names")
        if names is None:
            names = self._feature_names = self.pipeline[:-1].get_feature_names_out()
        return names

    def __getstate__(self) -> dict:
        """What a saved link holds: what ``feature_names`` and ``_explaining`` remember is worked out again."""
        return {name: value for name, value in self.__dict__.items() if name not in _REMEMBERED}

    def _explaining(self) -> _Explaining:
        """What explaining reads of the fitted pipeline, worked out once (every batch of a campaign asked again)."""
        explaining = self.__dict__.get("_explaining_parts")
        if explaining is None:
            names = self.feature_names()
            groups = [_source_column(name) for name in names]
            columns = list(dict.fromkeys(groups))
            position = {column: i for i, column in enumerate(columns)}
            coefficients = self.pipeline[-1].coef_.ravel()
            weights = sparse.csr_matrix(
                (coefficients, (np.arange(len(groups)), [position[group] for group in groups])),
                shape=(len(groups), len(columns)),
            )
            text_columns = np.array(
                [
                    name.startswith("text__word__") and name[len("text__word__") :] not in FUNCTION_WORDS
                    for name in names
                ],
                dtype=bool,
            )
            words = np.array([name[len("text__word__") :] for name in names[text_columns]] + [""], dtype=object)
            explaining = self._explaining_parts = _Explaining(
                columns=columns,
                weights=weights,
                baseline_pushes=weights.T @ self.baseline,
                text_columns=text_columns,
                text_weights=np.abs(coefficients[text_columns]),
                words=words,
            )
        return explaining

    def contributions(
        self, design: pd.DataFrame | DesignColumns, features: sparse.csr_matrix | None = None
    ) -> pd.DataFrame:
        """Each input column's push on the log-odds, relative to the average training send; ``features``, when
        given, are ``self.features(design)`` already computed.

        Columns: numeric feature names, categorical column names and ``subject_text`` (all n-grams together).
        """
        if self.pipeline is None or self.baseline is None:
            return pd.DataFrame(index=_frame(design).index)
        pushes, columns = self._pushes(design, features)
        return pd.DataFrame(pushes, index=_frame(design).index, columns=columns)

    def _pushes(
        self, design: pd.DataFrame | DesignColumns, features: sparse.csr_matrix | None
    ) -> tuple[np.ndarray, list[str]]:
        """:meth:`contributions` as an array (rows x columns) and its column names, for a fitted pipeline."""
        # Sum over a column's features of (x - baseline) * coefficient, as x @ weights - baseline @ weights with
        # one weighted column per input column: the features stay sparse (a dense row is some 2,000 floats).
        transformed = self.features(design) if features is None else features
        explaining = self._explaining()
        return (transformed @ explaining.weights).toarray() - explaining.baseline_pushes, explaining.columns

    def strongest_words(
        self, design: pd.DataFrame | DesignColumns, features: sparse.csr_matrix | None = None
    ) -> list[str]:
        """For each row, the subject n-gram present in it with the largest absolute coefficient, a lone function
        word aside ("" if none); ``features`` as in :meth:`contributions`."""
        if self.pipeline is None:
            return [""] * len(design)
        explaining = self._explaining()
        text_columns, weights, words = explaining.text_columns, explaining.text_weights, explaining.words
        transformed = sparse.csr_matrix((self.features(design) if features is None else features)[:, text_columns])
        transformed.sum_duplicates()
        # Per row, the first of its stored n-grams (in column order) with the largest weight, as np.argmax picks.
        starts, ends = transformed.indptr[:-1], transformed.indptr[1:]
        order = np.lexsort(
            (transformed.indices, -weights[transformed.indices], np.repeat(np.arange(len(starts)), ends - starts))
        )
        first = np.full(len(starts), len(words) - 1)
        present = ends > starts
        first[present] = transformed.indices[order[starts[present]]]
        return words[first].tolist()


class DesignColumns:
    """A design frame's columns as arrays, each read from the frame once: a campaign batch's links (and their
    reasons) read the same columns, and a pandas column read cost more than the arithmetic done on it."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._read: dict[tuple, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def values(self, column: str) -> np.ndarray:
        """``frame[column].to_numpy()``."""
        return self._once(("values", column), lambda: self.frame[column].to_numpy())

    def objects(self, column: str) -> np.ndarray:
        """``frame[column].to_numpy(dtype=object)``."""
        return self._once(("objects", column), lambda: self.frame[column].to_numpy(dtype=object))

    def numbers(self, columns: list[str]) -> np.ndarray:
        """``frame[columns].to_numpy(dtype=np.float64)``, not to be written to (copy it first)."""
        return self._once(("numbers", *columns), lambda: self.frame[columns].to_numpy(dtype=np.float64))

    def _once(self, key: tuple, read: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]


def _frame(design: pd.DataFrame | DesignColumns) -> pd.DataFrame:
    return design.frame if isinstance(design, DesignColumns) else design


def transform_columns(
    columns: ColumnTransformer, design: pd.DataFrame | DesignColumns
) -> sparse.csr_matrix | np.ndarray:
    """``columns.transform(design)``, the same matrix down to the order of each row's entries, without the checks
    and the job dispatch a fitted column transformer goes through for each part: its scaler's and one-hot encoder's
    arithmetic done here on the design's arrays, its n-grams by the fitted parts themselves. Those checks and
    conversions of the design's text columns took three quarters of a campaign batch's transform. ``design`` may
    be a frame's ``DesignColumns``, whose columns the links of a batch then read once between them."""
    if not isinstance(design, DesignColumns):
        design = DesignColumns(design)
    parts, checked = [], []  # checked: a part made here, already what check_array would return for it
    for _, transformer, selected in columns.transformers_:
        if isinstance(transformer, str) or (isinstance(selected, list) and not selected):
            continue  # the dropped remainder, or a part with no column to read
        if isinstance(selected, list) and isinstance(transformer, StandardScaler):
            parts.append(_scaled(transformer, design, selected))
            checked.append(True)
        elif isinstance(selected, list) and isinstance(transformer, OneHotEncoder) and _plain_one_hot(transformer):
            parts.append(_one_hot(transformer, design, selected))
            checked.append(True)
        elif isinstance(transformer, FeatureUnion) and _plain_union(transformer) and isinstance(selected, str):
            texts = design.objects(selected)
            union = [part.transform(texts) for _, part in transformer.transformer_list]
            parts.append(sparse.hstack(union).tocsr() if any(sparse.issparse(p) for p in union) else np.hstack(union))
            checked.append(False)
        else:
            parts.append(transformer.transform(design.frame[selected]))
            checked.append(False)
    if columns.sparse_output_:
        return sparse.hstack(
            [
                X if done else check_array(X, accept_sparse=True, ensure_all_finite=False)
                for X, done in zip(parts, checked, strict=True)
            ]
        ).tocsr()
    return np.hstack([part.toarray() if sparse.issparse(part) else part for part in parts])


def _scaled(scaler: StandardScaler, design: DesignColumns, selected: list[str]) -> np.ndarray:
    """``scaler.transform(design[selected])``: the same subtraction and division, on a copy of the columns."""
    values = design.numbers(selected).copy()
    if scaler.with_mean and scaler.mean_ is not None:
        values -= scaler.mean_
    if scaler.with_std and scaler.scale_ is not None:
        values /= scaler.scale_
    return values


def _plain_union(union: FeatureUnion) -> bool:
    """Whether ``union`` joins its parts' outputs as they are (no weights, no part dropped or passed through)."""
    return union.transformer_weights is None and not any(isinstance(part, str) for _, part in union.transformer_list)


def _plain_one_hot(encoder: OneHotEncoder) -> bool:
    """Whether ``encoder`` is the engagement model's kind: every category a column of its own, unknown ones none."""
    return (
        encoder.handle_unknown == "ignore"
        and encoder.drop is None
        and encoder.max_categories is None
        and encoder.min_frequency is None
        and encoder.sparse_output
        and all(categories.dtype == object and not pd.isna(categories).any() for categories in encoder.categories_)
    )


def _one_hot(encoder: OneHotEncoder, design: DesignColumns, selected: list[str]) -> sparse.csr_matrix:
    """``encoder.transform(design[selected])`` for a ``_plain_one_hot`` encoder: each known value's column, built
    as the encoder builds its matrix."""
    codes = np.zeros((len(design), len(selected)), dtype=int)
    known = np.ones((len(design), len(selected)), dtype=bool)
    for i, (column, categories) in enumerate(zip(selected, encoder.categories_, strict=True)):
        position = {category: j for j, category in enumerate(categories)}
        found = np.fromiter((position.get(value, -1) for value in design.objects(column)), dtype=int)
        known[:, i] = found >= 0
        codes[:, i] = np.where(found >= 0, found, 0)
    mask = known.ravel()
    offsets = np.cumsum([0, *(len(categories) for categories in encoder.categories_)])
    indices = (codes + offsets[:-1]).ravel()[mask]
    indptr = np.empty(len(design) + 1, dtype=int)
    indptr[0] = 0
    np.sum(known, axis=1, out=indptr[1:], dtype=indptr.dtype)
    np.cumsum(indptr[1:], out=indptr[1:])
    encoded = sparse.csr_matrix(
        (np.ones(indptr[-1]), indices, indptr), shape=(len(design), offsets[-1]), dtype=encoder.dtype
    )
    encoded.indices, encoded.indptr = encoded.indices.astype(np.int32), encoded.indptr.astype(np.int32)
    return encoded


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """``frame`` in pieces of at most ``CHUNK_ROWS`` rows, in order (an empty frame is one empty piece)."""
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        yield frame.iloc[start : start + CHUNK_ROWS]


def _check_outcomes(counts: dict[str, int]) -> None:
    for outcome in counts:
        if outcome not in OUTCOME_WORDS:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOME_WORDS)}, not {outcome!r}")


def _source_column(feature_name: str) -> str:
    kind, _, rest = feature_name.partition("__")
    if kind == "cat":
        return next((column for column in CATEGORY_WORDS if rest.startswith(column + "_")), rest)
    if kind == "text":
        return "subject_text"
    return rest


def _reason_words(column: str, value: object, word: str) -> str:
    if column in CATEGORY_WORDS:
        # an imported send whose file named no segment: "the  segment" said nothing
        return CATEGORY_WORDS[column].format(str(value).replace("_", " ").strip() or "unknown")
    if column == "subject_text":
        # The customer's name is learned as one placeholder word; a person reads it as what it stands for.
        shown = re.sub(rf"\b{NAME_TOKEN}\b", "[first name]", word)
        return f'the subject\'s wording (e.g. "{shown}")' if word else "the subject's wording"
    words = COPY_FEATURE_WORDS.get(column, column)
    if column in ABSENT_FEATURE_WORDS and not value:
        return ABSENT_FEATURE_WORDS[column]
    return words


def _pipeline(design: pd.DataFrame, C: float, min_df: int) -> Pipeline:
    numeric = [column for column in design.columns if column in COPY_FEATURE_WORDS]
    categorical = [column for column in design.columns if column in CATEGORY_WORDS]
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("text", subject_ngrams(max_char_features=CHAR_FEATURES, min_df=min_df), "subject_text"),
        ]
    )
    # L-BFGS rather than liblinear: the same held-out figures (demo store, 16,730 sends: open AUC 0.7224 ->
    # 0.7218, click 0.6519 -> 0.6514) at a third of the time on 138,135 sends (30.9 s -> 9.6 s), where
    # liblinear took four fifths of the whole fit; it converges in about 100 iterations there.
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=C, solver="lbfgs", max_iter=2000))])


def chain_outcomes(sends: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``opened``, ``clicked``, ``converted`` (0/1) made a chain: a conversion counts as a click and a click as
    an open (a click without a recorded open happens when images are blocked)."""
    opened, clicked, converted = (sends[column].fillna(0).to_numpy().astype(int) for column in OUTCOME_COLUMNS)
    clicked = np.maximum(clicked, converted)
    return np.maximum(opened, clicked), clicked, converted


class EngagementModel:
    """Calibrated P(open), P(click), P(conversion) for sends or planned variants (the sends shape)."""

    name = "engagement"

    def __init__(self, *, C: float = 0.5, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state
        self.links: dict[str, Link] = {}
        self.metadata: dict[str, object] = {}

    def fit(self, sends: pd.DataFrame) -> EngagementModel:
        require_columns(sends, ["subject", *OUTCOME_COLUMNS], "sends")
        if len(sends) < 2 * MIN_POSITIVES:
            raise NotEnoughData(
                f"Only {len(sends)} past sends were given; the engagement model needs at least "
                f"{2 * MIN_POSITIVES} with opens and non-opens among them."
            )
        started = time.perf_counter()
        opened, clicked, converted = chain_outcomes(sends)
        self._open_rate = float(opened.mean())
        self._customer_totals = customer_totals(sends)
        design = self._design(sends, training=True).reset_index(drop=True)
        self.links = {"open": Link("open").fit(design, opened, C=self.C, seed=self.random_state)}
        if self.links["open"].calibrated is None:
            raise NotEnoughData(
                f"The sends hold {int(opened.sum())} opens out of {len(opened)}; the model needs at least "
                f"{MIN_POSITIVES} opens and {MIN_POSITIVES} non-opens."
            )
        was_opened, was_clicked = opened == 1, clicked == 1
        self.links["click"] = Link("click").fit(
            design[was_opened], clicked[was_opened], C=self.C, seed=self.random_state
        )
        self.links["conversion"] = Link("conversion").fit(
            design[was_clicked], converted[was_clicked], C=self.C, seed=self.random_state
        )
        self.metadata = {
            "version": MODEL_VERSION,
            "training_size": len(sends),
            "fit_seconds": round(time.perf_counter() - started, 3),
            "rates": {
                "open": float(opened.mean()),
                "click": float(clicked.mean()),
                "conversion": float(converted.mean()),
            },
            "metrics": {name: link.metrics for name, link in self.links.items()},
        }
        return self

    def _design(self, frame: pd.DataFrame, training: bool = False) -> pd.DataFrame:
        """Copy, context and product features plus the customer's past engagement (and optional columns that
        the model saw in training, missing ones filled with their training median)."""
        # The numbers are worked on as arrays and the frame built once: a column at a time through pandas was most
        # of a campaign batch's design. Columns in the order design_frame, the history, then the optional columns
        # the variants lack.
        numeric, others = design_parts(frame)
        history = (
            training_history(frame, self._open_rate)
            if training
            else prediction_history(frame, self._customer_totals, self._open_rate)
        )
        after = dict(zip(HISTORY_COLUMNS, history[HISTORY_COLUMNS].to_numpy().T, strict=True))
        if training:
            self._learn_optional_columns({**numeric, **after}, len(frame))
            self._numeric_ranges = {
                column: (float(pd.Series(values).min()), float(pd.Series(values).max()))
                for column, values in {**numeric, **after}.items()
                if column in COPY_FEATURE_WORDS and column not in OPTIONAL_NUMERIC
            }
        # Clipped to what training saw: the model is linear in each number, so a value far outside that range
        # (a subject in capitals, 60 products) moved the log-odds as far as it liked (an open rate of 47 % became
        # 85 % for the same subject in capitals) on nothing the sends showed.
        bounds = {
            column: bound
            for column, bound in getattr(self, "_numeric_ranges", {}).items()
            if column in numeric or column in after
        }
        ranges = getattr(self, "_optional_ranges", {})
        for column in OPTIONAL_NUMERIC:
            if column in self._optional_medians:
                part = numeric if column in numeric else after
                values = part.get(column, np.full(len(frame), np.nan))
                part[column] = np.where(np.isnan(values), self._optional_medians[column], values)
                bounds[column] = ranges.get(column, (-np.inf, np.inf))
            else:
                numeric.pop(column, None)
        for column, (low, high) in bounds.items():  # a bound pandas' clip would be given as NaN is no bound
            part = numeric if column in numeric else after
            part[column] = np.clip(part[column], -np.inf if np.isnan(low) else low, np.inf if np.isnan(high) else high)
        return pd.concat(
            [pd.DataFrame(numeric, index=frame.index), others, pd.DataFrame(after, index=frame.index)], axis=1
        )

    def _learn_optional_columns(self, design: dict[str, np.ndarray], rows: int) -> None:
        """Which optional columns (churn risk, recommendation score) to learn from: those that enough sends
        filled in (at least ``MIN_OPTIONAL_ROWS`` and ``MIN_OPTIONAL_SHARE`` of them) with more than one value.
        A column only a few recent sends carry is left out: filled in with their median for all other sends,
        it would be nearly constant, and any other value at prediction time would swing the scores."""
        self._optional_medians, self._optional_ranges = {}, {}
        needed = max(MIN_OPTIONAL_ROWS, MIN_OPTIONAL_SHARE * rows)
        for column in OPTIONAL_NUMERIC:
            if column not in design:
                continue
            known = pd.Series(design[column]).dropna()
            if len(known) >= needed and known.nunique() > 1:
                self._optional_medians[column] = float(known.median())
                self._optional_ranges[column] = (float(known.min()), float(known.max()))

    @property
    def is_fitted(self) -> bool:
        return bool(self.links)

    def predict(self, variants: pd.DataFrame) -> pd.DataFrame:
        """``p_open``, ``p_click``, ``p_conversion`` for each row of ``variants``, on the same index."""
        if not self.is_fitted:
            raise NotFitted("engagement model")
        require_columns(variants, ["subject"], "variants")
        return pd.concat(
            [self._predict_rows(rows, DesignColumns(self._design(rows)), {}) for rows in _chunks(variants)]
        )

    def assess(self, variants: pd.DataFrame, counts: dict[str, int]) -> tuple[pd.DataFrame, pd.Series]:
        """:meth:`predict` and :meth:`reasons` together, from one design and one transform per link of each
        piece of ``variants`` (scoring a campaign asks for both)."""
        if not self.is_fitted:
            raise NotFitted("engagement model")
        require_columns(variants, ["subject"], "variants")
        _check_outcomes(counts)
        predictions, reasons = [], []
        for rows in _chunks(variants):
            design = DesignColumns(self._design(rows))
            features = {name: link.features(design) for name, link in self.links.items() if link.pipeline is not None}
            predictions.append(self._predict_rows(rows, design, features))
            reasons.extend(self._explain(design, counts, features))
        return pd.concat(predictions), pd.Series(reasons, index=variants.index, dtype=object)

    def _predict_rows(
        self, variants: pd.DataFrame, design: pd.DataFrame | DesignColumns, features: dict[str, sparse.csr_matrix]
    ) -> pd.DataFrame:
        """The chain's probabilities for one piece; ``features`` holds the links' transforms already computed."""
        p_open = self.links["open"].predict(design, features.get("open"))
        p_click = p_open * self.links["click"].predict(design, features.get("click"))
        p_conversion = p_click * self.links["conversion"].predict(design, features.get("conversion"))
        return pd.DataFrame({"p_open": p_open, "p_click": p_click, "p_conversion": p_conversion}, index=variants.index)

    def top_reasons(self, variants: pd.DataFrame, n: int = 3, outcome: str = "open") -> pd.Series:
        """For each row, the ``n`` features that push its ``outcome`` (open, click, conversion) most, in words."""
        return self.reasons(variants, {outcome: n})

    def reasons(self, variants: pd.DataFrame, counts: dict[str, int]) -> pd.Series:
        """For each row, the ``counts[outcome]`` strongest features of each outcome in turn, in words, from one
        design of ``variants`` (the scoring pipeline asks for several outcomes at once)."""
        if not self.is_fitted:
            raise NotFitted("engagement model")
        _check_outcomes(counts)
        reasons = [
            sentences for rows in _chunks(variants) for sentences in self._explain(self._design(rows), counts, {})
        ]
        return pd.Series(reasons, index=variants.index, dtype=object)

    def _explain(
        self, design: pd.DataFrame | DesignColumns, counts: dict[str, int], computed: dict[str, sparse.csr_matrix]
    ) -> list[list[str]]:
        """The reasons of one piece's rows; ``computed`` holds the links' transforms already made."""
        if not isinstance(design, DesignColumns):
            design = DesignColumns(design)
        reasons: list[list[str]] = [[] for _ in range(len(design))]
        for outcome, n in counts.items():
            link = self.links[outcome]
            if link.pipeline is None or link.baseline is None:
                continue  # a rate: no feature pushes it
            features = computed.get(outcome)
            if features is None:
                features = link.features(design)
            pushes, columns = link._pushes(design, features)
            words = link.strongest_words(design, features)
            target = OUTCOME_WORDS[outcome]
            # The n strongest pushes of each row, strongest first (ties in column order); below 1e-6 is none.
            strength = np.where(np.abs(pushes) > 1e-6, np.abs(pushes), 0.0)
            strongest = np.argsort(-strength, axis=1, kind="stable")[:, :n]
            for position, row in enumerate(strongest):
                for j in row[strength[position, row] > 0]:
                    column = columns[j]
                    reasons[position].append(
                        f"{_reason_words(column, design.values(column)[position], words[position])} "
                        f"{'raises' if pushes[position, j] > 0 else 'lowers'} the chance of {target}"
                    )
        return reasons

    def save(self, path: str | Path) -> Path:
        """Write the fitted model and its metadata (training size, metrics, version) to one file."""
        if not self.is_fitted:
            raise NotFitted("engagement model")
        return save_model(self, path, kind=self.name, version=MODEL_VERSION, metadata=self.metadata)

    @classmethod
    def load(cls, path: str | Path) -> EngagementModel:
        """Read a model written by :meth:`save`; a wrong or unreadable file raises ``ModelFileError``."""
        return load_model(path, kind=cls.name, version=MODEL_VERSION)
