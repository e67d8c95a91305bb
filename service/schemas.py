"""Request and response bodies of the REST API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from generation.invisible import first_direction_control, visible
from generation.schemas import NOTE_MAX
from service.bounds import COUNT_MAX, ROW_ID_MAX
from service.clock import as_text
from service.db.models import EVENT_ID_MAX

# A moment the API gives: kept as UTC without a zone, written in JSON with its zone, 2026-12-01T20:11:35.805549Z.
UtcMoment = Annotated[datetime, PlainSerializer(as_text, return_type=str, when_used="json")]


def shown_score(score: float | None) -> float | None:
    """A recommender's score as the API shows it: to 6 significant digits, without the float noise of the sums that
    made it (0.8200000000000001); a list's order is its ranks', which the scores were ranked by unrounded."""
    return None if score is None else float(f"{score:.6g}")


def _shown_scores(picks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A draft's stored recommendations with their scores as the API shows them (``shown_score``)."""
    return [{**pick, "score": shown_score(pick["score"])} if "score" in pick else pick for pick in picks]


Score = Annotated[float, PlainSerializer(shown_score, return_type=float, when_used="json")]
SCORE = "the recommender's score of the product for the customer, to 6 significant digits (`rank` gives the order)"

# A product is named by `product_id` in every answer, as the orders file and a draft's products name it; the names
# answers gave it before (`sku`, `product`) are still given beside it, for the marketing tools that read them.
PRODUCT_ID = "the product's id, the shop's own (its sku: the products file's `sku`, the orders file's `product_id`)"


def replaced_by(field: str) -> str:
    """The description of a field an answer still gives under its old name, for the clients that read it."""
    return f"deprecated: the same as `{field}`, which replaces it; still given for the clients that read this name"


CampaignType = Literal["welcome", "cross_sell", "win_back", "replenishment", "vip"]
# bounce: a hard bounce (the address is not mailed again); complaint: marked as spam (unsubscribes, as unsubscribe)
# machine_click: a click a link scanner made, not a reader (service.machine_clicks), counted apart from clicks;
# machine_open: an open a machine made (a mail gateway, a privacy proxy: service.machine_opens), apart from opens.
EventKind = Literal[
    "delivered", "open", "machine_open", "click", "machine_click", "conversion", "unsubscribe", "bounce", "complaint"
]
# A draft's life: waiting for review (flagged: a person must look), reviewed, then sent, skipped or held out.
DraftStatus = Literal["pending", "flagged", "approved", "sending", "rejected", "sent", "skipped", "holdout"]
CampaignStatus = Literal["created", "generating", "ready", "failed", "sent"]
JobStatus = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled"]
# What the service runs as jobs (the names its runners are given): imports, the audience refresh after one,
# trainings (asked for, and the scheduled retrain), generation, sends (asked for, and the due-check's).
JobKind = Literal["import", "audience", "train", "retrain", "generate", "send", "send_due", "refresh_facts"]
ModelKind = Literal["recommender", "engagement"]  # the kinds of trained model the service keeps and serves

# A row's id in a path, a query or a form, where it is text read as a number.
DatabaseId = Annotated[int, Ge(1), Le(ROW_ID_MAX)]
# A row's id in a JSON body: a number, so that `true` is not read as id 1.
BodyId = Annotated[int, Strict(), Ge(1), Le(ROW_ID_MAX)]
SHOP_SEND_ID_MAX = 128  # characters of the shop's own id of an imported send, as Send.external_id stores it


def _send_reference(value: object) -> int | str:
    """Tailor's id of a send (a number, never true/false) or, as `send_id` took it before `shop_send_id`, the shop's
    own id of an imported send (a string); one error naming the field, not one for each form it might have taken."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= ROW_ID_MAX:
            raise ValueError(f"Tailor's send ids are from 1 to {ROW_ID_MAX}")
        return value
    if isinstance(value, str) and 1 <= len(value.strip()) <= SHOP_SEND_ID_MAX:
        return value.strip()
    raise ValueError(
        f"must be Tailor's id of the send (a number) or an imported send's own id (a string of 1 to "
        f"{SHOP_SEND_ID_MAX} characters)"
    )


ShopSendId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHOP_SEND_ID_MAX)]
SendReference = Annotated[
    int | str,
    PlainValidator(_send_reference),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX},
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": SHOP_SEND_ID_MAX,
                    "deprecated": True,
                    "description": "deprecated: an imported send's own id, which `shop_send_id` takes now; still "
                    "taken for the clients that send it so",
                },
            ]
        }
    ),
]
# The most one conversion may be worth, in the shop's currency: more than any real order, even in a currency of many
# small units (a trillion dong is some 40 million dollars), and far enough from a float's limit that no sum of
# conversions overflows.
CONVERSION_VALUE_MAX = 1e12


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


class RequestBody(BaseModel):
    """A request's JSON body. No text in it may hold a NUL character: PostgreSQL cannot store one (the request
    failed with a plain-text 500 there, and was stored on SQLite), and no name, copy or id needs one."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("holds a NUL character (\\x00), which no text may")
        return value


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

    error: str = Field(description="the kind of error: NotFound, Conflict, NotReady, InvalidRequest, ...")
    message: str = Field(description="what went wrong and what to do, in one line for a person")
    problems: list[ProblemOut] = Field(
        default_factory=list, description="with 422: each refused field, or file row and column; else empty"
    )
    replaced_by: int | None = Field(
        default=None,
        description="with a 404 of kind DraftReplaced: the draft written for the same customer when the campaign "
        "was generated again (null: none, the customer is no longer in its audience); absent otherwise",
    )


