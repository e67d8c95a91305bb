"""Named errors of the audience package; each message is written for the person who reads it."""

from __future__ import annotations

from tabular import located


class AudienceError(Exception):
    """Base class: something the user can act on went wrong while building an audience."""


class InvalidOrders(AudienceError, ValueError):
    """The orders data is missing a column or holds a value that cannot be read."""

    def __init__(
        self, message: str, *, column: str | None = None, where: str | None = None, file: str | None = None
    ) -> None:
        """``where`` names the row as the reader counts it ("row 3" of a frame, "line 4" of a file), ``file`` the
        file by its base name."""
        super().__init__(located(message, where, column, file))
        self.message, self.column, self.where, self.file = message, column, where, file


class NotEnoughHistory(AudienceError, ValueError):
    """A model needs more customers or more history than the orders hold."""


class ModelFitFailed(AudienceError, RuntimeError):
    """A statistical model could not be fitted to the orders."""


class UnknownCampaignType(AudienceError, KeyError):
    """No campaign type is defined under the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"No campaign type called '{name}'. Choose one of: {', '.join(known)}.")

    def __str__(self) -> str:
        return str(self.args[0])


class QueryError(AudienceError, ValueError):
    """An audience query could not be read or refers to something the profiles do not have."""

    def __init__(self, message: str, *, query: str, position: int | None = None) -> None:
        where = ""
        if position is not None:
            near = query[position : position + 12].strip()
            where = f" at position {position + 1}" + (f" (near '{near}')" if near else " (at the end)")
        super().__init__(f"Audience query error{where}: {message}")
        self.query = query
        self.position = position
