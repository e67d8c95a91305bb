"""Named errors of the recommenders package; each message is written for the person who reads it."""

from __future__ import annotations

from tabular import located


class RecommenderError(Exception):
    """Base class: something the user can act on went wrong in a recommender."""


class InvalidData(RecommenderError, ValueError):
    """Input data is missing a column or holds a value that cannot be read; the message says where."""

    what = "data"  # what the file holds, as a message names it ("there is no interactions file at ...")

    def __init__(
        self, message: str, *, column: str | None = None, where: str | None = None, file: str | None = None
    ) -> None:
        """``where`` names the row as the reader counts it ("row 3" of a frame, "line 4" of a file), ``file`` the
        file by its base name ("": the message names it itself)."""
        super().__init__(located(message, where, column, file))
        self.message, self.column, self.where, self.file = message, column, where, file

    def in_file(self, name: str) -> InvalidData:
        """The same error, naming the file it is of first (``tailor recommend`` reads two): itself when it names a
        file already."""
        if self.file is not None:
            return self
        return type(self)(self.message, column=self.column, where=self.where, file=name)


class InvalidInteractions(InvalidData):
    """The interactions data is missing a column or holds a value that cannot be read."""

    what = "interactions"


class InvalidProducts(InvalidData):
    """The product catalog is missing a column or holds a value that cannot be read."""

    what = "product catalog"


class NotFitted(RecommenderError):
    """A model was asked to recommend before it was trained."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The '{name}' recommender has not been trained yet; call fit() or load a saved model.")


class UnknownModel(RecommenderError, KeyError):
    """No recommender is registered under the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"No recommender called '{name}'. Choose one of: {', '.join(known)}.")
        self.name = name
        self.known = list(known)

    def __reduce__(self):  # made again from both arguments: a process pool's worker sends it back pickled
        return type(self), (self.name, self.known)

    def __str__(self) -> str:
        return str(self.args[0])


class FitFailed(RecommenderError):
    """Training could not produce a usable model (too little data, bad parameters)."""


class ArtifactError(RecommenderError):
    """A saved model folder is missing, incomplete or was written by an incompatible version."""