class ImportResult(BaseModel):
    kind: str
    rows: int = Field(description="rows taken in: inserted, updated and unchanged (erased customers' left out)")
    inserted: int
    updated: int = Field(description="rows of known keys that changed what is stored")
    unchanged: int = Field(0, description="rows of known keys that say what is stored already (not written again)")
    left_out: int = Field(0, description="rows of erased customers, not written; a warning names them")
    drafts_moved: int = Field(
        0,
        description="customers files: approved drafts waiting for a time of their customer's day (a best hour, a "
        "contact policy's deferral) moved to that time of day on the clock of the customer's new zone",
    )
    warnings: list[str] = []  # data written that will not work as expected, e.g. a language without templates
    date_orders: list[str] = Field(
        [], description="how the file's numeric dates were read (day-first or month-first) and why: given with it, "
        "its own dates, or as settled by an earlier file of the kind (GET /imports/date-orders)",
    )  # fmt: skip
    # After orders: the job recomputing segments and profiles (GET the status URL for its progress).
    audience_job_id: str | None = None
    audience_status_url: str | None = None
    audience_not_recomputed: str | None = Field(
        None, description="after orders that changed nothing (every line as stored): why no job recomputes the "
        "audience, which those orders gave already",
    )  # fmt: skip


class SettledDateOrderOut(BaseModel):
    """The order an import kind's numeric dates are read in when a file's own dates do not say it."""

    kind: str
    column: str = Field(description="the date column: timestamp, sent_at, consent_at or arrived_at")
    order: Literal["day-first", "month-first"]
    import_file: str = Field(description="the file that settled it")
    import_job_id: str | None = Field(None, description="its import's job, when it ran as one")
    settled_at: UtcMoment


