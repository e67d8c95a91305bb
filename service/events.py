"""Ingest of delivery and engagement events: an unsubscribe or a spam complaint also unsubscribes the customer and
whoever has the address the email went to, and a (hard) bounce marks that address as one not to mail; either stops
every other customer id with the same address too (service.addresses)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from generation.brands import load_brand
from generation.errors import BrandKitInvalid, UnknownBrand
from generation.links import link_key
from generation.render import linked_url
from service import consent
from service.addresses import hold_household, mark_bounced, stop_shared_addresses
from service.clock import as_utc, utcnow
from service.db.batches import rows_where_in
from service.db.link_keys import link_key_digest
from service.db.models import Brand, Campaign, Customer, Draft, EarlierMessageId, ErasedSend, Event, Product, Send
from service.erasures import address_digest, customers_with_addresses
from service.errors import InvalidInput, Problem
from service.forecasts import mark_stale_for_customers
from service.schemas import EventIn
from service.signed_links import TrackingLinks

# How far an event's time may lie before its send or after now: the email service's clock is not ours.
CLOCK_SKEW = timedelta(minutes=10)


ERASED = (
    "its send was erased with its customer (the right to erasure), or as older than TAILOR_HISTORY_KEEP_DAYS: "
    "nothing is kept of it to record it on"
)
# An unsubscribe, complaint or bounce of an erased send still stops the mail to its address, which another customer
# id may have (a household's, the person imported again after the shop lifted the erasure, or, for a send deleted as
# old, its own customer).
ERASED_STOPPED = f"{ERASED}; the customers who have its address were stopped"


class Refusal(NamedTuple):
    """Why the event at ``index`` of a batch cannot be recorded, and the ``field`` of it that says so ("" for the
    event as a whole)."""

    index: int
    field: str
    message: str

    @property
    def path(self) -> str:
        """The field by its path in the request: `events[3].send_id`."""
        return f"events[{self.index}]" + (f".{self.field}" if self.field else "")


class _Checked(NamedTuple):
    """A batch's events checked against the sends they name (``_check``)."""

    refusals: list[Refusal]
    resolved: list[tuple[Send, EventIn, datetime]]  # the events to record, on their send, at their moment in UTC
    skipped: list[dict[str, Any]]  # the events of erased sends
    stopping_erased: list[tuple[int, EventIn]]  # (index in skipped, event) of erased sends' stops
    erased_ids: dict[int | str, str | None]
    erased_messages: dict[str, str | None]


