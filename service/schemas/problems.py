"""The body of every error answer, and the problems of a refused request it lists."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProblemOut(BaseModel):
    """One problem of a refused request: the request's `field`, or an uploaded file's `row` and `column` (and the
    `file`'s name, as uploaded)."""

    field: str | None = None
    file: str | None = Field(default=None, description="an uploaded file's name, without its folders")
    row: int | None = None
    column: str | None = None
    message: str


class ErrorOut(BaseModel):
    """The body of every error answer (and a failed job's `result` when it refused its input)."""

    error: str = Field(
        description="the kind of error, the most specific (README, Errors, lists each with its status): one that "
        "refines another has its status (CampaignNotFound: 404, as NotFound), so a client acts on the status first; a "
        "422 is a request refused as sent, InvalidRequest for its form, InvalidInput for its content"
    )
    message: str = Field(description="what went wrong and what to do, in one line for a person")
    problems: list[ProblemOut] = Field(
        default_factory=list, description="with 422: each refused field, or file row and column; else empty"
    )
    replaced_by: int | None = Field(
        default=None,
        description="with a 404 of kind DraftReplaced: the draft written for the same customer when the campaign "
        "was generated again (null: none, the customer is no longer in its audience); absent otherwise",
    )