class ErasureLiftIn(RequestBody):
    """Someone erased who signed up again of their own will, by the customer id they were erased under, their
    address, or both."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(None, max_length=128, description="the customer id they were erased under")
    email: str | None = Field(None, max_length=320, description="their address, in any case")


class ErasuresLifted(BaseModel):
    lifted: int = Field(
        description="erasures lifted: each holds a customer id and an address; one that either matched is lifted, "
        "with every other id kept for that address"
    )


class JobStarted(BaseModel):
    """A job was queued: GET `status_url` for its status, progress and, once it ends, its result or error."""

    job_id: str
    status_url: str

    @classmethod
    def of(cls, job_id: str) -> JobStarted:
        return cls(job_id=job_id, status_url=job_status_url(job_id))


def job_status_url(job_id: str) -> str:
    """Where a client follows a job: GET it for the status, progress and result (under TAILOR_API_ROOT_PATH, the
    prefix a proxy serves the API under)."""
    from service.settings import ApiSettings

    return f"{ApiSettings().root_path}/jobs/{job_id}"


class CustomerOut(BaseModel):
    customer_id: str
    email: str
    first_name: str
    locale: str
    timezone: str | None = Field(
        None, description="the IANA time zone the customer lives in (a customers file's `timezone`), whose clock their "
        "best send hour is an hour of and their best-hour sends wait for; null: the shop's (TAILOR_SEND_TIMEZONE)",
    )  # fmt: skip
    marketing_consent: bool
    consent_changed_at: UtcMoment | None = Field(
        None, description="when `marketing_consent` took its present value: the customers file's `consent_at` (when "
        "the shop collected it), else when Tailor got it (the import that brought the customer or changed their "
        "consent; the same consent again keeps the time); null for one whose consent is unchanged since before "
        "Tailor kept the time",
    )  # fmt: skip
    consent_source: str | None = Field(
        None, description="the latest change of the customer's consent or subscription and what brought it, in words "
        "(\"withdrawn by import of nightly.csv (job ...)\", \"unsubscribed by unsubscribe link of send 12\"); the "
        "subject access export's `consent_history` lists them all; null for one without a recorded change",
    )  # fmt: skip
    unsubscribed: bool
    unsubscribed_at: UtcMoment | None = Field(
        None, description="when the unsubscribe took effect, as the consent history's change says: an unsubscribe "
        "link's click (also one written later, the database busy), an `unsubscribe` or `complaint` event's "
        "`occurred_at` (also one reported late; never after Tailor took it), else when Tailor took it (a customers "
        "file, another customer at the address): null while subscribed, and for one unsubscribed before Tailor kept "
        "the time",
    )  # fmt: skip
    email_bounced: bool = Field(
        False, description="the address hard-bounced (a `bounce` event, or the mail server refused it for good): "
        "it is not mailed until the customer's email changes",
    )  # fmt: skip
    segment: str = Field(
        description="an RFM segment, or no_orders (no order yet, or none since the last audience refresh), as "
        "GET /segments counts and GET /customers?segment= lists them"
    )
    profile: dict[str, Any] = Field(
        {},
        description="what the latest audience refresh computed, empty before one: `as_of`, the day it describes "
        "(YYYY-MM-DD; orders from that day on are not in it), and `horizon_days` (TAILOR_AUDIENCE_HORIZON_DAYS), "
        "the days ahead of it the forecasts cover; `recency_days` (from the last order's day to `as_of`), "
        "`frequency` (orders), `monetary` (mean order value, net of returns), their 1-5 scores `r_score`, "
        "`f_score`, `m_score` (ranked among the shop's customers) and `rfm_segment`; `cluster`, `cluster_label`; "
        "`repeat_purchase_days` (days with an order after the first), `cycle_days` (expected days between orders); "
        "`p_alive` (0-1, the buying-pattern model's); `churn_risk` (0-1, the chance of no order within the "
        "`horizon_days`); `expected_purchases` (days with an order within them), `expected_purchase_value` (spend "
        "on each, in the orders' currency), `clv` (their product: the spend expected within the horizon, not "
        "discounted, not a lifetime's); `next_purchase_date` (null when not expected back); `reasons`, each in "
        "words. Null where unknown (a shop where nobody has bought twice)",
    )
    attributes: dict[str, Any] = Field(
        {}, description="the customers file's own columns beyond the documented ones (a loyalty tier, a country…)"
    )


class ProductOut(BaseModel):
    product_id: str = Field(validation_alias=AliasChoices("product_id", "sku"), description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str
    category: str
    price: float
    currency: str
    description: str
    url: str
    in_stock: bool
    recommendable: bool = Field(True, description="false for a line that is no merchandise: never recommended")
    margin: float | None = None
    arrived_at: UtcMoment | None = None


class Recommendation(BaseModel):
    rank: int
    product_id: str = Field(description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str
    price: float
    currency: str
    url: str
    score: Score = Field(description=SCORE)
    because_you_bought: list[str] = []
    new_arrival: bool = Field(
        False,
        description="a product imported since the model in use was trained, so unknown to it, which the customer "
        "has not bought: ranked by its likeness to the products the model knows (`because_you_bought` names the "
        "customer's purchases most like it). Not the catalog's `arrived_at`, which `boost_recently_arrived` reads: "
        "a product that arrived last week and was in the training is false here, and one imported since the "
        "training without an `arrived_at` is true here and not boosted",
    )
    fallback: bool = Field(
        False,
        description="a fallback: the model could rank no more products for the customer (a catalog, or part of one, "
        "imported since its training and reading like none it knows), so the list is filled with the products it "
        "cannot rank by their recent popularity in the shop's orders (their buyers, the latest weighing most), after "
        "the same business rules; `because_you_bought` is empty",
    )
    reason: Literal["because_you_bought", "new_arrival", "fallback", "bought_before", "popular", "activity"] = Field(
        description="why the product is there: `because_you_bought`, the customer's purchases most like it are named "
        "there; `new_arrival` and `fallback`, as those fields say; `bought_before`, the customer's own purchase "
        "again (a re-order), with no other purchase like it. A product new to the customer that none of their "
        "purchases explains is `popular` where the model ranked it by the shop's popularity, and `activity` where it "
        "ranked it by the customer's own interactions. `popular`: every pick of the `popularity` and "
        "`segment_popularity` models (their `because_you_bought` is always empty) and of `repeat_purchase` but "
        "their re-orders; the `blend`'s, which weighs recent and last season's popularity among its signals; any "
        "model's for a customer it was trained without. `activity`: `ease`'s, `als`'s, `bpr`'s and the other "
        "collaborative or content models' for a customer they know, ranked by their views and carts (never named) "
        "or by purchases linked to it too faintly to name",
    )


# Who reviewed (as the reviews table holds it) and why: bounded, so that a runaway client cannot store megabytes.
Reviewer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
COMMENT_MAX = 5000  # characters of a review's comment, through the API and the review page alike
Comment = Annotated[str, Field(max_length=COMMENT_MAX)]


class CampaignIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    brand: str = Field(min_length=1, max_length=100, description="Brand kit name, one of prompts/brands/*.yaml")
    campaign_type: CampaignType
    audience_query: str | None = Field(
        default=None, description="Optional filter, e.g. `segment in (at_risk, cant_lose) and clv > 100`"
    )
    max_customers: Annotated[int, Strict()] | None = Field(default=None, ge=1, le=COUNT_MAX)
    holdout_share: FiniteFloat | None = Field(
        default=None, ge=0, lt=1, description="Run as an A/B/n experiment holding out this share (e.g. 0.1)"
    )

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_the_reader_sees(cls, name: Any) -> Any:
        """Typed by a person, as a copywriter's edit is (as_the_reader_sees): a direction control is refused, as the
        review page and the command line show the name turned around by it; characters that take no room are
        dropped, and a name of nothing else is empty."""
        return as_the_reader_sees(name)


class ProductClicksOut(BaseModel):
    """One of the products of a campaign's email clicked most (its `performance`'s `product_clicks`)."""

    product_id: str = Field(description=PRODUCT_ID)
    product: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str = Field(description="the product's name")
    clicks: int = Field(description="the emails whose reader clicked it (twice counts once)")


class CampaignOut(BaseModel):
    id: int
    name: str
    brand: str
    campaign_type: CampaignType
    audience_query: str | None
    max_customers: int | None
    status: CampaignStatus
    created_at: UtcMoment
    drafts: dict[str, int] = Field(
        {}, description="the drafts by status, every status named (0 for none), each draft counted once (`flagged`: "
        "flagged and still waiting for a person), and their `total`"
    )  # fmt: skip
    stats: dict[str, Any] = {}
    forecast: dict[str, Any] = {}
    performance: dict[str, Any] = Field(
        {}, description="once it has sent: `sent`, the sends known to have gone out, and of them `opened`, "
        "`clicked`, `converted`, `unsubscribed`, `complained` and `bounced` with their rates over `sent` (null while "
        "it is 0), and `revenue` (the conversions' value), from the events recorded so far; to set beside "
        "`forecast`. `tracked_opens` and `tracked_clicks`: of `sent`, the emails Tailor sent with its open image and "
        "with its links through it (TAILOR_TRACK_OPENS, TAILOR_TRACK_CLICKS); of the others only an email service's "
        "events tell. `perhaps_sent`: emails whose mail server's answer was lost (a dropped connection, a killed "
        "process) and of which nothing was heard since, left out of `sent` and the rates. `machine_clicked`: the "
        "emails whose links a link scanner clicked (a `machine_click`: as the email was sent, or two links within a "
        "second), which are not counted as clicked or opened. `machine_opened`: the emails whose open a machine made "
        "(a `machine_open`: Tailor's image loaded as the email was sent, or an email service's report of one), which "
        "are not counted as opened. `product_clicks`: the 10 "
        "products of its email clicked most (`product_id`, `name`, `clicks` the emails whose reader clicked "
        "it; `product`, deprecated, the same as `product_id`), from Tailor's tracked links and the click events "
        "that give their address (`url`)",
        json_schema_extra={
            "properties": {
                "product_clicks": {"type": "array", "items": ProductClicksOut.model_json_schema(mode="serialization")}
            }
        },
    )  # fmt: skip
    holdout_share: float | None = None
    scheduled_at: UtcMoment | None = Field(
        None,
        description="the moment (UTC) a scheduled send mails the approved drafts (POST /campaigns/{id}/send?at=...)",
    )
    at_best_hour: bool = Field(
        False,
        description="whether the scheduled send mails each customer at their best hour from `scheduled_at` on "
        "(drafts approved later too)",
    )
    waiting: int = Field(
        0,
        description="approved drafts waiting for a later send time (a scheduled moment, the "
        "customer's best hour, the contact policy); the server sends them as they fall due",
    )
    next_send_at: UtcMoment | None = Field(None, description="when (UTC) the next waiting draft falls due")
    mailed_recently_by_then: int | None = Field(
        None,
        description="in a campaign scheduled for later: how many approved drafts go to customers mailed within the "
        "contact policy's days (TAILOR_SEND_MIN_DAYS_BETWEEN) before `scheduled_at`, by the emails sent so far; "
        "their emails will wait past it (at best hours, at most this many)",
    )


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
        description=f"the email's products in rank order, each by its `product_id`, with its catalog facts and "
        f"`score`: {SCORE}"
    )
    offer: dict[str, Any] | None
    send_after: UtcMoment | None = None  # an approved draft waiting for the customer's best send hour
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

# Text without line breaks (Unicode's too: NEL, LINE and PARAGRAPH SEPARATOR, which the mail library refuses in a
# header) or other control characters.
ONE_LINE = r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*$"
# What breaking ONE_LINE is, in words (its regex meant nothing to a copywriter), alike in the API and the review page.
NOT_ONE_LINE = (
    "must be one line: it holds a line break, a tab or another invisible control character (text pasted from a "
    "spreadsheet or a document often brings one); retype the spaces between its words"
)
# Spaces at either end of a one-line field, once the characters that take no room are dropped (as_the_reader_sees):
# stripping spaces alone saved a subject of zero-width characters, an invisible line.
_BLANK_ENDS = re.compile(r"^\s+|\s+$")


def as_the_reader_sees(text: Any) -> Any:
    """Copy a copywriter typed, as the reader will see it: ValueError naming the first direction control (U+202E
    and the like showed the subject in another order than the checks and the spam filters read it), and the
    characters that take no room dropped (generation.invisible: a zero-width space in "free" hid it from the
    checks; pasted from a document, one is unseen by the copywriter too, so it is dropped rather than refused)."""
    if not isinstance(text, str):
        return text
    if (found := first_direction_control(text)) is not None:
        raise ValueError(
            f"{found}, which shows the text in another order than it is written (readers would not read what the "
            "checks read); delete it"
        )
    return visible(text)


def _seen_line(line: Any) -> Any:
    """One product line as the reader sees it, blank ends dropped (a line of nothing visible is empty)."""
    seen = as_the_reader_sees(line)
    return _BLANK_ENDS.sub("", seen) if isinstance(seen, str) else seen


class VariantEdit(RequestBody):
    """A copywriter's edit, from the API or the review page alike: the one place its limits are set."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The subject is a mail header: a line break in it would start another header (the mail library refuses it).
    subject: str | None = Field(default=None, min_length=1, max_length=200, pattern=ONE_LINE)
    preheader: str | None = Field(default=None, max_length=300, pattern=ONE_LINE)
    intro: str | None = Field(default=None, max_length=2000)
    # One line per product of the email, in the order shown; the model's lines are the part most often wrong. A line
    # break in one showed its second half unindented in the text email, and the page's one-line box cannot hold it.
    product_lines: (
        list[Annotated[str, Field(min_length=1, max_length=300, pattern=ONE_LINE), BeforeValidator(_seen_line)]] | None
    ) = None
    reviewer: Reviewer = ""
    expected_revision: ExpectedRevision = None

    @field_validator("subject", "preheader", mode="before")
    @classmethod
    def _nothing_unseen_at_the_ends(cls, value: Any) -> Any:
        """As the reader sees it, blank ends dropped, before the limits are checked: a subject of nothing visible is
        empty, and refused as an empty one is; a preheader of nothing visible is none."""
        seen = as_the_reader_sees(value)
        return _BLANK_ENDS.sub("", seen) if isinstance(seen, str) else seen

    @field_validator("intro", mode="before")
    @classmethod
    def _seen(cls, intro: Any) -> Any:
        return as_the_reader_sees(intro)

    @field_validator("intro")
    @classmethod
    def _one_kind_of_line_break(cls, intro: str | None) -> str | None:
        """A browser's text box sends CR LF: stored as typed, the text email mixed two kinds of line ending."""
        return intro.replace("\r\n", "\n").replace("\r", "\n") if intro is not None else None