def ingest_events(session: Session, events: list[EventIn], through: str = "event") -> dict[str, Any]:
    """Record events; the whole batch is rejected (nothing written) if any event names a send that never existed,
    or a time before its email was sent or still to come (a moment with a zone is converted to UTC; one without is
    UTC). An event of a send erased with its customer is skipped, and listed in ``skipped`` with its index and why:
    refusing the batch for it lost the batch's other events, and the email service sent it again for ever. An
    unsubscribe or complaint joins its customers' consent history as having come ``through`` an email service's
    "event", or an unsubscribe "link" (service.unsubscribe)."""
    checked = _check(session, list(enumerate(events)))
    if checked.refusals:
        raise InvalidInput(
            "events", [Problem(None, refusal.path, refusal.message, "field") for refusal in checked.refusals]
        )
    resolved, skipped, stopping_erased = checked.resolved, checked.skipped, checked.stopping_erased
    erased_ids, erased_messages = checked.erased_ids, checked.erased_messages
    recorded = duplicates = 0
    products = clicked_products(session, [(send, event.url) for send, event, _ in resolved if event.url is not None])
    stopped: set[int] = set()  # customers who may not be mailed any more
    bounced: set[str] = set()  # the addresses (their keys) hard bounces came back from, marked all at once below
    if stopping_erased:
        stopped |= _stop_erased_addresses(session, [event for _, event in stopping_erased], erased_ids, erased_messages)
        for position, _ in stopping_erased:
            skipped[position]["reason"] = ERASED_STOPPED
    recorded_keys = _recorded_keys(session, {send.id for send, _, _ in resolved})
    for send, event, occurred_at in resolved:
        if _key(send.id, event, occurred_at) in recorded_keys:
            duplicates += 1
            continue
        recorded_keys |= _keys(send.id, event.event_id, event.kind, occurred_at)
        fields = {"kind": event.kind, "occurred_at": occurred_at, "value": event.value, "external_id": event.event_id}
        product_id = products.get((send.id, event.url)) if event.url is not None else None
        session.add(Event(send_id=send.id, product_id=product_id, **fields))
        if event.kind in ("unsubscribe", "complaint"):  # a spam complaint is the strongest unsubscribe
            own, *others = stopped_by_unsubscribe(session, send)
            hold_household(session, [customer.id for customer in (own, *others)])  # its own customer's id may be later
            consent.unsubscribe(own, f"{event.kind} {through}", occurred_at, send.id)
            # The send is its own customer's: another id at the address is told only that the address asked.
            consent.unsubscribe_all(session, [customer.id for customer in others], consent.ADDRESS, occurred_at)
            stopped.update(customer.id for customer in (own, *others))
        elif event.kind == "bounce":  # a hard bounce: the address it went to does not take mail
            bounced.add(sent_address_key(send))
        recorded += 1
    stopped |= mark_bounced(session, bounced)
    if stopped:  # their unsent drafts are no longer part of any campaign's mailing
        stopped |= stop_shared_addresses(session, stopped)
        mark_stale_for_customers(session, stopped, unsent_only=True)
    session.flush()
    counts: dict[str, Any] = {"recorded": recorded, "duplicates": duplicates}
    return counts | {"skipped": skipped} if skipped else counts


STOPPING = ("unsubscribe", "complaint", "bounce")


def event_refusals(session: Session, events: list[tuple[int, EventIn]]) -> list[Refusal]:
    """Why those of these events (each with its index in its batch) that cannot be recorded cannot be, reading
    only: the checks ``ingest_events`` makes of the sends they name, for the events of a batch that the API's
    reading of it let through beside others it refused, so that one answer names every problem of the batch."""
    return _check(session, events).refusals


def _check(session: Session, events: list[tuple[int, EventIn]]) -> _Checked:
    """The events (each with its index in its batch) checked against the sends they name, reading only: the
    refusals (a send that never existed, an event naming two, an impossible time), the events to record and those
    of erased sends, to skip."""
    references = [e.send_reference for _, e in events]
    by_id = {reference[1] for reference in references if reference and isinstance(reference[1], int)}
    by_shop_id = {reference[1] for reference in references if reference and isinstance(reference[1], str)}
    by_message = {_bare(e.message_id) for _, e in events if e.message_id is not None}
    sends: dict[int | str, Send] = (
        {s.id: s for s in session.scalars(select(Send).where(Send.id.in_(by_id)))} if by_id else {}
    )
    if by_shop_id:
        sends |= {s.external_id: s for s in session.scalars(select(Send).where(Send.external_id.in_(by_shop_id)))}
    found = session.scalars(select(Send).where(Send.message_id.in_(_spellings(by_message)))) if by_message else []
    messages = {_bare(s.message_id): s for s in found}
    messages |= _by_earlier_message(session, by_message - messages.keys())
    first_sent = _first_sent(session, {send.id for send in (*sends.values(), *messages.values())})
    erased_ids, erased_messages = _erased(
        session, by_id - sends.keys(), by_shop_id - sends.keys(), by_message - messages.keys()
    )
    refusals: list[Refusal] = []
    resolved: list[tuple[Send, EventIn, datetime]] = []
    skipped: list[dict[str, Any]] = []
    stopping_erased: list[tuple[int, EventIn]] = []
    for (index, event), reference in zip(events, references, strict=True):
        if clash := _two_sends(event):
            refusals += [Refusal(index, name, clash) for name in ("send_id", "shop_send_id")]
            continue
        send = sends.get(reference[1]) if reference else messages.get(_bare(event.message_id or ""))
        if send is None:
            if _names_erased(event, erased_ids, erased_messages):
                named = _named_as(event)
                skipped.append({"index": index, **named, "reason": ERASED})
                if event.kind in STOPPING:
                    stopping_erased.append((len(skipped) - 1, event))
                continue
            which = f"{reference[0]} {reference[1]!r}" if reference else f"message_id {event.message_id!r}"
            named_none = reference is None and event.message_id is None
            reason = "needs send_id, shop_send_id or message_id" if named_none else f"unknown {which}"
            refusals.append(Refusal(index, "" if named_none else which.split()[0], reason))
            continue
        if (
            reference
            and event.message_id is not None
            and (clash := _other_send(send, reference[0], event.message_id, messages))
        ):
            refusals.append(Refusal(index, "message_id", clash))
            continue
        # An event without a time happened now, which is never refused: an unsubscribe must always be taken.
        if event.occurred_at is None:
            resolved.append((send, event, utcnow()))
        elif problem := _impossible_time(event.occurred_at, first_sent.get(send.id, send.sent_at)):
            refusals.append(Refusal(index, "occurred_at", problem))
        else:
            resolved.append((send, event, as_utc(event.occurred_at)))
    return _Checked(refusals, resolved, skipped, stopping_erased, erased_ids, erased_messages)


