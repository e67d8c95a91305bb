"""Unsubscribe links in the email Tailor sends itself. Each send's link carries the send's id signed with an
HMAC, so it cannot be guessed for another customer; following it records an ``unsubscribe`` event on that send,
as POST /events does, which unsubscribes the customer. The page speaks the language the email was written in;
for a link that names no stored send (cut short, or of an erased customer), the browser's (Accept-Language).

An unsubscribe the database cannot take now (busy past its timeout: SQLite's one writer held by a customers import)
is kept on disk (service.unsubscribe_spool) and the page says so, as the truth is: the unsubscribe is recorded and
takes effect before any further email is sent. service.kept_unsubscribes writes it as soon as the database takes it,
at the moment of the click, and every send applies what is kept before its look at whether a customer may be mailed.
A browser does not post the page again, and the law wants the unsubscribe honoured."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from generation.locales import language_of
from generation.schemas import LOCALES
from generation.templates import render_string, strings
from service import consent, unsubscribe_spool
from service.addresses import stop_shared_addresses
from service.clock import utcnow
from service.db.models import Brand, Campaign, Customer, ErasedSend, Send
from service.db.session import busy_wait_at_most
from service.erasures import customers_with_addresses
from service.errors import InvalidInput, NotFound, is_database_busy
from service.events import ingest_events, stopped_by_unsubscribe
from service.schemas import EventIn
from service.signed_links import UnsubscribeLinks

# How long the button's POST waits for another's write lock before it keeps the unsubscribe on disk instead: a
# short write (an approval) is waited for; a customers import's, which may hold it for many seconds, is not.
KEEP_AFTER_MS = 1_000


@dataclass(frozen=True)
class Subscription:
    """What the unsubscribe page tells the recipient."""

    email: str
    brand: str  # the brand whose email carried the link; "" for an imported send
    unsubscribed: bool
    locale: str = "en"  # the language of the email the link came in, which the page speaks
    kept_for_later: bool = False  # the database was busy: kept on disk, written within seconds; the page says so

    def words(self) -> dict[str, str]:
        """The page's wording in its language (prompts/email/strings.yaml), with the address and brand filled in."""
        wording = strings(self.locale)["unsubscribe"]
        brand = self.brand or wording["us"]
        return {key: render_string(text, email=self.email, brand=brand) for key, text in wording.items()}


def subscription(session: Session, token: str) -> Subscription:
    """The recipient behind an unsubscribe link, and whether they are unsubscribed already (also by an unsubscribe of
    this link kept while the database was busy, not written yet: the page does not ask again)."""
    send_id = UnsubscribeLinks.configured().send_id(token)
    page = _page_of(session, target_of(session, send_id))
    if not page.unsubscribed and any(one.send_id == send_id for one in unsubscribe_spool.kept()):
        return replace(page, unsubscribed=True, kept_for_later=True)
    return page


def unsubscribe(session: Session, token: str) -> Subscription:
    """Unsubscribe the recipient behind the link by recording an ``unsubscribe`` event on its send (once: a
    second visit records nothing); for a link of an erased send whose address a customer has again (the shop
    lifted the erasure), by unsubscribing the customers with that address. A database too busy to take it (another
    write holding SQLite's lock past ``KEEP_AFTER_MS``, nothing written) has it kept on disk (``kept_for_later``),
    to be written at this moment; one of this link kept already is the moment, and is not kept again."""
    send_id = UnsubscribeLinks.configured().send_id(token)
    target = target_of(session, send_id)
    # A click again while the first is kept (the page posted again, a mail client's one-click retried) is that
    # unsubscribe: written at the first click's moment, and not kept a second time.
    kept_at = next((one.clicked_at for one in unsubscribe_spool.kept() if one.send_id == send_id), None)
    clicked_at = kept_at or utcnow()
    try:
        with busy_wait_at_most(session, KEEP_AFTER_MS):
            stop(session, target, clicked_at)
            session.flush()
    except OperationalError as error:
        if not is_database_busy(error):
            raise
        session.rollback()
        if kept_at is None:
            unsubscribe_spool.keep(send_id, clicked_at)
        return replace(_page_of(session, target_of(session, send_id)), unsubscribed=True, kept_for_later=True)
    return _page_of(session, target)


def answer_probe(session: Session, token: str) -> str | None:
    """This Tailor's answer to a sender's probe of where its unsubscribe links lead (``UnsubscribeLinks.probe_url``):
    what only a Tailor with the sender's signing key and database gives; None when the campaign it names is not in
    this database. LinkNotFound for a probe not signed with this Tailor's key, as for a link it did not make. Reads
    one row and unsubscribes nobody."""
    links = UnsubscribeLinks.configured()
    probed = links.probed(token)
    if probed is None:
        raise LinkNotFound("not_valid")
    campaign_id, nonce = probed
    created_at = session.scalar(select(Campaign.created_at).where(Campaign.id == campaign_id))
    return None if created_at is None else links.probe_answer(campaign_id, nonce, created_at)