class SuggestionIn(RequestBody):
    """A copywriter's request for another version of a variant's copy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(
        "", max_length=NOTE_MAX, pattern=ONE_LINE,
        description="what the copywriter wants of the new version (\"warmer\", \"mention the gift first\"), told to "
        "the model as their wish; facts still come from the draft's data alone",
    )  # fmt: skip


class SuggestionOut(BaseModel):
    """One version of a variant's copy the model suggests, checked and scored; the draft is unchanged. Saved with
    the variant's edit (`PATCH /drafts/{id}/variants/{variant_id}`, `expected_revision` this `revision`)."""

    draft_id: int
    variant_id: int
    label: str
    revision: int = Field(description="the draft's revision the suggestion was written from")
    note: str
    subject: str
    preheader: str
    intro: str
    product_lines: list[str] = Field(description="the variant's own, which a suggestion leaves as they are")
    html: str
    text: str
    checks: list[CheckOut]
    passed: bool
    p_open: float | None
    p_click: float | None
    p_conversion: float | None
    reasons: list[str] = []
    versions: int = Field(description="the model's versions asked for, this one included (the others failed checks)")


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


# A link's address as long as a browser takes one (tracked links of 8,700 characters were followed).
CLICKED_URL_MAX = 16_384


class EventIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    send_id: SendReference | None = Field(
        None,
        description="the send by Tailor's id, a number (the `id` GET /customers/{id}/sends gives); else "
        "`shop_send_id` or `message_id`. Deprecated as a string, the shop's own id, which `shop_send_id` takes now",
    )
    shop_send_id: ShopSendId | None = Field(
        None,
        description="an imported send by the shop's own id (the sends file's `send_id` column, the `shop_send_id` GET "
        "/customers/{id}/sends gives); with `send_id` too, the same string (its old use) or the event is refused",
    )
    message_id: str | None = Field(None, max_length=998, description="the send's Message-ID (a header line's length)")
    event_id: str | None = Field(
        None, min_length=1, max_length=EVENT_ID_MAX,
        description="the email service's own id for the event: one whose send already has an event with this id "
        "is a duplicate (a retry), not recorded again",
    )  # fmt: skip
    kind: EventKind
    occurred_at: datetime | None = Field(
        None,
        description="when it happened (default: now); with a time zone it is converted to UTC, without one it is UTC",
    )
    # Finite and bounded: 1e309 (infinity) was stored, and so were two of 1.7e308, whose sum overflows; either way
    # the campaign's revenue read null from then on.
    value: FiniteFloat | None = Field(
        None, ge=0, le=CONVERSION_VALUE_MAX,
        description="what a conversion was worth, in the shop's currency; only a conversion carries one",
    )  # fmt: skip

    url: str | None = Field(
        None, min_length=1, max_length=CLICKED_URL_MAX,
        description="the address a click followed, as the email service reports it: when it is the link of one of "
        "the products the email showed (tracking parameters such as utm_*, their order, `&amp;`, encoding, case, "
        "http, www., a trailing slash and a #fragment aside), the click is the product's (the campaign's "
        "`product_clicks`), and the recommender learns it as the customer's view of it; only a click carries one",
    )  # fmt: skip

    @property
    def send_reference(self) -> tuple[str, int | str] | None:
        """The field by which the event names its send by an id, and the id: Tailor's (a number) by `send_id`, the
        shop's (a string) by `shop_send_id` or, its old use, `send_id`; None for one named by `message_id` alone."""
        if self.send_id is not None:
            return "send_id", self.send_id
        return ("shop_send_id", self.shop_send_id) if self.shop_send_id is not None else None

    @field_validator("url")
    @classmethod
    def _only_a_click_has_a_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if url is not None and kind is not None and kind != "click":
            raise ValueError(f"only a click carries a url, not an event of kind {kind!r}")
        return url

    @field_validator("value")
    @classmethod
    def _only_a_conversion_has_a_value(cls, value: float | None, info: ValidationInfo) -> float | None:
        """An open or a click worth something is a mistake of the email service's mapping, not revenue: taken, it
        was stored and shown with the send's events."""
        kind = info.data.get("kind")  # absent when the kind itself was refused
        if value is not None and kind is not None and kind != "conversion":
            raise ValueError(f"only a conversion carries a value, not an event of kind {kind!r}")
        return value