def clicked_products(session: Session, clicks: list[tuple[Send, str]]) -> dict[tuple[int, str], int]:
    """The product (its row id) each click's address is the link of, by (send id, address): of the products its
    email showed, each as the email linked it (one without a web address of its own to the brand's shop), where
    Tailor made the email and still has its draft, else (imported history) of the catalog. Addresses are compared as
    ``generation.links.link_key`` writes them, so that an email service's spelling of a link (its campaign
    parameters appended, `&amp;`, another order...) is the link's. A link that is several products' (a shop's home
    page, where products have no page of their own) is none's, unless one of them has it spelt as the click does."""
    draft_ids = {send.draft_id for send, _ in clicks if send.draft_id is not None}
    shown: dict[int, dict[str, list[Linked]]] = {}  # per draft, the products its email showed by their links' keys
    if draft_ids:
        rows = session.execute(
            select(Draft.id, Draft.recommendations, Brand.slug)
            .join(Campaign, Campaign.id == Draft.campaign_id)
            .join(Brand, Brand.id == Campaign.brand_id)
            .where(Draft.id.in_(draft_ids))
        ).all()
        shops = {slug: _shop_url(slug) for slug in {slug for _, _, slug in rows}}
        for draft_id, recommendations, slug in rows:
            shown[draft_id] = {}
            for pick in recommendations or []:
                link = linked_url(str(pick.get("url") or ""), shops[slug])
                shown[draft_id].setdefault(link_key(link), []).append(Linked(str(pick.get("product_id")), link))
    skus: dict[tuple[int, str], str] = {}
    in_catalog: dict[tuple[int, str], tuple[str, str]] = {}  # click -> the address it followed, and its link key
    followed = _followed_addresses(clicks)
    for send, url in clicks:
        address = followed.get((send.id, url), url)
        if not (key := link_key(address)):
            continue
        if send.draft_id in shown:
            if (sku := _the_one(shown[send.draft_id].get(key, []), address)) is not None:
                skus[(send.id, url)] = sku
        else:
            in_catalog[(send.id, url)] = (address, key)
    found: dict[tuple[int, str], int] = {}
    if skus:
        ids = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(set(skus.values())))).all())
        found = {click: ids[sku] for click, sku in skus.items() if sku in ids}
    if in_catalog:
        by_key = _catalog_links(session, {address for address, _ in in_catalog.values()})
        for click, (address, key) in in_catalog.items():
            if (product_id := _the_one(by_key.get(key, []), address)) is not None:
                found[click] = product_id
    return found


