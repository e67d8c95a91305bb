"""Tf-idf n-grams of a text column whose rows repeat a few texts, computed once per distinct text.

A shop's sends repeat a campaign's few subject lines across thousands of customers (the demo store of 10,000
customers: 6,630 distinct subjects in 53,412 sends, 804 once first names are masked), and tokenizing every row
dominated the engagement model's training. :class:`DistinctTfidf` learns exactly what a ``TfidfVectorizer``
fitted on every row learns (the same terms, kept by the same ``min_df`` and ``max_features`` rules, and the
same idf), but tokenizes each distinct text once and weighs its counts by how many rows repeat it;
``transform`` counts each distinct text once and gives every row its text's row.

A text's n-gram counts are remembered (:func:`term_counts`, the last few thousand texts): one training fits three
links on the same subjects, each tokenizing them to learn, to calibrate and to find its average send, and then
predicts them again; all of that reads each subject's counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import chain, repeat

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2


def distinct_texts(texts: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in order of first appearance, and each row's position among them."""
    codes, distinct = pd.factorize(np.asarray(list(texts), dtype=object), use_na_sentinel=False)
    return list(distinct), codes


# Texts whose n-gram counts are remembered, over both analyzers: a 63-character subject's character n-gram counts
# take 11 KB (its words' 2 KB), so what is remembered stays under 50 MB; the demo store's training sends hold 804
# distinct (masked) subjects.
REMEMBERED_TEXTS = 4096


@lru_cache(maxsize=16)
def _analyzer(analyzer: str, ngram_range: tuple[int, int]):
    """``CountVectorizer(analyzer, ngram_range).build_analyzer()``: a text's n-grams, in the order they occur."""
    return CountVectorizer(analyzer=analyzer, ngram_range=ngram_range).build_analyzer()


@lru_cache(maxsize=REMEMBERED_TEXTS)
def term_counts(analyzer: str, ngram_range: tuple[int, int], text: str) -> dict[str, int]:
    """How often each n-gram occurs in ``text``, in the order of their first occurrence (what CountVectorizer
    counts for one text). Shared between callers: never change the dict returned."""
    return Counter(_analyzer(analyzer, ngram_range)(text))