class EventsIn(RequestBody):
    events: list[EventIn] = Field(min_length=1, max_length=10_000)


class SkippedEventOut(BaseModel):
    """An event of the batch not recorded: its send was erased (with its customer, or as old history)."""

    index: int = Field(description="the event's place in the batch, from 0")
    send_id: int | None = Field(None, description="the send it named, when it named one by `send_id`")
    message_id: str | None = Field(None, description="the Message-ID it named, when it named its send so")
    reason: str


class EventsRecorded(BaseModel):
    recorded: int = Field(description="events written")
    duplicates: int = Field(description="events their send had already (same `event_id`, or kind and time)")
    skipped: list[SkippedEventOut] = Field(
        default_factory=list, description="present when events were not recorded: those of erased sends"
    )


class JobOut(BaseModel):
    id: str
    kind: JobKind
    campaign_id: int | None = Field(
        None, description="the campaign a generate, send or refresh_facts job works on (the due-check's sends span "
        "campaigns: "
        "null, as for the other kinds; null too for a send job, or a generate job that did not succeed, made before "
        "jobs named their campaign: migration 0017)",
    )  # fmt: skip
    status: JobStatus = Field(
        description="queued, running, succeeded or failed; cancelling (asked to stop, until its next step) and "
        "cancelled (POST /jobs/{id}/cancel, or Ctrl-C on the command that ran it)"
    )
    progress: float
    done: int
    total: int
    message: str = Field(description="the step it is at; once it failed, `failed: ` and its error")
    result: dict[str, Any]
    error: str | None
    created_at: UtcMoment
    updated_at: UtcMoment