def _followed_addresses(clicks: list[tuple[Send, str]]) -> dict[tuple[int, str], str]:
    """Of the clicks reported on one of Tailor's own click links of their send (an email service that relays Tailor's
    tracked mail and tracks its clicks too reports the link it rewrote), the address each followed, by (send id,
    reported address)."""
    tailor_s = [(send.id, url) for send, url in clicks if "/track/click/" in url]
    if not tailor_s:
        return {}
    links = TrackingLinks.configured()
    followed = {click: links.followed(click[1]) for click in tailor_s}
    return {click: link[1] for click, link in followed.items() if link is not None and link[0] == click[0]}


class Linked(NamedTuple):
    """A product (its SKU, or its row id in the catalog) and its address as the email linked it."""

    product: str | int
    url: str


def _the_one(linked: list[Linked], url: str) -> str | int | None:
    """The product of ``linked`` (those whose link has the key of ``url``) the click on ``url`` was on: the only one,
    else the only one whose link is spelt as ``url`` is (two spellings of one page in a catalog); None for none."""
    products = {one.product for one in linked}
    if len(products) > 1:
        products = {one.product for one in linked if one.url.strip() == url.strip()}
    return next(iter(products)) if len(products) == 1 else None


def _catalog_links(session: Session, addresses: set[str]) -> dict[str, list[Linked]]:
    """The catalog's products (row ids) whose address may be one of ``addresses``, by their address's link key:
    found by index through the digests of their index keys stored with each product (service.db.link_keys), which
    the link key tells apart further (`%3B` from `;`)."""
    digests = {digest for address in addresses if (digest := link_key_digest(address))}
    by_key: dict[str, list[Linked]] = {}
    columns = (Product.id, Product.url)
    for product_id, url in rows_where_in(session, columns, Product.link_key_digest, digests):
        by_key.setdefault(link_key(url), []).append(Linked(product_id, url))
    return by_key


def _shop_url(slug: str) -> str:
    """The brand's shop, which its emails link a product without a web address of its own to; "" when its kit is
    gone or broken since (those links are then no product's: a click's address is never empty)."""
    try:
        return load_brand(slug).shop_url or ""
    except (UnknownBrand, BrandKitInvalid):
        return ""


def _two_sends(event: EventIn) -> str | None:
    """Why an event naming its send by ``send_id`` and by ``shop_send_id`` cannot be recorded: they differ (Tailor's
    id and the shop's, or two of the shop's), and which send it meant, nobody can tell; None when it gives one, or
    the shop's id by both names alike (``send_id``'s old use beside the new name)."""
    if event.send_id is None or event.shop_send_id is None or event.send_id == event.shop_send_id:
        return None
    meaning = "Tailor's id of a send" if isinstance(event.send_id, int) else "the old name of shop_send_id"
    return f"send_id, {meaning}, is {event.send_id!r} and shop_send_id is {event.shop_send_id!r}: name one send"


def _other_send(send: Send, named_by: str, message_id: str, messages: dict[str, Send]) -> str | None:
    """Why an event naming ``send`` by its id (the field ``named_by``) and also a ``message_id`` cannot be recorded:
    the Message-ID is another send's, or the send's own is another; None when they agree (or the send, imported, has
    none and the Message-ID names no other). The event was recorded on the id's send, the Message-ID unread."""
    named = messages.get(_bare(message_id))
    if named is not None and named.id != send.id:
        return f"is the Message-ID of send {named.id}, not of {named_by}'s send {send.id}: name one send"
    if named is None and send.message_id is not None:
        return f"is not the Message-ID of {named_by}'s send {send.id} ({send.message_id}): name one send"
    return None


def _stop_erased_addresses(
    session: Session,
    events: list[EventIn],
    erased_ids: dict[int | str, str | None],
    erased_messages: dict[str, str | None],
) -> set[int]:
    """Stop the mail to the addresses of erased sends that ``events`` (unsubscribes, complaints, bounces) name
    (``_erased``'s digests): unsubscribe, or mark bounced, the customers who have them; their row ids."""
    kinds: dict[str, set[str]] = {}
    for event in events:
        reference = event.send_reference
        digest = erased_ids.get(reference[1]) if reference else erased_messages.get(_bare(event.message_id or ""))
        if digest:  # none for a send erased before its address's digest was kept (0026)
            kinds.setdefault(digest, set()).add(event.kind)
    stopped, unsubscribing, bounced = set(), [], set()
    for customer in customers_with_addresses(session, set(kinds)):
        wanted = kinds[address_digest(customer.email)]
        if wanted & {"unsubscribe", "complaint"}:
            unsubscribing.append(customer.id)
        if "bounce" in wanted:
            bounced.add(customer.email_key)
        stopped.add(customer.id)
    consent.unsubscribe_all(session, unsubscribing, consent.ADDRESS)
    mark_bounced(session, bounced)
    return stopped


