"""SQLAlchemy 2 models of everything Tailor stores; the same schema runs on SQLite and PostgreSQL. Every DateTime
column holds UTC without a zone (``service.clock``), whatever the server's own zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    event,
    exists,
    inspect,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from service.clock import utcnow
from service.db.link_keys import DIGEST_LENGTH, link_key_digest
from service.db.name_keys import NAME_KEY_TYPE, name_key
from service.db.shown_products import keep_shown

EVENT_ID_MAX = 200  # characters of the id an email service gives an event
# The table args of a table whose ids the API hands out and whose rows are deleted: on SQLite an id is then never
# given again (without AUTOINCREMENT SQLite gives the highest id again once its row is gone), so a link, an event
# or a stale request that names a deleted row finds nothing rather than another customer's. PostgreSQL's
# sequences never give one twice.
NEVER_REUSED_IDS = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _key(email: str | None) -> str | None:
    """An address's key (service.addresses.address_key), None for no address. Stored as Text, not at the address's
    length: lowering a letter may lengthen it (İ is two letters lowered)."""
    from service.addresses import address_key

    return address_key(email) if email is not None else None


def _key_of(context, column: str) -> str | None:
    """The key of a row a bulk insert wrote without it (the ORM's validators set it on every other write): a
    customer is never left out of its address's household for want of one."""
    return _key(context.get_current_parameters().get(column))


def _name_key_of(context) -> str:
    """The name key of a row a bulk insert wrote without it (the ORM's validators set it on every other write)."""
    row = context.get_current_parameters()
    return name_key(row.get("first_name"), row.get("external_id"))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(320))
    # The address as addresses are compared (service.addresses.address_key), kept with every write of `email`: the
    # ORM sets it below, the imports' bulk writes with the row. Indexed, so that one address's customers are found
    # without reading the table; computed in Python, so that every alphabet is folded on every database.
    email_key: Mapped[str] = mapped_column(Text, default=lambda context: _key_of(context, "email") or "", index=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    # The name shown (`first_name`, else `external_id`) as the drafts' order by customer sorts it
    # (service.db.name_keys), kept with every write of either, as `email_key` is. Folded in Python, so that every
    # database sorts it alike. Not indexed: the order reads it by the customer's id, once a draft, and nothing looks a
    # customer up by it.
    name_key: Mapped[str] = mapped_column(NAME_KEY_TYPE, default=_name_key_of)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # The IANA zone the customer lives in (a customers file's `timezone`): their best send hour is an hour of its
    # clock (service.send_times). Null: the shop's, TAILOR_SEND_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64))
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # When `marketing_consent` took its present value (a customers file's `consent_at`, else the import or write
    # that gave or changed it; a file saying the same again leaves it): null for one unchanged since before 0042.
    consent_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the unsubscribe took effect (a link's click, also one written later as kept while the database was busy;
    # an event's time, also one reported late; else when Tailor took it: an import, an address's other customer), as
    # the consent history's change says; `updated_at` is the write's. Null while subscribed, and for one
    # unsubscribed before 0039, when no time was kept.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The address a hard bounce came back from: not mailed again while it is still the customer's `email`.
    bounced_email: Mapped[str | None] = mapped_column(String(320))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    segment: Mapped[str | None] = mapped_column(String(64), index=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The profile's fields that campaign rules and most audience queries read (PROFILE_COLUMNS), written with it
    # by the audience refresh: an audience is chosen from these columns without parsing every profile.
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int | None] = mapped_column(Integer)
    monetary: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    next_purchase_date: Mapped[date | None] = mapped_column(Date)
    cluster: Mapped[int | None] = mapped_column(Integer)
    cluster_label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @validates("email")
    def _keyed(self, _name: str, email: str) -> str:
        self.email_key = _key(email) or ""
        return email

    @validates("first_name", "external_id")
    def _name_keyed(self, name: str, value: str) -> str:
        shown = {"first_name": self.first_name, "external_id": self.external_id, name: value}
        self.name_key = name_key(shown["first_name"], shown["external_id"])
        return value

    @validates("marketing_consent")
    def _consent_dated(self, _name: str, consent: bool) -> bool:
        if consent != self.marketing_consent:  # a new customer's first value too (None before it)
            self.consent_changed_at = utcnow()
        return consent

    @validates("unsubscribed")
    def _dated(self, _name: str, unsubscribed: bool) -> bool:
        if unsubscribed and not self.unsubscribed:
            self.unsubscribed_at = utcnow()
        elif not unsubscribed:
            self.unsubscribed_at = None
        return unsubscribed

    @property
    def email_bounced(self) -> bool:
        """Whether the customer's address is one a hard bounce came back from (not mailed while it is)."""
        return self.bounced_email is not None and self.bounced_email == self.email

    @property
    def mailable(self) -> bool:
        """Consent given, not unsubscribed, an address that did not bounce (service.pipeline.frames.MAILABLE)."""
        return self.why_not_mailable is None

    @property
    def why_not_mailable(self) -> str | None:
        """Why the customer may not be mailed now, in a few words; None when they may."""
        if not self.email:
            return "no email address"
        if self.unsubscribed:
            return "unsubscribed"
        if self.email_bounced:
            return f"the address {self.email} bounced"
        if not self.marketing_consent:
            return "no marketing consent"
        return None


class ConsentChange(Base):
    """One change of whether a customer may be sent marketing email, kept so that the shop can show when the person
    agreed and when they withdrew (GDPR Art. 7(1)) after the customer's own columns moved on (service.consent): their
    consent given or withdrawn (``marketing_consent``), or their unsubscribe, which leaves the consent as the shop's
    file gave it. Erased with the customer; kept as long as they are, past TAILOR_HISTORY_KEEP_DAYS."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    change: Mapped[str] = mapped_column(String(16))  # given, withdrawn or unsubscribed (service.consent)
    # When it took effect: a customers file's `consent_at`, an event's time, else when Tailor recorded it.
    took_effect_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What brought it: "import", "unsubscribe link", "unsubscribe event", "complaint event", "address unsubscribed"
    # (their address, unsubscribed under another id at it or from an erased one's email), or "stored before 0045"
    # (what the customer's columns said then).
    source: Mapped[str] = mapped_column(String(32))
    import_file: Mapped[str | None] = mapped_column(String(300))  # an import's file, as the shop named it
    import_job_id: Mapped[str | None] = mapped_column(String(36))  # the job of an import run as one
    # The send whose link or event it was. No foreign key: the history outlives a send deleted as old.
    send_id: Mapped[int | None] = mapped_column(Integer)


PROFILE_COLUMNS = (
    "recency_days", "frequency", "monetary", "churn_risk", "clv", "p_alive", "next_purchase_date", "cluster",
    "cluster_label",
)  # fmt: skip


def profile_columns(profile: dict[str, Any]) -> dict[str, Any]:
    """The PROFILE_COLUMNS values of a profile, as its columns take them: None for a field it does not have, and
    the next purchase (ISO text in the JSON) as a date."""
    values = {field: profile.get(field) for field in PROFILE_COLUMNS}
    if values["next_purchase_date"] is not None:
        values["next_purchase_date"] = date.fromisoformat(values["next_purchase_date"][:10])
    return values


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(200), default="")
    price: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(1000), default="")
    # The url's link key, digested (service.db.link_keys): the products a click's address may be the link of are
    # looked up by it. Kept by ``_key_link`` here, and by the products import, which writes without the models.
    link_key_digest: Mapped[str | None] = mapped_column(String(DIGEST_LENGTH), index=True)
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    # False for a line that is no merchandise (postage, carriage, a fee, a manual adjustment): never recommended.
    recommendable: Mapped[bool] = mapped_column(Boolean, default=True)
    margin: Mapped[float | None] = mapped_column(Float)  # for the margin boost: profit per unit, or a share
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime)  # for the new-arrivals boost
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Indexed: a campaign's page asks on each load whether any product was written since its drafts were
    # (service.refreshed_facts.may_be_out_of_date), which read every product without it.
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)

    @validates("url")
    def _key_link(self, _name: str, url: str) -> str:
        self.link_key_digest = link_key_digest(url)
        return url


class Interaction(Base):
    """One order line, cart addition or product view."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id", "kind", name="uq_interaction_line"),
        # Each product's buyers, read without the table (the re-order products and their buyers: migration 0033).
        Index("ix_interactions_product_customer", "product_id", "customer_id", "kind", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    # Indexed first in ix_interactions_product_customer, which serves every look-up by product.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[float] = mapped_column(Float, default=1.0)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    discount: Mapped[float | None] = mapped_column(Float)  # taken off the line; amount is what was paid
    timestamp: Mapped[datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="purchase")


class DataVersion(Base):
    """How many times an import wrote one kind of the shop's data (``name``: ``orders``), counted in the import's
    transaction: a cache of what that data gives (``service.pipeline.popularity_cache``) reads this row by its key
    to tell whether it changed. A line updated in place moves no aggregate of the table's but one that reads every
    line."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    campaign_type: Mapped[str] = mapped_column(String(32))
    audience_query: Mapped[str | None] = mapped_column(Text)
    max_customers: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="created")
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    forecast: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set when the campaign runs as an experiment: the share of its audience held out (sent nothing).
    holdout_share: Mapped[float | None] = mapped_column(Float)
    # Set by a scheduled send (POST /campaigns/{id}/send?at=...): drafts approved until then wait for it too.
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set by a scheduled send with at_best_hour: drafts approved until then wait for their customer's best hour.
    at_best_hour: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    brand: Mapped[Brand] = relationship()
    drafts: Mapped[list[Draft]] = relationship(back_populates="campaign", cascade="all, delete-orphan")


class DeletedCampaign(Base):
    """A campaign that was deleted: its id is never given to another (SQLite would reuse the highest), and a
    client that asks for it is told what became of it."""

    __tablename__ = "deleted_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Draft(Base):
    """One customer's email in a campaign, with its variants; reviewed before sending."""

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_draft_campaign_customer"),
        # The oldest of a campaign's drafts of a status, read from the index alone on each load of its page
        # (service.refreshed_facts.may_be_out_of_date): it read every draft of the campaign (7-21 ms for 10,000).
        Index("ix_drafts_campaign_status_created", "campaign_id", "status", "created_at"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="pending", index=True)
    selected_variant_id: Mapped[int | None] = mapped_column(Integer)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    audience_reason: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    send_after: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # the customer's best send hour
    # Its send time is when the contact policy's wait ends, no time of its customer's day (deferred from no send time
    # of its own: a campaign sent now, service.pipeline.contact_policy): a move to another zone leaves it
    # (service.zone_moves), and a deferral again goes at the new wait's end. Every other send time clears it.
    at_wait_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The mail server refused the address for now (4xx: greylisting, a full mailbox, a rate limit) this many times
    # since a person last approved the draft; it is not tried again before ``retry_after`` (service.pipeline.sending).
    refusals_for_now: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_after: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # read by the due-check, as send_after
    position: Mapped[int | None] = mapped_column(Integer)  # the customer's place in the audience, first = 0
    # Counts the draft's changes through review (edits, approvals, rejections, reopenings): a page or an API client
    # that says which revision it saw is refused when the draft changed since (service.drafts).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Approved with a variant a person chose rather than left to an experiment: another than the chosen one, a
    # failed check overridden, or copy edited. Sent exactly that variant, outside an experiment's arms.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # The worker (service.jobs.recovery.worker_name) that claimed the draft to send it, while it is "sending".
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="drafts")
    customer: Mapped[Customer] = relationship()
    variants: Mapped[list[Variant]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="Variant.id"
    )
    reviews: Mapped[list[Review]] = relationship(cascade="all, delete-orphan", order_by="Review.id")
    # The email it was sent (a draft is sent once), with the variant that went out: in an experiment its arm's,
    # which need not be the selected one.
    send: Mapped[Send | None] = relationship(viewonly=True)


def left_to_the_due_check():
    """The condition of an approved draft the due-check mails, not a person's send: one with a send time (its
    customer's best hour, the campaign's scheduled moment, the contact policy) or a time to try its address again.
    Read by the due-check (service.pipeline.sending) and by retention, which keeps such a draft's campaign."""
    return (Draft.status == "approved") & or_(Draft.send_after.is_not(None), Draft.retry_after.is_not(None))


def due_moment():
    """When an approved draft falls due for the due-check: the later of its send time and its time to try its
    address again (either may be unset; none when both are)."""
    return case(
        (Draft.retry_after.is_(None), Draft.send_after),
        (Draft.send_after.is_(None), Draft.retry_after),
        (Draft.retry_after > Draft.send_after, Draft.retry_after),
        else_=Draft.send_after,
    )


class Variant(Base):
    __tablename__ = "variants"
    __table_args__ = NEVER_REUSED_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    preheader: Mapped[str] = mapped_column(Text, default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    product_lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    used_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    p_open: Mapped[float | None] = mapped_column(Float)
    p_click: Mapped[float | None] = mapped_column(Float)
    p_conversion: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)

    draft: Mapped[Draft] = relationship(back_populates="variants")


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    # An approval of a variant that failed guardrail checks: the checks the reviewer overrode (the comment says why).
    overridden_checks: Mapped[list[Any] | None] = mapped_column(JSON)
    revision: Mapped[int | None] = mapped_column(Integer)  # the draft's revision this review made (null before 0019)
    # The API key the review was made with (service.auth.acting_key): the reviewer's name is only declared, at the
    # review page's login or in an API body; the key is what was checked. Null before 0025, and from the CLI.
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    key_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Send(Base):
    """One email sent to one customer, imported history or sent by Tailor; snapshots what scoring learns from."""

    __tablename__ = "sends"
    # A draft is sent once: a second send recorded for it is refused, whatever raced to send it.
    __table_args__ = (Index("uq_send_draft", "draft_id", unique=True), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(Text)
    preheader: Mapped[str] = mapped_column(Text, default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    campaign_type: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    segment: Mapped[str] = mapped_column(String(64), default="")
    n_products: Mapped[int] = mapped_column(Integer, default=0)
    mean_price: Mapped[float] = mapped_column(Float, default=0.0)
    churn_risk: Mapped[float | None] = mapped_column(Float)  # the customer's, when the email went out
    rec_score: Mapped[float | None] = mapped_column(Float)  # mean recommender score of the email's products
    sent_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    # The address it went to (null for imported history): a bounce marks this one, not a newer one.
    to_email: Mapped[str | None] = mapped_column(String(320))
    # to_email as addresses are compared (Customer.email_key)
    to_email_key: Mapped[str | None] = mapped_column(Text, default=lambda context: _key_of(context, "to_email"))
    arm: Mapped[str | None] = mapped_column(String(32))
    # What Tailor's own email told it of (TrackingSettings.carried: "opens,clicks", "opens", "clicks", or "" for
    # neither); null for an imported send, or one sent before 0041.
    tracking: Mapped[str | None] = mapped_column(String(16))

    customer: Mapped[Customer] = relationship()

    @validates("to_email")
    def _keyed(self, _name: str, email: str | None) -> str | None:
        self.to_email_key = _key(email)
        return email

    events: Mapped[list[Event]] = relationship(
        back_populates="send", cascade="all, delete-orphan", order_by="Event.occurred_at"
    )
    # Its earlier emails' Message-IDs, a draft mailed again (EarlierMessageId, which has no foreign key), earliest first
    earlier_messages: Mapped[list[EarlierMessageId]] = relationship(
        primaryjoin="Send.id == foreign(EarlierMessageId.send_id)", viewonly=True, order_by="EarlierMessageId.sent_at"
    )

    @property
    def earlier_message_ids(self) -> list[str]:
        return [earlier.message_id for earlier in self.earlier_messages]

    @hybrid_property
    def perhaps_sent(self) -> bool:
        """Whether this is Tailor's own email that may never have reached the mail server: recorded before the SMTP
        call, and nothing recorded of it since, neither the server's "delivered" nor any open, click, bounce or other
        event that only an email that went can have (its answer was lost: the connection dropped, the process was
        killed). The one place this is decided: statistics and the engagement model's training leave such a send out
        (``~Send.perhaps_sent`` in a query); the contact policy counts it, as its customer may have it; a customer's
        history shows it, so marked. Imported history (no draft) went out, as the shop's file says."""
        return self.draft_id is not None and not self.events

    @perhaps_sent.inplace.expression
    @classmethod
    def _perhaps_sent_in_sql(cls):
        return and_(cls.draft_id.is_not(None), ~exists().where(Event.send_id == cls.id).correlate_except(Event))


class DraftProduct(Base):
    """A product a draft's email shows (one of its ``recommendations``), by sku: the drafts showing a product the
    catalog wrote are found by the index on it (service.db.shown_products), not by reading every draft's JSON.
    Written with the draft's products (the mapper's events below, and generation's inserts); deleted with it."""

    __tablename__ = "draft_products"
    __table_args__ = (Index("ix_draft_products_sku_draft", "product_sku", "draft_id"),)

    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True)
    product_sku: Mapped[str] = mapped_column(String(128), primary_key=True)


@event.listens_for(Draft, "after_insert")
def _store_shown_products(_mapper, connection: Connection, draft: Draft) -> None:
    """A draft added through the ORM has its products' ``draft_products`` written in the same flush."""
    if inspect(draft).attrs.recommendations.history.has_changes():
        keep_shown(connection, draft.id, draft.recommendations, new=True)


@event.listens_for(Draft, "after_update")
def _keep_shown_products(_mapper, connection: Connection, draft: Draft) -> None:
    """A draft whose ``recommendations`` were set again through the ORM (a refresh) has its ``draft_products``
    rewritten in the same flush."""
    if inspect(draft).attrs.recommendations.history.has_changes():
        keep_shown(connection, draft.id, draft.recommendations)


class ReplacedDraft(Base):
    """A draft deleted when its campaign was generated again (nobody had reviewed or edited it), kept as the
    campaign and customer it was for, so that a client still holding its id is told which draft replaced it
    (service.drafts.get_draft) rather than only that it does not exist."""

    __tablename__ = "replaced_drafts"

    draft_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ErasedSend(Base):
    """A send erased with its customer (the right to erasure), or deleted as older than `TAILOR_HISTORY_KEEP_DAYS`
    (service.retention): its id, the shop's id of an imported one, its Message-ID and the digest of its address,
    nothing readable of the person, so that an email service's late events for it are skipped as erased rather than
    refused as naming a send that never existed, and its unsubscribe link still reaches whoever has the address: the
    customer of an old send, or the person if the shop lifts their erasure and imports them again
    (service.unsubscribe)."""

    __tablename__ = "erased_sends"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    # The digest of the address it went to (service.erasures.email_digest); none for a send erased before 0026.
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    # An imported send's own id (Send.external_id, an event's `shop_send_id`), kept as the Message-ID is: the shop's
    # reference to its email, nothing of the person. None for Tailor's own sends, and for any erased before 0055.
    shop_send_id: Mapped[str | None] = mapped_column(String(128), index=True)


class EarlierMessageId(Base):
    """The Message-ID of an earlier email of a send. A draft mailed again goes on its one send, written over with the
    later email (a person approved it again after its first was perhaps sent, its answer lost; or a sender stalled
    past its claim's hour handed its email over after another had claimed the draft): the earlier email's Message-ID
    is kept here, with when it went, so that a bounce, complaint or any event naming it still finds the send, and its
    draft and customer (service.events). No foreign key: kept when the send is erased with its customer or deleted as
    old, as ErasedSend keeps the send's id (never given again), so that an event naming it is skipped as erased and
    still stops its address."""

    __tablename__ = "earlier_message_ids"

    message_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    send_id: Mapped[int] = mapped_column(Integer, index=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime)


class ErasedCustomer(Base):
    """A customer erased under the right to erasure, kept as nothing readable of them: SHA-256 digests of their
    customer id and of their address (service.erasures), and when. An import does not bring them back, until the
    shop lifts the erasure for someone who signed up again."""

    __tablename__ = "erased_customers"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True)  # none for a customer without one
    erased_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SettledDateOrder(Base):
    """Whether the numeric dates of one kind of import's date column put the day first, as the first file of that
    kind whose order was known settled it (its own dates, 25/04/2011, or the order the shop gave with it), so that a
    later file of the same kind whose dates are all ambiguous (03/04/2011) is read so rather than refused
    (service.importing.date_orders). The shop can list and forget it."""

    __tablename__ = "settled_date_orders"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # customers, products, orders or sends
    column_name: Mapped[str] = mapped_column(String(64), primary_key=True)  # the date column: timestamp, sent_at
    day_first: Mapped[bool] = mapped_column(Boolean)
    import_file: Mapped[str] = mapped_column(String(300))  # the file that settled it, as the shop named it
    import_job_id: Mapped[str | None] = mapped_column(String(36))  # the job of an import run as one
    settled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IdempotencyKey(Base):
    """A POST a client sent with an `Idempotency-Key` header (service.idempotency): who sent it (a hash of their API
    key with the header's value), a hash of the request, and once it succeeded its answer, given again to a retry."""

    __tablename__ = "idempotency_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # null while the first request is being answered
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Event(Base):
    """What became of a send (delivered, opened, ...). An event is recorded once: by the email service's own id
    for it when it gave one, else by its send, kind and moment (service.events)."""

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "uq_event_external_id", "send_id", "external_id", unique=True,
            sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(
            "uq_event_moment", "send_id", "kind", "occurred_at", unique=True,
            sqlite_where=text("external_id IS NULL"), postgresql_where=text("external_id IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    value: Mapped[float | None] = mapped_column(Float)
    external_id: Mapped[str | None] = mapped_column(String(EVENT_ID_MAX))  # the email service's id for the event
    # When Tailor recorded it, which for an email service's report may be long after ``occurred_at``: whether an
    # unsubscribe had reached Tailor before a later email went (null for events recorded before 0038).
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    # The product whose link a click followed, of those its email showed (service.events.clicked_products): what the
    # recommender learns as the customer's view of it. Null for any other event, or a link that is no one product's.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))

    send: Mapped[Send] = relationship(back_populates="events")
    product: Mapped[Product | None] = relationship()

    @property
    def product_sku(self) -> str | None:
        return self.product.sku if self.product is not None else None


class Assignment(Base):
    """A customer's arm in a campaign's experiment: a variant label, or ``holdout`` (sent nothing)."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id", name="uq_assignment_campaign_customer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id", ondelete="SET NULL"))
    arm: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReviewSession(Base):
    """A login to the review page: its cookie holds a random token, kept here only as a hash, so that the browser
    never holds the API key, signing out ends the session for good and a session ends by itself."""

    __tablename__ = "review_sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_review_sessions_token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE", name="fk_review_sessions_api_key")
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # A form carried through the login into this session, or refused for coming from a page shown to another
    # reviewer, kept for the page that offers it again (service.review.resend), and until when: here, any server of
    # the shop that answers that page finds it.
    kept_form: Mapped[str | None] = mapped_column(Text)
    kept_form_until: Mapped[datetime | None] = mapped_column(DateTime)
    api_key: Mapped[ApiKey] = relationship()


class AudienceSnapshot(Base):
    """Segment sizes and KPIs as one audience refresh computed them (GET /segments serves the latest): reading
    every order per request took 38 s at 300k customers. Figures of the segments alone, no customer's own; an
    erasure deletes those that counted the erased customer's orders (service.segments.forget_in_snapshots)."""

    __tablename__ = "audience_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    segments: Mapped[list[Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def fraction_done(done: int, total: int) -> float:
    """A job's progress from 0 to 1."""
    return round(done / total, 4) if total else 0.0


def job_progress(done: int, total: int, fraction: float | None) -> float:
    """A job's progress from 0 to 1: the fraction it reported (Job.progress_fraction), else done of total."""
    return round(fraction, 4) if fraction is not None else fraction_done(done, total)


# A job's life: queued, running, then succeeded or failed; cancelled from queued, or through cancelling (asked
# while running, until its next progress report stops it).
UNFINISHED_JOB = ("queued", "running", "cancelling")


class Job(Base):
    """A long piece of work (training, generation, sending) and how far it has got."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # "host:pid:boot" of the process that runs the job (see service.jobs.recovery).
    worker: Mapped[str | None] = mapped_column(String(255))
    # The campaign a generate or send job works on, so that a request it stands in the way of names it. No foreign
    # key: the job's record outlives a deleted campaign.
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # When the process holding the job last said it lives (service.jobs.heartbeat); null for one of a process that
    # does not beat (before 0037), judged by its worker instead (service.jobs.recovery).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Its announcement the webhook did not take (service.jobs.webhooks), kept for the sweep or the next command:
    # since when (null: none pending), the tries so far, not tried again before when, and the ending it corrects.
    announcement_pending_since: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    announcement_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announcement_next_at: Mapped[datetime | None] = mapped_column(DateTime)
    announcement_corrects: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Its progress from 0 to 1 where its figures cannot say it: a generate job's count drafts, none written while it
    # ranks products (service.pipeline.generate.RANKING_SHARE). Null for every other job (and each before 0054),
    # whose progress is done of total.
    progress_fraction: Mapped[float | None] = mapped_column(Float)

    @property
    def progress(self) -> float:
        if self.status == "succeeded":
            return 1.0
        return job_progress(self.done, self.total, self.progress_fraction)
