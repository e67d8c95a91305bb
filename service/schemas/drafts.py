"""A campaign's drafts as the API gives them: each customer's email with its variants, checks and reviews, and the
revision an edit or a review is based on."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer

from service.bounds import COUNT_MAX
from service.schemas.common import SCORE, UtcMoment, shown_score
from service.schemas.recommendations import PICK_REASON


def _shown_scores(picks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A draft's stored recommendations with their scores as the API shows them (``shown_score``)."""
    return [{**pick, "score": shown_score(pick["score"])} if "score" in pick else pick for pick in picks]


# A draft's life: waiting for review (flagged: a person must look), reviewed, then sent, skipped or held out.
DraftStatus = Literal["pending", "flagged", "approved", "sending", "rejected", "sent", "skipped", "holdout"]


class CheckOut(BaseModel):
    name: str
    passed: bool
    reason: str = ""
    turned_down: str = Field(
        "",
        description="on a variant in template copy (`used_fallback`): why this check turned down the model's copy "
        "that the template's replaced (“the subject reads as English, expected German”); on a variant of the model's "
        "copy, why its preheader or intro is the template's (the model's repeated another field); empty when it did "
        "not",
    )


class VariantOut(BaseModel):
    id: int
    label: str
    subject: str
    preheader: str
    intro: str
    product_lines: list[str]
    html: str
    text: str
    checks: list[CheckOut]
    used_fallback: bool
    edited: bool
    p_open: float | None
    p_click: float | None
    p_conversion: float | None
    reasons: list[str] = []


class HeldReviewOut(BaseModel):
    """A review as a subject access request shows it: without the API key it was made with, the shop's credential."""

    action: str
    reviewer: str
    comment: str
    overridden_checks: list[str] | None = None  # an approval despite these failed checks; the comment says why
    revision: int | None = Field(
        None, description="the draft's revision this review made (null: made before revisions)"
    )
    created_at: UtcMoment


class ReviewOut(HeldReviewOut):
    key_prefix: str | None = Field(
        None,
        description="the API key the review was made with, as `tailor keys list` shows it: the reviewer's "
        "name is only declared (at the review page's login, in the body); null for the CLI, and before 0025",
    )
    key_name: str | None = Field(None, description="that key's name")


class DraftOut(BaseModel):
    id: int
    campaign_id: int
    customer_id: str
    first_name: str
    email: str
    locale: str
    timezone: str | None = Field(
        None, description="the customer's own IANA time zone (a customers file's `timezone`), on whose clock a send at "
        "best hours waits for their hour; null: the shop's (TAILOR_SEND_TIMEZONE). `send_after` is UTC",
    )  # fmt: skip
    segment: str = Field(description="the customer's RFM segment today, or no_orders")
    status: DraftStatus
    flagged: bool
    flag_reasons: list[str]
    audience_reason: str
    selected_variant_id: int | None = Field(
        description="the variant chosen for the customer: by the reviewer, else the one generation ranked first. In "
        "an experiment a draft not `pinned` is sent its arm's variant, which may be another: see `sent_variant_id`"
    )
    sent_variant_id: int | None = Field(
        None, description="the variant that was mailed (in an experiment, the customer's arm's, unless the draft "
        "was `pinned`); null until the draft is sent, or handed to the mail server when the connection was lost (the "
        "draft is then flagged: the customer may have it)",
    )  # fmt: skip
    perhaps_sent: bool = Field(
        False, description="true while the draft's email was handed to the mail server but its answer was lost (the "
        "draft is flagged; `sent_variant_id` is what the customer may have): approved again, it goes on the same send, "
        "unless an open or click has shown meanwhile that it went",
    )  # fmt: skip
    sent_to: str | None = Field(
        None, description="the address the email went to, as the customer's was then (`email` is theirs now); null "
        "until the draft is sent, and for an email sent before Tailor kept that address (migration 0014)",
    )  # fmt: skip
    recommendations: Annotated[
        list[dict[str, Any]], PlainSerializer(_shown_scores, return_type=list[dict[str, Any]], when_used="json")
    ] = Field(
        description=f"the email's products in rank order, each by its `product_id`, with its catalog facts, "
        f"`score`: {SCORE}; and `because_you_bought`, `new_arrival`, `fallback` and `reason` as a customer's "
        f"recommendations give them (`Recommendation`; a draft written before Tailor gave a field lacks it): "
        f"`reason`: {PICK_REASON}"
    )
    offer: dict[str, Any] | None
    send_after: UtcMoment | None = None  # an approved draft waiting for the customer's best send hour
    scored_for: UtcMoment | None = Field(
        None, description="the moment the variants' `p_open`, `p_click` and `p_conversion` are for (the model reads "
        "the send's hour and weekday): the draft's `send_after`, else its campaign's scheduled moment (or the moment "
        "the draft was written, where that came later), else the moment it was written; the figures are scored again "
        "when it moves (a reschedule, an approval, a reopening). A draft waiting for review in a campaign sent at "
        "best hours is scored for the campaign's moment: its customer's best hour is given, and scored for, at its "
        "approval. Null for a draft sent, being sent or skipped: its figures are those it last had",
    )  # fmt: skip
    retry_after: UtcMoment | None = Field(
        None, description="an approved draft whose address the mail server refused for now (4xx: greylisting, a "
        "full mailbox, a rate limit) is not tried again before this moment; the due-check tries it then",
    )  # fmt: skip
    pinned: bool = Field(
        False, description="approved with a variant the reviewer chose (another than the chosen one, a failed "
        "check overridden, or copy edited): in an experiment it is sent exactly that variant, outside the arms",
    )  # fmt: skip
    cannot_mail: str | None = Field(
        None, description="why the customer may not be mailed now (unsubscribed or bounced since the draft was "
        "written, consent withdrawn): such a draft is skipped at sending; null when they may, and on a draft sent or "
        "skipped (`GET /customers/{id}` says whether they may be mailed now; a skipped draft's `flag_reasons` say why)",
    )  # fmt: skip
    revision: int = Field(
        description="counts the draft's changes through review (edits, approvals, rejections, reopenings): send it as "
        "`expected_revision` with an edit, approval or rejection to have it refused (409) if the draft changed since"
    )
    variants: list[VariantOut]
    reviews: list[ReviewOut]


# The draft's revision an edit or a review is based on (DraftOut.revision, as read): one that changed since is a 409.
ExpectedRevision = Annotated[
    int | None,
    Field(
        ge=0, le=COUNT_MAX,
        description="the draft's `revision` this is based on: refused (409, naming who changed what) if the draft "
        "changed since; leave it out to act on the draft as it is",
    ),
]  # fmt: skip