def _bare(message_id: str) -> str:
    """A Message-ID without its angle brackets: email services report it with them (as sent) or without."""
    return message_id.strip().removeprefix("<").removesuffix(">").strip()


def _spellings(message_ids: set[str]) -> set[str]:
    """Bare Message-IDs as they may be stored: bare, or in angle brackets as sent."""
    return message_ids | {f"<{message_id}>" for message_id in message_ids}


def _by_earlier_message(session: Session, message_ids: set[str]) -> dict[str, Send]:
    """The sends of which these bare Message-IDs are an earlier email's (a draft mailed again: EarlierMessageId), by
    bare Message-ID."""
    if not message_ids:
        return {}
    earlier = (
        select(EarlierMessageId.message_id, Send)
        .join(Send, Send.id == EarlierMessageId.send_id)
        .where(EarlierMessageId.message_id.in_(_spellings(message_ids)))
    )
    return {_bare(message_id): send for message_id, send in session.execute(earlier)}


def _first_sent(session: Session, send_ids: set[int]) -> dict[int, datetime]:
    """When the first email of each of these sends went, for those mailed more than once (EarlierMessageId): an
    event of the first may come before the later one was sent."""
    first: dict[int, datetime] = {}
    columns = (EarlierMessageId.send_id, EarlierMessageId.sent_at)
    for send_id, sent_at in rows_where_in(session, columns, EarlierMessageId.send_id, sorted(send_ids)):
        first[send_id] = min(sent_at, first.get(send_id, sent_at))
    return first


def _erased(
    session: Session, send_ids: set[int], shop_send_ids: set[str], message_ids: set[str]
) -> tuple[dict[int | str, str | None], dict[str, str | None]]:
    """Of the sends named by Tailor's id, by the shop's (an imported send) or by bare Message-ID (its latest
    email's, or an earlier one's) and not found, those erased with their customer or as old, each with the digest of
    the address it went to (None for one erased before the digest was kept, migration 0026): by either id, and by
    Message-ID. A shop's id is known only of the sends erased since migration 0055."""
    by_id: dict[int | str, str | None] = {}
    if send_ids:
        tailor_ids = select(ErasedSend.id, ErasedSend.email_digest).where(ErasedSend.id.in_(send_ids))
        by_id |= dict(session.execute(tailor_ids).all())
    if shop_send_ids:
        shop_ids = select(ErasedSend.shop_send_id, ErasedSend.email_digest)
        by_id |= dict(session.execute(shop_ids.where(ErasedSend.shop_send_id.in_(shop_send_ids))).all())
    by_message: dict[str, str | None] = {}
    if spelt := _spellings(message_ids):
        found = select(ErasedSend.message_id, ErasedSend.email_digest).where(ErasedSend.message_id.in_(spelt))
        earlier = (
            select(EarlierMessageId.message_id, ErasedSend.email_digest)
            .join(ErasedSend, ErasedSend.id == EarlierMessageId.send_id)
            .where(EarlierMessageId.message_id.in_(spelt))
        )
        by_message = {_bare(message_id): digest for message_id, digest in session.execute(found.union_all(earlier))}
    return by_id, by_message


def _named_as(event: EventIn) -> dict[str, int | str]:
    """How a skipped event named its send: by Tailor's id (``send_id``), the shop's (``shop_send_id``, whichever of
    its two names it came by) or its Message-ID."""
    if (reference := event.send_reference) is None:
        return {"message_id": event.message_id or ""}
    return {"send_id" if isinstance(reference[1], int) else "shop_send_id": reference[1]}


