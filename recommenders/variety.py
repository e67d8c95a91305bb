"""Product families told apart by name, so that an e-mail's picks stay varied where categories cannot do it.

A catalog without useful categories (Online Retail's: none at all) let a customer's three picks be three hand
warmers or three jumbo bags, and `max_per_category` had nothing to count. Two products are of one family when
their names are alike: the cosine of their words, each weighted by how rare it is in the catalog (the square
root of its inverse document frequency), so that the words every other name holds (colours, "set", "of"; "de",
"la", "und": no language's stop-word list is needed) weigh little and the family's head ("jumbo bag", "hand
warmer") weighs much, whatever the word order ("HEART OF WICKER SMALL", "LARGE WHITE HEART OF WICKER").

`NameFamilies.leaders` groups each customer's candidates, best first, into families: a candidate joins the
first better candidate that leads a family and resembles it, or leads one of its own. The rules then count picks
per family as they count them per category. Only a customer's own candidates are compared, so the cost grows
with the candidates, not with the square of the catalog.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

# Names this alike (cosine of their words weighted by the square root of the idf) are one family: on Online Retail
# 0.4 holds "JUMBO BAG PAISLEY PARK" and "VINTAGE DOILY JUMBO BAG RED" together (0.42), the hot water bottles, the
# hand warmers, "RED" and "WHITE HANGING HEART T-LIGHT HOLDER"; at 0.45 most of the jumbo bags were two families.
# No cliff at 0.4 itself (2010-2011's 3,625 names sold before the variety eval's cutoff): 872, 1,065 and 1,279
# families at 0.35, 0.4 and 0.45, and 7,658 name pairs between 0.35 and 0.4 against 5,779 between 0.4 and 0.45. At
# the default cap (2), 0.35 changed 72 of 4,070 e-mails and 0.45 340; the cliff is above: at a cap of 1, e-mails
# with two names sharing two words were 2.4 %, 6.5 % and 21.3 %. Lower, unlike names join ("CAKE CASES" and
# "PAISLEY TISSUES", 0.36): 9 of 12 pairs drawn between 0.35 and 0.4 were unlike, 6 of 12 between 0.4 and 0.45.
SAME_FAMILY = 0.4

_WORD = r"(?u)\b[^\W\d_]+\b"  # letters of any script; numbers ("SET OF 3", "50'S") say nothing of the family
_LAST_BUILT: dict[bytes, NameFamilies] = {}  # by the names' digest


class NameFamilies:
    """The catalog's product names as word vectors (square-root idf weights), for telling each list's families
    apart."""

    def __init__(self, names: pd.Series, similarity: float = SAME_FAMILY) -> None:
        """``names``: the product names indexed by product id; a product without a name is of no family."""
        text = names.fillna("").astype(str)
        self.similarity = similarity
        rows = pd.Series(np.arange(len(text)), index=text.index.astype(str))
        self._row = rows[~rows.index.duplicated()]  # a product listed twice: its first name
        vectorizer = TfidfVectorizer(token_pattern=_WORD, binary=True, norm=None, dtype=np.float32)
        try:
            weights = sparse.csr_matrix(vectorizer.fit_transform(text))
        except ValueError:  # no name holds a word: no two products are alike
            weights = sparse.csr_matrix((len(text), 1), dtype=np.float32)
        # The square root of the idf: with the idf itself, the rare words of two prints ("PAISLEY PARK", "VINTAGE
        # DOILY") outweighed the "JUMBO BAG" the two names share, and most jumbo bags stayed two families.
        weights.data = np.sqrt(weights.data)
        self._vectors = normalize(weights)

    @classmethod
    def of(cls, names: pd.Series) -> NameFamilies:
        """The families of these names, built once for a catalog that did not change: a campaign asks the rules
        2,000 customers at a time, and words of 100,000 names took half a second a time."""
        key = hashlib.sha256(pd.util.hash_pandas_object(names.astype(str), index=True).to_numpy().tobytes()).digest()
        last = _LAST_BUILT.get(key)
        if last is None:
            last = cls(names)
            _LAST_BUILT.clear()  # one catalog's: the one in use
            _LAST_BUILT[key] = last
        return last

    def leaders(self, customer_ids: np.ndarray, product_ids: np.ndarray) -> np.ndarray:
        """For candidates sorted by customer, each customer's best first: the row of each one's family leader (its
        own row where it leads one). A candidate joins the first better candidate of its customer that leads a
        family and whose name is at least `similarity` alike."""
        n = len(customer_ids)
        leader = np.arange(n)
        if n == 0:
            return leader
        starts = np.r_[True, customer_ids[1:] != customer_ids[:-1]]
        position = np.arange(n) - np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        rows = pd.Series(product_ids).map(self._row)
        known = rows.notna().to_numpy()
        vectors = self._vectors[np.where(known, rows.fillna(0).to_numpy(dtype=np.int64), 0)]
        for place in range(1, int(position.max()) + 1):
            later = np.flatnonzero((position == place) & known)
            # every better candidate of each, best first: one product of sparse rows a place, however long the lists
            better = later[:, None] - np.arange(place, 0, -1)[None, :]
            leads = (leader[better] == better) & known[better]
            pairs = np.flatnonzero(leads)
            if not len(pairs):
                continue
            alike = np.zeros(better.shape, dtype=bool)
            products = vectors[np.repeat(later, place)[pairs]].multiply(vectors[better.ravel()[pairs]])
            alike.flat[pairs] = np.asarray(products.sum(axis=1)).ravel() >= self.similarity
            joins = alike.any(axis=1)
            leader[later[joins]] = better[joins, alike[joins].argmax(axis=1)]
        return leader