class RateOut(BaseModel):
    """A rate's posterior mean and highest-density credible interval (the shortest, which holds ``observed``: it
    starts at 0 when none was counted); ``p_best`` among the variant arms."""

    mean: float
    low: float
    high: float
    p_best: float | None = None
    observed: float | None = Field(
        None, description="the share the counts give (opens, clicks or conversions over the sends that could report "
        "them, the holdout's conversions over its customers); null before any such send. `mean` is pulled towards "
        "the uniform prior's 0.5",
    )  # fmt: skip


class LiftOut(BaseModel):
    """Conversion rate minus the holdout's, in absolute terms (0.01 is one point), with its credible interval and
    P(arm beats the holdout), under one prior for both centred on the rate they pool."""

    mean: float
    low: float
    high: float
    p_better: float
    observed: float | None = Field(None, description="the observed conversion rates' difference (`observed`)")


class RevenueLiftOut(BaseModel):
    """Revenue per customer minus the holdout's, with its interval (normal approximation)."""

    mean: float
    low: float
    high: float


class ArmOut(BaseModel):
    arm: str
    customers: int
    sends: int
    opens: int | None
    clicks: int | None
    sends_reporting_opens: int | None = Field(
        None, description="of `sends`, those that could report an open (their email carried Tailor's open image, or "
        "the email service posts opens or clicks to POST /events): what `open_rate` and an allocation by opens count; "
        "null for the holdout",
    )  # fmt: skip
    sends_reporting_clicks: int | None = Field(
        None, description="of `sends`, those that could report a click (their email's links led through Tailor, or "
        "the email service posts clicks to POST /events): what `click_rate` and an allocation by clicks count; null "
        "for the holdout",
    )  # fmt: skip
    conversions: int
    open_rate: RateOut | None = None
    click_rate: RateOut | None = None
    conversion_rate: RateOut | None = None
    lift_over_holdout: LiftOut | None = None
    revenue: float = 0.0
    revenue_per_customer: float | None = None
    revenue_lift_over_holdout: RevenueLiftOut | None = None


class ExperimentOut(BaseModel):
    campaign_id: int
    holdout_share: float
    level: float
    allocation_outcome: str
    conversion_window_days: int
    conversion_definition: str
    next_allocation: dict[str, float]
    pinned: int = Field(
        0, description="drafts sent exactly the variant their reviewer chose or edited (not an arm's): they are "
        "in no arm and none of the arms' counts",
    )  # fmt: skip
    arms: list[ArmOut]
    warnings: list[str] = Field(
        [], description="what keeps the experiment from learning: none of its arms' sends could report "
        "`allocation_outcome` (opens or clicks) and email sent now will not either, so every batch is split evenly; "
        "or those that could report it have only machines' (`machine_open`, `machine_click`: a privacy proxy's, a "
        "link scanner's) and no reader's, so the arms' even P(best) and split are no result; each says what to do",
    )  # fmt: skip


