"""Cold start for the products a fitted model never saw: a catalog's new arrivals, imported after its training.

A model scores the products it was fitted with; one imported since has no score, and no list could show it until
the next training (a shop adds products daily and retrains weekly at best). `NewArrivals` serves like the model and
scores those products at serving time from their text (name, category, description, in TF-IDF vectors as
`recommenders.content` reads them), on the model's own scale: a new arrival takes, for each customer, the score of
its *twin* (the known product most like it in text, all of them at a tie, at a cosine of `MIN_SIMILARITY` or more)
less a discount for how unlike it is, (1 - similarity) x the spread of the customer's candidate scores (best minus
worst) x `discount` (`DISCOUNT`, 1, by default). At 1, a new arrival worded as its twin ranks right below it; one
half like it, half the candidate list lower; one whose twin is not among the customer's candidates has no place, as
its twin has none. A twin the customer may not be shown (sold out: the print a new one replaces) is scored for them
still, and places its new arrival; so does it where nothing the model knows is for sale (a range replaced whole since
the training), the sold-out twins' scores then setting the customer's scale.

A new arrival is new to every customer, so it is placed among the products new to the customer: a twin the customer
already bought (or viewed, or carted) counts at their best score among the products new to them (what they buy is
at least as wanted as the best of what they never had, but a re-order's score is on another scale, far above it).
So a new print of the bag a customer keeps buying comes first among the new products for them, and `explain_many`
cites the customer's purchases most like a new arrival in text ("new, like X you bought").

On Online Retail's last month (`python -m evals.recommenders.new_arrivals --quick`, whose report gives this one's
figures), taking the best-scored of a new arrival's 3 most similar known products placed new arrivals in 2.6 times as
many lists and found 3 times as many of those bought, for 3.4 times the cost in the known products' NDCG@10. The
discount weighs one against the other (new-arrival hit@10, known products' NDCG@10, lists holding a new arrival;
0.0395, 0.1392 and 14 % at 1): at 0.5, 0.0791, 0.1355 and 28 %; at 0, 0.0988, 0.1316 and 35 %; at 1.5, 0.0079,
0.1410 and 1.5 %; at 2, 0, 0.1412 (as without cold start) and 0.2 %. A shop whose new range is the news chooses less
than 1, one that wants the model's ranking kept more (or cold start off).

`with_new_arrivals(model, catalog, discount)` gives the model itself when the catalog holds no product it does not
know (one comparison of ids: nothing is vectorised) or no word in any product's text to compare them by, else a
`NewArrivals` around it and the catalog's `Likeness`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from recommenders.base import RECOMMENDATION_COLUMNS, Recommender
from recommenders.content import TEXT_COLUMNS, product_texts

MIN_SIMILARITY = 0.3  # the cosine of the texts below which a known product is no twin, nor a reason
# The (new, known) pairs whose cosines are computed at once, each block then thinned to those of MIN_SIMILARITY: its
# memory is at most some 12 bytes a pair.
SIMILARITY_BLOCK = 2_000_000
DISCOUNT = 1.0  # times (1 - similarity) x the spread of a customer's candidate scores: see the module docstring


def unknown_products(model: Recommender, catalog: pd.DataFrame) -> pd.Index:
    """The catalog's product ids that ``model`` was not fitted with, in the catalog's order. Looked up in the
    vocabulary's own index, whose hash table is built once (the API asks at every request): on 100,000 products this
    took two thirds of the time of comparing the two sets."""
    product_ids = catalog["product_id"].astype(str)
    unknown = product_ids[model.vocabulary.products.get_indexer(product_ids) < 0]
    return pd.Index(unknown.unique(), dtype=object)


def with_new_arrivals(
    model: Recommender, catalog: pd.DataFrame, discount: float = DISCOUNT
) -> Recommender | NewArrivals:
    """``model``, serving the catalog's products it does not know too (`NewArrivals`, at ``discount``) where there
    are any and the catalog has text to compare them by."""
    likeness = Likeness.of(model, catalog)
    return model if likeness is None else NewArrivals(model, likeness, discount)


class Likeness:
    """How a catalog's products unknown to a model (`products`) read like those it knows (`known`): their cosine
    `similarity` (new x known, where at least `MIN_SIMILARITY`) and each one's `twins`. It depends on the catalog
    and the model's products alone, so a server may keep it while neither changes."""

    def __init__(self, vectors: sparse.csr_matrix, known: pd.Index, products: pd.Index) -> None:
        """``vectors``: the texts' TF-IDF vectors, those of the ``known`` products first, then the new ones'."""
        self.known, self.products = known, products
        self.similarity = _alike(vectors[len(known) :], vectors[: len(known)].T.tocsc())
        self.twins = self._twins()

    @classmethod
    def of(cls, model: Recommender, catalog: pd.DataFrame) -> Likeness | None:
        """The catalog's new products' likeness to the known ones; None where it has no product ``model`` does not
        know (one comparison of ids) or no text to compare them by: no text column, or not a word (of two characters
        or more, as TF-IDF reads words) in any product's text."""
        if not any(column in catalog.columns for column in TEXT_COLUMNS):
            return None
        new = unknown_products(model, catalog)
        if not len(new):
            return None
        catalog_ids = pd.Index(catalog["product_id"].astype(str).unique(), dtype=object)
        known = catalog_ids[catalog_ids.isin(model.vocabulary.products)]
        texts = product_texts(catalog, known.append(new))
        try:
            vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
        except ValueError:  # with these parameters, only an empty vocabulary: texts all empty or single characters
            return None
        return cls(vectors, known, new)

    def _twins(self) -> pd.DataFrame:
        """(product_id, twin, similarity): each new product's most similar known products (all those at a tie)."""
        rows = np.repeat(np.arange(self.similarity.shape[0]), np.diff(self.similarity.indptr))
        pairs = pd.DataFrame({"row": rows, "column": self.similarity.indices, "similarity": self.similarity.data})
        best = pairs.groupby("row")["similarity"].transform("max")
        pairs = pairs[pairs["similarity"] >= best - 1e-6]
        return pd.DataFrame(
            {
                "product_id": np.asarray(self.products, dtype=object)[pairs["row"].to_numpy()],
                "twin": np.asarray(self.known, dtype=object)[pairs["column"].to_numpy()],
                "similarity": pairs["similarity"].to_numpy(dtype=float),
            }
        )