def stop(session: Session, target: Send | list[Customer], clicked_at: datetime | None) -> None:
    """Unsubscribe whom a link's ``target`` (``target_of``) stops, as of ``clicked_at`` (None: now): nothing when they
    all are already (a second visit, an unsubscribe kept while the database was busy and written twice). A kept
    click's moment that the clock, set back since, puts still to come is refused by the events' check: the
    unsubscribe still holds, as of now (the writer of kept ones and a click again while one is kept alike)."""
    if not isinstance(target, Send):
        # the link was another's: the erased customer's (consent.effective takes a moment after now for now)
        consent.unsubscribe_all(session, [customer.id for customer in target], consent.ADDRESS, clicked_at)
        stop_shared_addresses(session, [customer.id for customer in target])
    elif not all(customer.unsubscribed for customer in stopped_by_unsubscribe(session, target)):
        event = EventIn(send_id=target.id, kind="unsubscribe", occurred_at=clicked_at)
        try:
            ingest_events(session, [event], through="link")
        except InvalidInput:  # refused whole, nothing written
            ingest_events(session, [event.model_copy(update={"occurred_at": None})], through="link")


def _page_of(session: Session, target: Send | list[Customer]) -> Subscription:
    return _subscription(session, target) if isinstance(target, Send) else _returned(target)


class LinkNotFound(NotFound):
    """A link that names no stored send; ``reason`` is its message's key in the page's wording (strings.yaml):
    ``erased`` for an erased customer's send, ``not_valid`` for any other."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(strings("en")["unsubscribe"][reason])

    def message(self, locale: str) -> str:
        return strings(locale)["unsubscribe"][self.reason]


def target_of(session: Session, send_id: int | None) -> Send | list[Customer]:
    """The send a link names (``send_id``, None for a link whose signature fails); for an erased customer's send,
    the customers who have its address: another customer id of the same address, kept by the erasure (a household's
    other id), or one the shop imported again after lifting the erasure for someone who signed up again.
    LinkNotFound when nobody has it: the shop keeps nothing of the address, and does not mail it."""
    send = session.get(Send, send_id) if send_id is not None else None
    if send is not None:
        return send
    erased = session.get(ErasedSend, send_id) if send_id is not None else None
    if erased is None:
        raise LinkNotFound("not_valid")
    returned = customers_with_addresses(session, {erased.email_digest}) if erased.email_digest else []
    if not returned:
        raise LinkNotFound("erased")
    return returned


def _returned(customers: list[Customer]) -> Subscription:
    """The unsubscribe page for the customers an erased send's address belongs to again: the brand of the send is
    gone with it, and the page speaks their language."""
    first = customers[0]
    return Subscription(
        email=first.email, brand="", unsubscribed=all(c.unsubscribed for c in customers),
        locale=_page_locale(first.locale),
    )  # fmt: skip


def browser_locale(accept_language: str | None) -> str:
    """The first language of a browser's Accept-Language header (``de-CH, de;q=0.9, en;q=0.8``), by its weights,
    that the page speaks; English when none is. An entry whose weight is not a number from 0 to 1 is passed over."""
    ranked = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, *parameters = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                quality = _weight(value.strip())
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if (code := language_of(tag)) in LOCALES:
            return code
    return "en"


def _weight(value: str) -> float:
    """An Accept-Language weight (``0.8``), or 0 for one that is not a number from 0 to 1."""
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0


def _subscription(session: Session, send: Send) -> Subscription:
    """The page of a send's link. An unsubscribe stops the shop's marketing email of every brand, so the page names
    them all, the email's own first (it said "from Hearth & Leaf", and Maison Atelier's email stopped too)."""
    campaign = session.get(Campaign, send.campaign_id) if send.campaign_id is not None else None
    own = campaign.brand.name if campaign is not None else ""
    others = session.scalars(select(Brand.name).where(Brand.name != own).order_by(Brand.name)).all() if own else []
    brand = ", ".join([own, *others]) if own else ""
    locale = _page_locale(send.locale)
    email = send.to_email or send.customer.email  # where the link came: not an address the customer has since
    unsubscribed = all(customer.unsubscribed for customer in stopped_by_unsubscribe(session, send))
    return Subscription(email=email, brand=brand, unsubscribed=unsubscribed, locale=locale)


def _page_locale(locale: str | None) -> str:
    """The language the page speaks for an email or customer in ``locale``: it, its language, else English."""
    return next((code for code in (locale, language_of(locale or "")) if code in LOCALES), "en")