class SendTimeOut(BaseModel):
    customer_id: str
    best_hour: int = Field(
        description="the hour of the day (0–23) on the customer's clock: `timezone`, their own (a customers file's "
        "`timezone`) or else the shop's, TAILOR_SEND_TIMEZONE (UTC unless set); the moments the API gives and keeps "
        "are UTC"
    )
    timezone: str = Field("UTC", description="the IANA time zone of best_hour, e.g. Europe/Berlin: the customer's "
                          "own, or the shop's for one without")  # fmt: skip
    expected_open_rate: float
    n_sends: int
    n_opens: int
    source: Literal["own", "population"]


class ModelVersionOut(BaseModel):
    version: str = Field(description="when it was published (UTC), which orders the versions")
    current: bool = Field(description="the version the service serves and campaigns use")
    metadata: dict[str, Any] = Field(
        description="what training recorded: the recommender's name, parameters, data snapshot and holdout "
        "quality; the engagement model's sends and rates"
    )


class ModelKindOut(BaseModel):
    kind: ModelKind
    current: str | None = Field(description="the version in use; null before the first training")
    versions: list[ModelVersionOut] = Field(description="the kept versions, newest first (TAILOR_MODELS_KEPT)")
    cannot_serve: str | None = Field(
        None,
        description="why the version in use cannot be served (saved by a version of Tailor this one cannot read, "
        "after an upgrade, or its file damaged or gone) and what mends it; null when it can, or none is trained",
    )