class NewArrivals:
    """A fitted model that also ranks the catalog's products it does not know (``new_products``, the likeness's
    ``products``; see the module docstring), each less ``discount`` x (1 - similarity) x the spread of a customer's
    candidate scores. Anything else is asked of the model."""

    def __init__(self, model: Recommender, likeness: Likeness, discount: float = DISCOUNT) -> None:
        if not discount >= 0:  # NaN too
            raise ValueError(f"the new arrivals' discount must be 0 or more, not {discount}")
        self.model, self.likeness, self.discount = model, likeness, discount
        self.new_products = likeness.products

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def recommend(
        self,
        customer_ids: Iterable[str],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_products: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """`Recommender.recommend`, new products among the known ones by their score (see the module docstring)."""
        everything, new = self.recommend_all_and_new(customer_ids, k, allowed_products=allowed_products)
        return new if exclude_seen else everything

    def recommend_all_and_new(
        self, customer_ids: Iterable[str], k: int = 10, *, allowed_products: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`Recommender.recommend_all_and_new` with the new products, on the scale of the products new to the
        customer: they are new to every customer, so both lists may hold them."""
        customers = list(dict.fromkeys(str(c) for c in customer_ids))
        allowed = list(allowed_products) if allowed_products is not None else None
        twins = self.likeness.twins
        twins = twins if allowed is None else twins[twins["product_id"].isin(allowed)]
        # A new print replacing a sold-out one is placed by the sold-out one's score, which is shown nowhere. Asked
        # with the allowed products, the first k + (sold-out twins) hold the first k allowed and every sold-out twin
        # above them: one scoring where they are few (a second scoring took twice the time).
        sold_out = pd.Index([]) if allowed is None else pd.Index(twins["twin"].unique()).difference(allowed)
        if len(sold_out) <= k:
            asked = None if allowed is None else allowed + sold_out.tolist()
            twin_lists = self.model.recommend_all_and_new(customers, k + len(sold_out), allowed_products=asked)
            everything, new = (_first_allowed(listed, sold_out, k) for listed in twin_lists)
        else:
            everything, new = self.model.recommend_all_and_new(customers, k, allowed_products=allowed)
            out = self.model.recommend_all_and_new(customers, k, allowed_products=sold_out)
            twin_lists = (pd.concat([everything, out[0]]), pd.concat([new, out[1]]))
        if twins.empty or twin_lists[0].empty:
            return everything, new
        scale = _scale(new, twin_lists[1])
        best_new = scale.groupby("customer_id", sort=False)["score"].max()
        scored = _scored_like_twins(_as_new(*twin_lists, best_new), twins, self.discount * _spread(scale))
        return _merged(everything, scored, customers, k), _merged(new, scored, customers, k)

    def explain_many(
        self,
        customer_ids: list[str],
        product_ids: list[str],
        n: int = 3,
        bought: Mapping[str, Collection[str]] | None = None,
    ) -> list[list[str]]:
        """`Recommender.explain_many`; a new product is explained by the customer's purchases most like it in text
        (of those like it at all): those ``bought`` holds, when given, else those the model saw."""
        is_new = pd.Index(product_ids).isin(self.new_products)
        explained = [[] for _ in product_ids]
        known = np.flatnonzero(~is_new)
        if len(known):
            cited = self.model.explain_many(
                [customer_ids[i] for i in known], [product_ids[i] for i in known], n, bought=bought
            )
            for i, products in zip(known, cited, strict=True):
                explained[i] = products
        new = np.flatnonzero(is_new)
        if not len(new):
            return explained
        rows = self.new_products.get_indexer([product_ids[i] for i in new])
        customers = [customer_ids[i] for i in new]
        if bought is None:
            purchases = self.model.purchases_of(customers)
        else:
            purchases = [set(bought.get(str(customer), ())) for customer in customers]
        known = self.likeness.known
        for i, row, customer_purchases in zip(new, rows, purchases, strict=True):
            similarity = self.likeness.similarity[row]
            columns = similarity.indices[known[similarity.indices].isin(list(customer_purchases))]
            support = np.asarray(similarity[0, columns].toarray()).ravel() if len(columns) else np.zeros(0)
            order = np.argsort(-support, kind="stable")[:n]
            explained[i] = [str(product) for product in known[columns[order]]]
        return explained


def _alike(new: sparse.csr_matrix, known: sparse.csc_matrix) -> sparse.csr_matrix:
    """The cosines of the ``new`` vectors (rows) and the ``known`` ones (columns) of at least `MIN_SIMILARITY`, a
    block of new rows at a time: words most texts share ("the", "for your home") make nearly every pair's product
    nonzero, and 5,000 new products against 45,000 known took 2.8 GB at once (see `SIMILARITY_BLOCK`)."""
    rows = max(SIMILARITY_BLOCK // max(known.shape[1], 1), 1)
    blocks = []
    for start in range(0, new.shape[0], rows):
        block = (new[start : start + rows] @ known).tocsr()
        block.data[block.data < MIN_SIMILARITY] = 0.0
        block.eliminate_zeros()
        blocks.append(block.astype(np.float32))
    return sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix(new.shape[:1] + known.shape[1:])


def _first_allowed(listed: pd.DataFrame, sold_out: pd.Index, k: int) -> pd.DataFrame:
    """A recommendations frame's first k rows per customer of the products not ``sold_out``, ranked again."""
    if not len(sold_out):
        return listed
    kept = listed[~listed["product_id"].isin(sold_out)].groupby("customer_id", sort=False).head(k)
    return kept.assign(rank=kept.groupby("customer_id", sort=False).cumcount() + 1).reset_index(drop=True)


def _scale(new: pd.DataFrame, twins_new: pd.DataFrame) -> pd.DataFrame:
    """The candidates whose scores set a customer's scale for new products: their products new to them and for sale
    (``new``); for a customer with none (a range replaced whole, every known product sold out), the sold-out twins
    new to them (in ``twins_new``), which alone can place a new product for them."""
    without = twins_new[~twins_new["customer_id"].isin(new["customer_id"].unique())]  # distinct: a text isin is slow
    return new if without.empty else pd.concat([new, without], ignore_index=True)


def _as_new(everything: pd.DataFrame, new: pd.DataFrame, best_new: pd.Series) -> pd.DataFrame:
    """The candidates a new product's twin may be (customer_id, product_id, score): each customer's products new to
    them (``new``), and those they have (in ``everything`` alone) at the score of their best new candidate
    (``best_new``, by customer)."""
    had = everything.merge(new[["customer_id", "product_id"]], how="left", indicator=True)
    had = had[had["_merge"] == "left_only"].assign(score=lambda rows: rows["customer_id"].map(best_new))
    columns = ["customer_id", "product_id", "score"]
    return pd.concat([new[columns], had[columns].dropna(subset=["score"])], ignore_index=True).astype({"score": float})


def _spread(candidates: pd.DataFrame) -> pd.Series:
    """Per customer, their best candidate's score less their worst's."""
    by_customer = candidates.groupby("customer_id", sort=False)["score"]
    return by_customer.max() - by_customer.min()


def _scored_like_twins(candidates: pd.DataFrame, twins: pd.DataFrame, spread: pd.Series) -> pd.DataFrame:
    """(customer_id, product_id, score) of the new products whose twins are among each customer's ``candidates``:
    the best twin's score, less (1 - similarity) x the customer's ``spread``."""
    pairs = candidates.rename(columns={"product_id": "twin", "score": "twin_score"}).merge(twins, on="twin")
    # as numbers whatever the ids' dtype: no pair at all mapped string ids to an empty column of text
    unlike = (1.0 - pairs["similarity"]) * pairs["customer_id"].map(spread).astype("float64").fillna(0.0)
    pairs["score"] = pairs["twin_score"] - unlike
    return pairs.groupby(["customer_id", "product_id"], as_index=False, sort=False)["score"].max()


def _merged(known: pd.DataFrame, new: pd.DataFrame, customers: list[str], k: int) -> pd.DataFrame:
    """Each customer's first k of ``known`` (a recommendations frame) and ``new`` (customer_id, product_id, score)
    together, best first (a known product first at equal scores), ranked again; customers in their given order."""
    combined = pd.concat([known[["customer_id", "product_id", "score"]], new], ignore_index=True)
    order = {customer: i for i, customer in enumerate(customers)}
    position = combined["customer_id"].map(order).to_numpy()
    combined = combined.iloc[np.lexsort((-combined["score"].to_numpy(dtype=float), position))]
    combined = combined.groupby("customer_id", sort=False).head(k)
    combined = combined.assign(rank=combined.groupby("customer_id", sort=False).cumcount() + 1)
    return combined[RECOMMENDATION_COLUMNS].reset_index(drop=True)
