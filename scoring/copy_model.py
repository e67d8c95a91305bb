"""The copy-only model: which of several headlines (or subject lines) will be clicked more, from the text alone.

Trained on real headline A/B tests (Upworthy). Within one test the audience, the story and the moment are the
same, so only the wording differs; the model therefore learns from pairs of different texts in the same test
(a linear pairwise ranker: logistic regression on feature differences, each pair weighted by how clear its
winner was, |z| capped at 3). Without test ids it falls back to a pointwise binomial model of clicks over
impressions. A one-dimensional binomial fit maps the score to an absolute click-through rate.

Features: the copywriter counts of ``features.text_features`` plus word (1–2) and character (2–5) tf-idf
n-grams; with ``embeddings=True`` (the optional ``embeddings`` extra) also the 384 dimensions of each text's
normalized sentence embedding (``scoring.embeddings``), appended unscaled and fitted jointly with C = 0.05.
In the cross-validation below that lifts all pairs from 0.592/0.597 to 0.615/0.617 and significant pairs from
0.678/0.685 to 0.716/0.722 (two fold seeds); C 0.02–0.05 is a tie, 0.1 is 0.003 lower; scaling the
embeddings by 0.5–1.5 is a tie, by 2 or 4 worse. The embeddings alone score 0.604/0.601, a blend of the two
separate fits 0.618/0.619, within noise of the joint fit.

Tried and not kept (5-fold cross-validation over the Upworthy training tests, grouped by test; this model
scores 0.594–0.596 on all pairs there): other pair weights (uniform, |z| capped at 1, 2 or 5, √|z|, 2Φ(|z|)−1),
dropping pairs with |z| < 0.25–1, weighting tests by 1/√pairs, a within-test conditional logit on clicks,
ridge on test-centred features, word (1,1)/(1,3), min_df 1 or 3/5, char (1,4)/(2,6) or plain ``char``,
binary or no-idf tf, HTML stripped, start/end-of-headline tokens, extra lexicon counts (you/this/I, leading
number, quotes, curiosity, positive/negative words, length bins), 100–300 LSA components, NB-SVM log-count
ratios, LightGBM rankers on the dense counts alone (0.55) or blended in, and blends of the linear fits: all
within ±0.003, under the noise between fold seeds. C between 0.1 and 0.3 is a tie (0.1 wins on three fold
seeds of four by < 0.002). Learned text representations, against the joint model with embeddings (0.615/0.617 all,
0.716/0.722 significant): an MLP head on the frozen embeddings with a pairwise loss scores 0.597 alone and 0.616
blended (fold seed 0); MiniLM fine-tuned end to end on within-test pairs (2 epochs, lr 3e-5, about 3 minutes a fold on
two CPU threads) scores 0.624/0.620 alone (significant 0.740/0.730) and 0.621/0.619 blended: under 0.005 better on the
second fold seed, where alone it is worse than the joint model on 2 of 5 folds. One epoch, fixed in advance and
checked on a third fold seed, blended to 0.621 against the joint model's 0.617 (+0.004), ahead on 3 of 5 folds (+0.007
with another training seed: the seed alone moves it by 0.003). The held-out 20 % of the eval has a 95 % bootstrap
interval of about ±0.02 on all pairs and ±0.04 on significant pairs, so differences smaller than that there say
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from scoring import embeddings as sentence_embeddings
from scoring.artifacts import load_model, save_model
from scoring.errors import InvalidRows, NotEnoughData, NotFitted, require_columns
from scoring.features import text_features
from tabular import RowName, layout_problem, no_text, read_csv_text, rows_of, scan_utf8

MODEL_VERSION = 1
MAX_PAIR_WEIGHT = 3.0
DEFAULT_C = 0.3
EMBEDDINGS_C = 0.05
# Distinct texts whose scores a loaded model remembers (see CopyModel.score).
SCORE_MEMO = 50_000


def default_c(embeddings: bool) -> float:
    """The regularization the cross-validation chose: 0.3 on n-grams alone, 0.05 with embeddings."""
    return EMBEDDINGS_C if embeddings else DEFAULT_C


def pairs_within_tests(test_ids: pd.Series, impressions: np.ndarray, clicks: np.ndarray) -> pd.DataFrame:
    """Every pair (i < j, positions) of rows in the same test, with the two-proportion z of ctr_i − ctr_j. A row
    without a test id is in no test: the rows of a file whose test_id cells were empty were paired with each other
    as one test, comparing headlines of different stories, audiences and weeks (and their pairs grew as rows²)."""
    frame = pd.DataFrame({"test": test_ids.to_numpy(), "row": np.arange(len(test_ids))}).dropna(subset=["test"])
    pairs = frame.merge(frame, on="test", suffixes=("_i", "_j"))
    pairs = pairs[pairs["row_i"] < pairs["row_j"]]
    i, j = pairs["row_i"].to_numpy(), pairs["row_j"].to_numpy()
    n_i, n_j = np.maximum(impressions[i], 1), np.maximum(impressions[j], 1)
    pooled = (clicks[i] + clicks[j]) / (n_i + n_j)
    standard_error = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / n_i + 1 / n_j), 1e-12))
    z = (clicks[i] / n_i - clicks[j] / n_j) / standard_error
    return pd.DataFrame({"test": pairs["test"].to_numpy(), "i": i, "j": j, "z": z})


class CopyModel:
    """Scores texts by expected click-through; higher is better within one audience and moment."""

    name = "copy"
    # Models saved before the option existed have no instance attribute and read this one.
    embeddings = False

    def __init__(
        self,
        *,
        C: float | None = None,
        char_ngrams: bool = True,
        max_char_features: int = 50_000,
        min_df: int = 2,
        embeddings: bool = False,
    ) -> None:
        """``C`` defaults to the best in cross-validation: 0.3 on n-grams alone, 0.05 with ``embeddings``."""
        self.C = C if C is not None else default_c(embeddings)
        self.char_ngrams = char_ngrams
        self.embeddings = embeddings
        if embeddings:
            sentence_embeddings.require()
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.metadata: dict[str, object] = {}
        self._fitted = False

    def _vectorizers(self, n_texts: int) -> list[TfidfVectorizer]:
        min_df = self.min_df if n_texts >= 200 else 1
        vectorizers = [TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)]
        if self.char_ngrams:
            vectorizers.append(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=min_df + 1,
                    sublinear_tf=True,
                    max_features=self.max_char_features,
                )
            )
        return vectorizers

    def _matrix(self, texts: pd.Series, fit: bool) -> sparse.csr_matrix:
        texts = texts.fillna("").astype(str).reset_index(drop=True)
        counts = text_features(texts).to_numpy()
        if fit:
            self._scaler = StandardScaler().fit(counts)
            self._vectors = self._vectorizers(len(texts))
            ngrams = [vectorizer.fit_transform(texts) for vectorizer in self._vectors]
        else:
            ngrams = [vectorizer.transform(texts) for vectorizer in self._vectors]
        blocks = [sparse.csr_matrix(self._scaler.transform(counts)), *ngrams]
        if self.embeddings:
            blocks.append(sparse.csr_matrix(sentence_embeddings.embed(texts.tolist())))
        return sparse.hstack(blocks).tocsr()

    def fit(
        self,
        texts: pd.Series,
        impressions: np.ndarray | pd.Series,
        clicks: np.ndarray | pd.Series,
        test_ids: pd.Series | None = None,
    ) -> CopyModel:
        started = time.perf_counter()
        impressions = np.asarray(impressions, dtype=float)
        clicks = np.minimum(np.asarray(clicks, dtype=float), impressions)
        if len(texts) < 2 or impressions.sum() <= 0:
            raise NotEnoughData("The copy model needs at least two texts with impressions to learn from.")
        texts = pd.Series(texts).fillna("").astype(str).reset_index(drop=True)
        matrix = self._matrix(texts, fit=True)
        pairs = pd.DataFrame()
        if test_ids is not None:
            pairs = pairs_within_tests(pd.Series(test_ids).astype("string"), impressions, clicks)
            different = texts.to_numpy()[pairs["i"]] != texts.to_numpy()[pairs["j"]]
            pairs = pairs[(pairs["z"] != 0) & different]
        if len(pairs) >= 10:
            self._fit_pairwise(matrix, pairs)
            mode = "pairwise"
        else:
            self._fit_pointwise(matrix, impressions, clicks)
            mode = "pointwise"
        self._fit_ctr_scale(matrix @ self._weights, impressions, clicks)
        self._fitted = True
        self.metadata = {
            "version": MODEL_VERSION,
            "mode": mode,
            "training_texts": len(texts),
            "training_pairs": len(pairs),
            "training_tests": int(pd.Series(test_ids).nunique()) if test_ids is not None else 0,
            "features": int(matrix.shape[1]),
            "embeddings": self.embeddings,
            "C": self.C,
            "fit_seconds": round(time.perf_counter() - started, 3),
        }
        return self

    def _fit_pairwise(self, matrix: sparse.csr_matrix, pairs: pd.DataFrame) -> None:
        differences = matrix[pairs["i"].to_numpy()] - matrix[pairs["j"].to_numpy()]
        i_won = (pairs["z"].to_numpy() > 0).astype(int)
        weight = np.minimum(np.abs(pairs["z"].to_numpy()), MAX_PAIR_WEIGHT)
        # Each pair both ways round, so the ranker has no side preference and needs no intercept.
        model = LogisticRegression(C=self.C, fit_intercept=False, solver="liblinear", max_iter=3000)
        model.fit(
            sparse.vstack([differences, -differences]), np.r_[i_won, 1 - i_won], sample_weight=np.r_[weight, weight]
        )
        self._weights = model.coef_.ravel()

    def _fit_pointwise(self, matrix: sparse.csr_matrix, impressions: np.ndarray, clicks: np.ndarray) -> None:
        model = LogisticRegression(C=self.C, solver="liblinear", max_iter=3000)
        model.fit(
            sparse.vstack([matrix, matrix]),
            np.r_[np.ones(len(clicks)), np.zeros(len(clicks))],
            sample_weight=np.r_[clicks, impressions - clicks] + 1e-9,
        )
        self._weights = model.coef_.ravel()

    def _fit_ctr_scale(self, scores: np.ndarray, impressions: np.ndarray, clicks: np.ndarray) -> None:
        column = scores.reshape(-1, 1)
        scale = LogisticRegression(C=1e6, max_iter=1000)
        scale.fit(
            np.r_[column, column],
            np.r_[np.ones(len(scores)), np.zeros(len(scores))],
            sample_weight=np.r_[clicks, impressions - clicks] + 1e-9,
        )
        self._ctr_scale = scale

    def score(self, texts: pd.Series | list[str]) -> np.ndarray:
        """A relative score per text: compare texts meant for the same audience; higher should win.

        Each distinct text is scored once and remembered (up to ``SCORE_MEMO`` texts): a campaign's
        customers share a few subjects, and the service asks for the same subjects again for the reasons,
        which would otherwise embed them twice."""
        if not self._fitted:
            raise NotFitted("copy model")
        texts = pd.Series(texts).fillna("").astype(str).reset_index(drop=True)
        memo = self.__dict__.setdefault("_score_memo", {})
        missing = [text for text in dict.fromkeys(texts) if text not in memo]
        if missing:
            if len(memo) + len(missing) > SCORE_MEMO:
                memo.clear()
            memo.update(zip(missing, self._matrix(pd.Series(missing), fit=False) @ self._weights, strict=True))
        return np.array([memo[text] for text in texts], dtype=float)

    def __getstate__(self) -> dict:
        """What is saved: everything but the memo of scored texts."""
        return {key: value for key, value in self.__dict__.items() if key != "_score_memo"}

    def predict_ctr(self, texts: pd.Series | list[str]) -> np.ndarray:
        """The expected click-through rate of each text for an average audience of the training data."""
        return self._ctr_scale.predict_proba(self.score(texts).reshape(-1, 1))[:, 1]

    def save(self, path: str | Path) -> Path:
        if not self._fitted:
            raise NotFitted("copy model")
        return save_model(self, path, kind=self.name, version=MODEL_VERSION, metadata=self.metadata)

    @classmethod
    def load(cls, path: str | Path) -> CopyModel:
        """Read a saved model; one fitted with embeddings needs the extra here too, and says so at once."""
        model = load_model(path, kind=cls.name, version=MODEL_VERSION)
        if model.embeddings:
            sentence_embeddings.require()
        return model


def read_table(path: Path, as_written: bool = False) -> pd.DataFrame:
    """A CSV, Parquet or JSON-lines file as a frame (chosen by suffix); InvalidRows naming the file, and the line
    where it can, for one that cannot be read as such. ``as_written`` keeps each value as the file has it (a CSV
    cell as text, a JSON value as its type), for rows written out again: a customer id 00123 came back as 123.0
    and a date as milliseconds since 1970."""
    if not Path(path).is_file():
        raise InvalidRows(f"There is no file at {path}.")
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".ndjson"}:
            # dtype=False alone keeps dates as written too (pandas deprecates convert_dates for it)
            return pd.read_json(path, lines=True, dtype=False) if as_written else pd.read_json(path, lines=True)
        if what := no_text(path):  # a workbook, UTF-16 text, a gzipped file: the decoder named a byte offset
            raise InvalidRows(f"{path} {what}.")
        if layout := layout_problem(path):
            raise InvalidRows(f"{path}, line {layout[0]}: {layout[1]}.")
        return read_csv_text(path, dtype=str) if as_written else read_csv_text(path)
    except pd.errors.EmptyDataError as error:
        raise InvalidRows(f"{path} is empty: it needs a header line naming its columns.") from error
    except UnicodeDecodeError as error:  # another encoding: the line a person fixing the file looks for
        scan = scan_utf8(path)
        raise InvalidRows(f"{path}, line {scan.bad_line}: {scan.problem()}.") from error
    except (ValueError, OSError) as error:  # pyarrow's, pandas' and the JSON reader's: their words say what
        if isinstance(error, InvalidRows):
            raise
        words = " ".join(str(error).split())
        raise InvalidRows(f"{path} cannot be read as a {suffix.lstrip('.') or 'CSV'} file: {words}") from error


# The names ``write_table`` writes, by their suffix (a name without one is CSV too): `tailor scoring predict-copy`
# refuses another (x.xlsx) before any work, where it wrote CSV under that name.
WRITTEN_SUFFIXES = (".csv", ".txt", ".parquet", ".jsonl", ".ndjson")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame.to_parquet(path, index=False)
        except (ValueError, TypeError) as error:  # pyarrow's: a JSON column of numbers and text is no Parquet column
            words = "; ".join(" ".join(str(part).split()) for part in error.args)
            raise InvalidRows(
                f"{path} cannot be written as Parquet: {words}. A column whose values mix numbers and text can be "
                "written to .jsonl or .csv, which keep each value as the input had it."
            ) from error
    elif suffix in {".jsonl", ".ndjson"}:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(path, index=False)


def fit_copy_file(
    train: Path, out: Path, embeddings: bool | None = None, progress: Callable[[int, int, str], None] | None = None
) -> dict:
    """Fit a copy model on FILE (columns text, impressions, clicks, optional test_id); save it to ``out``.

    ``embeddings`` adds sentence-embedding features (needs the ``embeddings`` extra); None uses them when the
    extra is installed, since they score better. The saved model keeps the choice, so predictions embed the
    same way.

    Returns the model's metadata (mode, texts, pairs, tests, seconds) for the CLI to print; `progress` hears
    (done, total, message) at each of its three steps.
    """
    report = progress or (lambda done, total, message: None)
    report(0, 3, f"reading {Path(train).name}")
    rows = read_table(Path(train))
    require_columns(rows, ["text", "impressions", "clicks"], f"rows of {train}")
    row_name = rows_of(train, kept=rows.index)
    # A headline that is not there was learned from as one: its clicks said something of no words at all.
    empty = np.flatnonzero(rows["text"].fillna("").astype(str).str.strip().eq("").to_numpy())
    if len(empty):
        raise InvalidRows(f"{train}, {row_name(empty[0])}: text is empty; every row is a headline and its counts.")
    rows["impressions"] = _counts(rows, "impressions", train, row_name)
    rows["clicks"] = _counts(rows, "clicks", train, row_name)
    over = np.flatnonzero(rows["clicks"].to_numpy() > rows["impressions"].to_numpy())
    if len(over):
        raise InvalidRows(f"{train}, {row_name(over[0])}: clicks exceed impressions.")
    test_ids = rows["test_id"].astype("string") if "test_id" in rows.columns else None
    if embeddings is None:
        embeddings = sentence_embeddings.installed()
    report(1, 3, f"fitting on {len(rows):,} texts{' with sentence embeddings' if embeddings else ''}")
    try:
        model = CopyModel(embeddings=embeddings).fit(rows["text"], rows["impressions"], rows["clicks"], test_ids)
    except ValueError as error:
        if "empty vocabulary" not in str(error):
            raise
        raise NotEnoughData(f"the texts of {train} hold no word of two letters or more to learn from") from error
    report(2, 3, "saving")
    model.save(out)
    report(3, 3, "done")
    return dict(model.metadata) | {"model_path": str(out)}


def _counts(rows: pd.DataFrame, column: str, path: Path, row_name: RowName) -> pd.Series:
    """``column`` as finite, non-negative whole numbers (12.0 is 12; 1.5 clicks is no count, and was fitted on), or
    an error naming the first bad row of ``path`` (a CSV's line, a Parquet file's row)."""
    values = pd.to_numeric(rows[column], errors="coerce")
    finite = values.where(np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)))
    bad = np.flatnonzero((finite.isna() | (finite < 0) | (finite % 1 != 0)).to_numpy())
    if len(bad):
        raw = rows[column].iloc[bad[0]]
        shown = "is empty" if pd.isna(raw) or not str(raw).strip() else f"is '{raw}', not a count"
        raise InvalidRows(f"{path}, {row_name(bad[0])}: {column} {shown}.")
    return values.astype(float)


def predict_copy_file(model: Path, input: Path, out: Path) -> int:
    """Add ``predicted_ctr`` to every row of ``input`` (needs a ``text`` column) and write ``out``; returns rows."""
    copy_model = CopyModel.load(model)
    rows = read_table(Path(input), as_written=True)
    require_columns(rows, ["text"], f"rows of {input}")
    rows["predicted_ctr"] = copy_model.predict_ctr(rows["text"]) if len(rows) else pd.Series(dtype=float)
    write_table(rows, Path(out))
    return len(rows)
