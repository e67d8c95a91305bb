"""The interface every engagement scorer meets: fit on past sends, predict probabilities for planned variants."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd


@runtime_checkable
class Scorer(Protocol):
    """Something that gives ``p_open``, ``p_click`` and ``p_conversion`` for each row of a variants frame
    (the sends shape without outcomes), on the same index."""

    def predict(self, variants: pd.DataFrame) -> pd.DataFrame: ...
