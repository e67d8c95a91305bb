"""One email address held by several customer ids (a household, a duplicate account). The address is what asked
to stop or bounced, so an unsubscribe or a bounce under one id holds for every id with that address, compared
case-insensitively; a campaign mails an address once (service.pipeline.sending)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from service import consent
from service.db.batches import batches
from service.db.models import Customer
from service.wording import counted, first_named

SHOWN_ADDRESSES = 5  # shared addresses a warning names; it counts them all
# One address: no spaces, and none of the characters that separate or quote addresses in a header (a comma made
# "postmaster,root,x@evil.test" three recipients); letters of any script are allowed, as international addresses.
EMAIL_PATTERN = re.compile(r"^[^@\s,;:<>()\[\]\"\\]+@[^@\s,;:<>()\[\]\"\\]+\.[^@\s,;:<>()\[\]\"\\]+$")


def address_key(email: str) -> str:
    """An address as addresses are compared: ``Shared@Example.com`` and `` shared@example.com`` are one, and so are
    an address composed (NFC, as the import keeps text) and the same address decomposed."""
    return unicodedata.normalize("NFC", email).strip().lower()


def is_email_address(email: str) -> bool:
    """Whether ``email`` (as typed: spaces around it and case do not matter) is one address, as imports take it."""
    return bool(EMAIL_PATTERN.match(address_key(email)))


def hold_household(session: Session, customer_ids: Collection[int]) -> None:
    """On PostgreSQL, lock these customers' rows (an address's ids) until the transaction ends, in the order of their
    ids, before any of them is written: every writer of a household does so (a sender, service.pipeline.contact_policy;
    an unsubscribe event, service.events), for one locking them in another order waited for a row another held while
    that one waited for its, a deadlock that failed one. Nothing on SQLite, whose one write lock is the database's."""
    if session.get_bind().dialect.name == "sqlite":
        return
    for batch in batches(sorted(set(customer_ids))):
        session.execute(select(Customer.id).where(Customer.id.in_(batch)).order_by(Customer.id).with_for_update())


def stop_shared_addresses(session: Session, stopped: Collection[int] | None = None) -> set[int]:
    """Unsubscribe every customer whose address an unsubscribed customer has, and mark bounced every customer's
    address that bounced under another id; the row ids of the customers this stopped. Called wherever a customer
    unsubscribes or an address bounces (``stopped``: the row ids of the customers who just did, whose addresses'
    other customers the index on ``email_key`` finds at once), and after a customers import (None: every address
    is checked, as a new id may bring a stopped one)."""
    session.flush()
    keys = None
    if stopped is not None:
        keys = {key for batch in batches(list(stopped)) for key in
                session.scalars(select(Customer.email_key).where(Customer.id.in_(batch)))} - {""}  # fmt: skip
    if keys is not None and not keys:
        return set()
    other = aliased(Customer)  # the customer whose unsubscribe or bounce holds for the address
    # a semi-join: a join paired each customer with every unsubscribed one at their address, a million rows for a
    # thousand ids at one address (a shop's placeholder address), which took seconds to read before any was stopped
    stopped_keys = select(other.email_key).where(other.unsubscribed, other.email_key != "")
    unsubscribed = select(Customer.id).where(Customer.email_key.in_(stopped_keys), ~Customer.unsubscribed)
    bounced = select(other.bounced_email).where(other.bounced_email.is_not(None)).distinct()
    if keys is not None:
        unsubscribed = unsubscribed.where(Customer.email_key.in_(keys))
        bounced = bounced.where(other.email_key.in_(keys))
    to_unsubscribe = session.scalars(unsubscribed).all()
    bounced_keys = {address_key(email) for email in session.scalars(bounced)}
    consent.unsubscribe_all(session, to_unsubscribe, consent.ADDRESS)
    return {*to_unsubscribe, *mark_bounced(session, bounced_keys)}


def mark_bounced(session: Session, keys: Collection[str]) -> set[int]:
    """Mark as bounced the address of every customer who has one of these addresses (``address_key``s), each in
    their own spelling, which ``email_bounced`` compares; the row ids of those this marked. An UPDATE per ``IN_BATCH``
    customers, in the order of their ids (as other writers lock rows), not one per customer: a bounce at an address
    10,000 ids share took 1.8 s, and 10,000 customers' households left by an import 1.6 s (0.3 s each now). It marks
    only those still at such an address and not marked, and in the spelling the database holds: a customer another
    transaction moved, re-spelt or marked since their row was read is left, or marked, as that one left them."""
    session.flush()
    keys = set(keys) - {""}
    not_marked = or_(Customer.bounced_email.is_(None), Customer.bounced_email != Customer.email)
    holding: dict[int, str] = {}  # row id -> address key, of those not marked yet
    for batch in batches(sorted(keys)):
        holding |= dict(
            session.execute(
                select(Customer.id, Customer.email_key).where(Customer.email_key.in_(batch), not_marked)
            ).all()
        )
    marked = set()
    for batch in batches(sorted(holding)):
        # the key compared as an expression, not through its index: SQLite searched the index for every pair of a
        # key and an id of the two lists, 11 million searches (5 s) for 10,000 ids at 1,112 addresses
        at_those = (Customer.email_key + "").in_(sorted({holding[i] for i in batch}))
        still_there = (Customer.id.in_(batch), at_those, not_marked)
        marked.update(
            session.scalars(
                update(Customer).where(*still_there).values(bounced_email=Customer.email).returning(Customer.id),
                execution_options={"synchronize_session": False},
            )
        )
    for customer_id in holding:  # those the session holds read again when asked, as the UPDATE or another left them
        if (customer := session.identity_map.get(identity_key(Customer, customer_id))) is not None:
            session.expire(customer, ["email", "email_key", "bounced_email", "updated_at"])
    return marked


def shared_addresses(session: Session) -> dict[str, list[str]]:
    """Each address (its key) that more than one customer id has, with those ids in the order they were added."""
    return _sharing(session, Customer.external_id)


def households(session: Session) -> dict[str, list[int]]:
    """Each address (its key) that more than one customer id has, with those customers' row ids."""
    return _sharing(session, Customer.id)


def _sharing(session: Session, column) -> dict:
    shared = (
        select(Customer.email_key).where(Customer.email_key != "")
        .group_by(Customer.email_key).having(func.count() > 1)
    )  # fmt: skip
    rows = session.execute(
        select(Customer.email_key, column)
        .where(Customer.email_key.in_(shared))
        .order_by(Customer.email_key, Customer.id)
    )
    groups: dict = {}
    for email, value in rows:
        groups.setdefault(email, []).append(value)
    return groups


def shared_address_warning(groups: dict[str, list[str]]) -> tuple[str, ...]:
    """What an import says of addresses several customer ids share, naming the first few groups of ids (not the
    address: a job's result, which holds the warning, goes to the webhook, where no erasure reaches it): the shop
    may expect each id to be mailed, or an unsubscribe to cover only the id it came from."""
    if not groups:
        return ()
    named = first_named([" and ".join(ids) for ids in groups.values()], SHOWN_ADDRESSES)
    return (
        f"{counted(len(groups), 'address is', 'addresses are')} held by more than one customer id: {named}. A "
        "campaign mails each address once (the first of its customers in the audience), and an unsubscribe or a "
        "bounce under one id stops the mail to all of them; merge the ids if they are one person.",
    )