def _count_matrix(per_text: list[dict[str, int]], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """float64 counts of ``vocabulary``'s terms (the others left out), a row per text's counts, each row's terms in
    column order (``sort_indices``, as CountVectorizer leaves them). The terms are looked up in one pass over all
    texts' counts (``map``, not a Python loop per term: 3.3 million terms took about 1 CPU-s of a demo eval)."""
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    every_term = list(chain.from_iterable(per_text))
    numbers = np.fromiter(map(vocabulary.get, every_term, repeat(-1)), dtype=np.int64, count=len(every_term))
    values = np.fromiter(
        chain.from_iterable(counts.values() for counts in per_text), dtype=np.float64, count=len(every_term)
    )
    known = numbers >= 0
    kept_per_text = np.bincount(np.repeat(np.arange(len(per_text)), lengths)[known], minlength=len(per_text))
    indptr = np.zeros(len(per_text) + 1, dtype=np.int32)
    np.cumsum(kept_per_text, out=indptr[1:])
    matrix = sparse.csr_matrix(
        (values[known], numbers[known].astype(np.int32), indptr), shape=(len(per_text), len(vocabulary))
    )
    matrix.sort_indices()
    return matrix


class DistinctTfidf(TransformerMixin, BaseEstimator):
    """``TfidfVectorizer(analyzer, ngram_range, min_df, max_features, sublinear_tf)`` with the same fitted
    vocabulary, idf and output, working once per distinct text (integer ``min_df`` only)."""

    def __init__(
        self,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = False,
    ) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, texts: Iterable[str], y: object = None) -> DistinctTfidf:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Iterable[str], y: object = None) -> sparse.csr_matrix:
        """Fit, and return the rows as ``TfidfVectorizer.fit_transform`` does, down to the order of the terms
        within each row (the order they first appeared in): a solver fitted on them sums in that order, so
        another order would move its result by rounding."""
        distinct, codes = distinct_texts(texts)
        counts, terms = self._every_term(distinct)  # columns in term order, as TfidfVectorizer sorts them
        repeats = np.bincount(codes, minlength=len(distinct)).astype(np.float64)
        kept = self._kept_terms(counts, repeats)
        # The vocabulary is given, so fitting on no text checks it and sets ``vocabulary_`` without tokenizing.
        self.counter_ = CountVectorizer(
            analyzer=self.analyzer, ngram_range=self.ngram_range, dtype=np.float64, vocabulary=terms[kept]
        ).fit([])
        rows = counts[:, kept][codes]  # each distinct text's counts, once per row that holds it
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(rows)
        return self.tfidf_.transform(rows, copy=False)

    def _text_counts(self, distinct: list[str]) -> list[dict[str, int]]:
        analyzer, ngram_range = self.analyzer, tuple(self.ngram_range)
        return [term_counts(analyzer, ngram_range, text) for text in distinct]

    def _every_term(self, distinct: list[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """What ``CountVectorizer(dtype=float64).fit_transform(distinct)`` gives, and its terms in column order:
        each row's terms stored in the order the terms first occur in ``distinct`` (the order its vocabulary
        numbers them in, before it renumbers them alphabetically without moving them)."""
        per_text = self._text_counts(distinct)
        first_seen = {term: number for number, term in enumerate(dict.fromkeys(chain.from_iterable(per_text)))}
        if not first_seen:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        matrix = _count_matrix(per_text, first_seen)
        terms = np.array(sorted(first_seen), dtype=object)
        alphabetical = np.empty(len(terms), dtype=np.int32)
        alphabetical[[first_seen[term] for term in terms]] = np.arange(len(terms), dtype=np.int32)
        matrix.indices = alphabetical.take(matrix.indices)
        return matrix, terms

    def _kept_terms(self, counts: sparse.csr_matrix, repeats: np.ndarray) -> np.ndarray:
        """Positions of the terms CountVectorizer keeps: in at least ``min_df`` rows, then the ``max_features``
        most frequent over the rows (ties broken as its argsort breaks them). Read from ``counts``' arrays, since
        scipy's own operations would sort its rows' terms in place."""
        entry_repeats = np.repeat(repeats, np.diff(counts.indptr))
        n_terms = counts.shape[1]
        document_frequency = np.bincount(counts.indices, weights=entry_repeats, minlength=n_terms)
        keep = document_frequency >= self.min_df
        if self.max_features is not None and keep.sum() > self.max_features:
            term_frequency = np.bincount(counts.indices, weights=counts.data * entry_repeats, minlength=n_terms)
            most_frequent = np.flatnonzero(keep)[(-term_frequency[keep]).argsort()[: self.max_features]]
            keep = np.zeros(len(keep), dtype=bool)
            keep[most_frequent] = True
        if not keep.any():
            raise ValueError("After pruning, no terms remain. Try a lower min_df.")
        return np.flatnonzero(keep)

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        distinct, codes = distinct_texts(texts)
        return _weighted(self.tfidf_, self._counts(distinct))[codes]

    def _counts(self, distinct: list[str]) -> sparse.csr_matrix:
        """``self.counter_.transform(distinct)``, from the texts' remembered counts: float64 counts of the
        vocabulary's terms, each row's terms in column order."""
        return _count_matrix(self._text_counts(distinct), self.counter_.vocabulary_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.counter_.get_feature_names_out()


def _weighted(tfidf: TfidfTransformer, counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """``tfidf.transform(counts)`` for the fresh float64 CSR counts of ``counter_``: the same logarithm, idf
    weights and l2 norm in place, without the input checks and copies (a campaign batch's few subjects cost less to
    weigh than to check). Any other kind of input or norm goes through ``tfidf.transform`` itself."""
    if not (sparse.issparse(counts) and counts.format == "csr" and counts.dtype == np.float64 and tfidf.norm == "l2"):
        return tfidf.transform(counts)
    if tfidf.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if hasattr(tfidf, "idf_"):
        counts.data *= tfidf.idf_[counts.indices]
    inplace_csr_row_normalize_l2(counts)
    return counts