def _names_erased(event: EventIn, erased_ids: Collection[int | str], erased_messages: Collection[str]) -> bool:
    """Whether the event names its send (by an id, Tailor's or the shop's, else by Message-ID) as one of the erased
    ones (of which only those ids, the Message-ID and a digest of the address are kept)."""
    if (reference := event.send_reference) is not None:
        return reference[1] in erased_ids
    return event.message_id is not None and _bare(event.message_id) in erased_messages


def _recorded_keys(session: Session, send_ids: Collection[int]) -> set[tuple]:
    """The keys (``_keys``) of the events recorded on these sends, read at once: looked up one event at a time, the
    session's changes flushed before each look-up, 10,000 bounce events posted at once took 26 s on SQLite with their
    customers' marking (3 s now, evals.scale.bounces)."""
    columns = (Event.send_id, Event.external_id, Event.kind, Event.occurred_at)
    recorded: set[tuple] = set()
    for send_id, external_id, kind, occurred_at in rows_where_in(session, columns, Event.send_id, sorted(send_ids)):
        recorded |= _keys(send_id, external_id, kind, occurred_at)
    return recorded


def _keys(send_id: int, external_id: str | None, kind: str, occurred_at: datetime) -> set[tuple]:
    """The keys an event recorded on a send is found by (``_key``): its `event_id`, when it has one, and its kind
    and moment."""
    by_moment = ("moment", send_id, kind, occurred_at)
    return {by_moment} if external_id is None else {by_moment, ("event_id", send_id, external_id)}


def _key(send_id: int, event: EventIn, occurred_at: datetime) -> tuple:
    """The key of the event as already recorded, if it was: by the email service's `event_id` when it gives one (two
    purchases in the same second are two events, a retry of either is one), else by its send, kind and moment."""
    if event.event_id is not None:
        return ("event_id", send_id, event.event_id)
    return ("moment", send_id, event.kind, occurred_at)


def _impossible_time(moment: datetime, sent_at: datetime) -> str | None:
    """Why an event cannot have happened at ``moment``: before its send's (first) email was sent at ``sent_at``, or
    still to come."""
    try:
        occurred_at = as_utc(moment)
    except OverflowError:  # its zone takes it past the calendar's edge in UTC: that edge will do
        occurred_at = datetime.min if moment.year == 1 else datetime.max
    if occurred_at < sent_at - CLOCK_SKEW:
        return f"{occurred_at:%Y-%m-%d %H:%M} UTC is before the email was sent ({sent_at:%Y-%m-%d %H:%M} UTC)"
    if occurred_at > utcnow() + CLOCK_SKEW:
        return f"{occurred_at:%Y-%m-%d %H:%M} UTC has not come yet"
    return None


def stopped_by_unsubscribe(session: Session, send: Send) -> list[Customer]:
    """The customers an unsubscribe (or a spam complaint) of ``send`` stops: its own customer, wherever they are now,
    and whoever has the address it went to (``holding_sent_address``): it is the address that asked to stop, and a
    household member still at an address its customer has left was mailed on there."""
    return [send.customer, *(c for c in holding_sent_address(session, send) if c.id != send.customer_id)]


def holding_sent_address(session: Session, send: Send) -> list[Customer]:
    """The customers whose address now is the one ``send`` went to (and bounced from, or asked to stop from),
    compared as addresses are (case, spaces): its own customer while they still have it, and any other id that has
    it (a household member, the same person under another id), also when its customer has moved to another address
    since. Imported history does not say where it went: its customer's address now stands in for it."""
    if not (key := sent_address_key(send)):
        return []
    return list(session.scalars(select(Customer).where(Customer.email_key == key)))


def sent_address_key(send: Send) -> str:
    """The address ``send`` went to, as addresses are compared (``address_key``): for imported history, which does
    not say where it went, its customer's address now; "" for none."""
    return (send.to_email_key if send.to_email is not None else send.customer.email_key) or ""
