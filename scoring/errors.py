"""Named errors of the scoring package, with messages written for the person who reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class ScoringError(Exception):
    """Base class: something in performance scoring went wrong; the message says what to do."""


class MissingColumns(ScoringError, ValueError):
    """A frame handed to a scoring function lacks columns it needs."""

    def __init__(self, what: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"The {what} are missing the column(s) {', '.join(missing)}; add them and try again.")


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise :class:`MissingColumns` naming every column of ``columns`` that ``frame`` lacks (here, not with the
    features, so that the experiments' statistics check their frames without loading scikit-learn)."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise MissingColumns(what, missing)


class InvalidRows(ScoringError, ValueError):
    """A file of rows has a value that cannot be used; the message names the file, column and line."""


class NotEnoughData(ScoringError, ValueError):
    """There are too few rows, or too few positive outcomes, to fit a model honestly."""


class NotFitted(ScoringError, RuntimeError):
    """A model was used before it was fitted or loaded."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The {name} has not been fitted yet; call fit() or load a saved model first.")


class ModelFileError(ScoringError, OSError):
    """A saved model file cannot be read, or was written by an incompatible version."""


class DatasetUnavailable(ScoringError, FileNotFoundError):
    """Public data needed to build a prior is not on this machine."""


class ExtraNotInstalled(ScoringError, ImportError):
    """An optional feature was asked for, but the extra that provides its packages is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} need the optional packages of Tailor's '{extra}' extra; install them with "
            f"pip install -e '.[{extra}]' (from the project folder) and try again."
        )