class UseModelVersion(RequestBody):
    """A kept version to make the current one."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64, examples=["20261201T100706158903Z"])


class SendEventOut(BaseModel):
    kind: str
    occurred_at: UtcMoment
    value: float | None = None
    event_id: str | None = Field(
        None, validation_alias="external_id", description="the email service's own id for the event, if it gave one"
    )
    product_id: str | None = Field(
        None, validation_alias="product_sku",
        description="the id of the product whose link a click followed, of those the email showed (its sku); null "
        "for any other event or link",
    )  # fmt: skip
    product: str | None = Field(
        None, validation_alias="product_sku", deprecated=True, description=replaced_by("product_id")
    )
    recorded_at: UtcMoment | None = Field(
        None, description="when Tailor recorded it, which for the email service's report of it may be later than "
        "`occurred_at` (an unsubscribe that happened before an email went may have reached Tailor after it); null "
        "for events recorded before this was kept",
    )  # fmt: skip


class CustomerSendOut(BaseModel):
    """One email a customer was sent: by a Tailor campaign (`campaign_id`, `draft_id`) or in the imported history."""

    id: int
    shop_send_id: str | None = Field(
        None, validation_alias=AliasChoices("shop_send_id", "external_id"),
        description="the shop's own id of an imported send (the sends file's `send_id`); null for Tailor's",
    )  # fmt: skip
    send_id: str | None = Field(
        None, validation_alias="external_id", deprecated=True, description=replaced_by("shop_send_id")
    )
    campaign_id: int | None
    draft_id: int | None
    campaign_type: str
    subject: str
    sent_at: UtcMoment
    message_id: str | None
    to_email: str | None = Field(description="the address it went to; null for imported history")
    locale: str = Field(
        description="the language the email was written in (for imported history, the customer's when imported)"
    )
    variant_id: int | None = Field(
        None, description="the draft's variant that was mailed (GET /drafts/{draft_id} shows it); null for imported "
        "history",
    )  # fmt: skip
    segment: str = Field(description="the customer's segment when the email went out")
    churn_risk: float | None = Field(description="the customer's churn risk when the email went out")
    arm: str | None = Field(
        None, description="the experiment's arm the customer was in (the variant's label); null outside an "
        "experiment, and for a draft its reviewer pinned",
    )  # fmt: skip
    perhaps_sent: bool = Field(
        False, description="Tailor's email whose mail server's answer was lost (a dropped connection, a killed "
        "process), with no event heard of it since: the customer may or may not have it; false for imported history",
    )  # fmt: skip
    tracking: str | None = Field(
        None, description="what Tailor's email told it of the customer's reading (TAILOR_TRACK_OPENS and "
        "TAILOR_TRACK_CLICKS when it went): `opens,clicks`, `opens`, `clicks`, or \"\" for neither; null for imported "
        "history and email sent before Tailor recorded it",
    )  # fmt: skip
    events: list[SendEventOut]


class HeldCustomerOut(CustomerOut):
    """The customer's record as a subject access request shows it: as GET /customers/{id}, and what it keeps
    besides."""

    created_at: UtcMoment = Field(description="when the customer was first imported")
    updated_at: UtcMoment = Field(description="when their record last changed (an import, an unsubscribe, a bounce)")
    bounced_email: str | None = Field(
        description="the address a hard bounce came back from, which may be an earlier one than `email`"
    )


class OrderLineOut(BaseModel):
    """A line of the customer's orders as the orders file gave it (a purchase, cart addition, view or return)."""

    order_id: str
    product_id: str = Field(description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    product_name: str = Field(description="the product's name")
    product: str = Field(deprecated=True, description=replaced_by("product_name"))
    quantity: float
    amount: float = Field(description="what was paid for the line")
    discount: float | None = None
    kind: str
    timestamp: UtcMoment


class HeldCampaignOut(BaseModel):
    """A campaign that holds a draft, a send or an experiment assignment of the customer."""

    id: int
    name: str
    campaign_type: str
    created_at: UtcMoment


class HeldSendOut(CustomerSendOut):
    """An email the customer was sent, with what it recorded of them when it went out."""

    preheader: str
    intro: str
    n_products: int = Field(description="how many products the email showed")
    mean_price: float = Field(description="the mean price of the products the email showed")
    rec_score: Score | None = Field(
        description="how well the recommender rated the email's products for the customer (their mean score, to 6 "
        "significant digits)"
    )


class ConsentChangeOut(BaseModel):
    """One change of whether the customer may be sent marketing email (GDPR Art. 7(1))."""

    change: Literal["given", "withdrawn", "unsubscribed"] = Field(
        description="their marketing consent given or withdrawn (the shop's customers file), or their unsubscribe, "
        "which stops the mail whatever the consent says"
    )
    took_effect_at: UtcMoment = Field(
        description="when it took effect: the customers file's `consent_at`, an event's time, else when recorded"
    )
    recorded_at: UtcMoment = Field(description="when Tailor recorded it")
    source: str = Field(
        description="what brought it: `import`, `unsubscribe link`, `unsubscribe event` or `complaint event` (an "
        "email service's), `address unsubscribed` (their address, unsubscribed under another customer id at it or "
        "from an email to an erased customer), or `stored before 0045` (what the customer's record said when Tailor "
        "began keeping the history)"
    )
    import_file: str | None = Field(description="the imported file's name, for an import")
    import_job_id: str | None = Field(description="the import's job, for an import run as one (GET /jobs/{id})")
    send_id: int | None = Field(description="the email whose link or event it was")


class AssignmentOut(BaseModel):
    campaign_id: int
    arm: str = Field(description="the experiment's arm: a variant's label, or holdout (sent nothing)")
    send_id: int | None
    assigned_at: UtcMoment


class HeldDraftOut(DraftOut):
    """A draft as a subject access request shows it: as GET /drafts/{id}, its reviews without the shop's API keys."""

    reviews: list[HeldReviewOut]


class SubjectAccessOut(BaseModel):
    """Everything Tailor holds about one customer, for the shop to hand over (GDPR Art. 15 and 20)."""

    exported_at: UtcMoment
    customer: HeldCustomerOut
    orders: list[OrderLineOut] = Field(description="their order lines, oldest first")
    campaigns: list[HeldCampaignOut] = Field(description="the campaigns the drafts, sends and assignments name")
    drafts: list[HeldDraftOut] = Field(description="their email in each campaign, with its variants and review history")
    sends: list[HeldSendOut] = Field(description="the emails they were sent, newest first, each with its events")
    experiment_assignments: list[AssignmentOut]
    consent_history: list[ConsentChangeOut] = Field(
        description="every change of their consent and subscription Tailor recorded, in the order they took effect"
    )
    not_included: list[str] = Field(description="what else may hold something of them, which this does not list")


class AudienceCustomerOut(BaseModel):
    customer_id: str
    first_name: str = ""
    segment: str = Field(description="the RFM segment, or no_orders (no orders yet)")
    churn_risk: float | None = None
    clv: float | None = None
    reason: str = Field("", description="why the customer is in the audience, in words")
    offer: dict[str, Any] | None = Field(None, description="the customer's offer (kind, value, code), if any")


class AudienceOut(BaseModel):
    campaign_type: CampaignType
    query: str | None
    as_of: str = Field(
        description="the day the audience is chosen on (YYYY-MM-DD): the profiles' day, `TAILOR_AUDIENCE_AS_OF` or "
        "the day after the latest order, which the reasons' days since the last order and due dates count from"
    )
    customers: int = Field(description="mailable customers the campaign would target today")
    mailed_recently: int = Field(description="of them, mailed within the contact policy's days: their email waits")
    held_out: int = Field(description="of them, held out by an experiment within its conversion window")
    sample: list[AudienceCustomerOut] = Field(description="the first `limit` customers, with why and their offer")


class SegmentOut(BaseModel):
    segment: str = Field(description="an RFM segment, or no_orders")
    customers: int
    revenue: float
    orders: int
    average_order_value: float | None = Field(description="null when the segment has no orders")
    retention_rate: float | None = Field(
        description="the share of the customers in the segment on retention_since who ordered again since (null: "
        "none were)"
    )
    retention_base: int
    retention_since: str = Field(description="a date (YYYY-MM-DD)")
    retention_days: int
    label: str = Field(description="the segment's name as a person reads it (\"can't lose\")")
    description: str = Field(description="what its customers have in common, in words")
    last_order_days_min: int | None = Field(
        None, description="the fewest days from a customer's last order to as_of in the segment at the refresh"
    )
    last_order_days_max: int | None = Field(
        None, description="the most such days (both null for no_orders, or a refresh stored before they were kept)"
    )
    as_of: str = Field(description="the day the segments describe (YYYY-MM-DD)")
    computed_at: str = Field(description="when the audience refresh computed them (UTC)")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: a model in use cannot be read by this version of Tailor (see problems)"
    )
    models: dict[str, str | None] = Field(
        description="the version of each model kind the next request is served with (null: none trained yet)"
    )
    problems: list[str] = Field(default_factory=list, description="what is degraded, each with its fix")
