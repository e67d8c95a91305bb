"""Reviewing drafts: approving, rejecting and refreshing their facts, one or a campaign's at a time, and what those
answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.schemas.common import BodyId, RequestBody
from service.schemas.drafts import ExpectedRevision

# Who reviewed (as the reviews table holds it) and why: bounded, so that a runaway client cannot store megabytes.
Reviewer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
COMMENT_MAX = 5000  # characters of a review's comment, through the API and the review page alike
Comment = Annotated[str, Field(max_length=COMMENT_MAX)]


class ApproveIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    variant_id: BodyId | None = None
    reviewer: Reviewer = ""
    comment: Comment = ""
    override_checks: bool = Field(
        default=False,
        description="approve a variant that failed guardrail checks; needs a `comment` saying why (kept with it)",
    )
    expected_revision: ExpectedRevision = None


class ApprovePendingIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reviewer: Reviewer = ""
    comment: Comment = ""


class PendingApproved(BaseModel):
    approved: int = Field(description="pending drafts approved, each with its chosen variant")
    left_for_review: int = Field(description="drafts still waiting for a person: the flagged ones")
    out_of_date: int = Field(
        0, description="of the pending drafts, those whose email the catalog no longer agrees with (a price, the "
        "stock): flagged with what changed, for a person, as one approval refuses them",
    )  # fmt: skip
    unseen_characters: int = Field(
        0, description="of the pending drafts, those whose chosen variant's email holds a character its reader does "
        "not see (a direction control, a zero-width space): flagged with where it is, for a person, as one approval "
        "refuses them",
    )  # fmt: skip
    unseen_in: dict[str, int] = Field(
        description="of those, how many hold one in their copy (`copy`), their customer's email address (`address`) "
        "or a product's link (`link`): what mends it differs (an edit; the customers' or the products' import); a "
        "draft may hold several",
    )


class LateLeft(BaseModel):
    not_late: int = Field(
        description="flagged for another reason than lateness (written flagged, held back for its facts or its "
        "checks, its sending cut off, refused by the mail server): a person must look"
    )
    edited_since: int = Field(description="held back for lateness, then edited: a person is at it")
    changed_since_read: int = Field(
        0,
        description="held back for lateness after the review page was read, or approved or changed since it was "
        "read (the review page's button alone sends when it was read)",
    )
    out_of_date: int = Field(
        description="held back for lateness, but the catalog no longer agrees with the email (a price, the stock): "
        "flagged with what changed, as one approval refuses them"
    )
    fails_checks: int = Field(description="held back for lateness, but their variant fails a check its approval did "
                              "not override")  # fmt: skip
    unseen_characters: int = Field(
        0,
        description="held back for lateness, but their email, their customer's address or a product's link holds a "
        "character its reader does not see (imported or written before such characters were refused): flagged with "
        "where it is, as one approval refuses them",
    )


class LateReapproved(BaseModel):
    reapproved: int = Field(
        description="drafts held back for lateness alone, approved again: a fresh approval, with the variant, pin and "
        "overridden checks of the approval each had"
    )
    left: LateLeft = Field(description="the flagged drafts left for a person, by why")
    left_for_review: int = Field(description="drafts still waiting for a person: the flagged and the pending ones")
    send_after: datetime | None = Field(
        description="the send time the drafts approved again got, as an approval gets it now (none: the campaign is "
        "not scheduled, they go with the next send asked for); so the due-check does not find them late again"
    )
    goes: str = Field(description="when the drafts approved again go, in words")


class RefreshFactsIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reviewer: Reviewer = ""
    expected_revision: ExpectedRevision = None


class RefreshFactsCampaignIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reviewer: Reviewer = ""


class RejectIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reviewer: Reviewer = ""
    comment: Comment = ""
    expected_revision: ExpectedRevision = None
