"""The suppression list of erased customers: a customer erased under the right to erasure (DELETE /customers/{id})
is kept as SHA-256 digests of their customer id and of their address, and when, nothing readable of them, so that
importing the shop's files again does not bring them back and mail them. The shop lifts an erasure when the person
signs up again of their own will.

The digests are plain, not keyed: a key lost or changed with the server's home folder would let every erased
customer back unnoticed. Whoever holds the database and guesses an address can tell that it was erased; nobody can
read an address or an id out of it."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from service.addresses import address_key, is_email_address
from service.db.models import Customer, Draft, ErasedCustomer, IdempotencyKey, Job
from service.errors import InvalidInput, NotFound, Problem


def id_digest(external_id: str) -> str:
    """A customer id as an erasure keeps it: compared exactly, as the shop's ids are, in its composed form (NFC),
    as the import keeps ids."""
    return _digest("customer_id", unicodedata.normalize("NFC", external_id).strip())


def email_digest(email: str) -> str:
    """An address as an erasure keeps it, compared as addresses are (``address_key``): ``Ann@Example.com `` is
    ``ann@example.com``."""
    return _digest("email", address_key(email))


def address_digest(email: str | None) -> str | None:
    """``email_digest`` of an address, or None for none (an empty or blank one): what an erasure keeps of it."""
    return email_digest(email) if email and address_key(email) else None


def erased_send_row(send_id: int, shop_send_id: str | None, message_id: str | None, address: str | None) -> dict:
    """What is kept of a send deleted with its customer, or as old (an ``ErasedSend`` row): its ids (Tailor's, and
    the shop's of an imported one), its Message-ID and the digest of the ``address`` it went to, nothing of the
    person; so that the email service's late events of it are skipped and its unsubscribe link still stops the mail
    to that address."""
    return {
        "id": send_id, "shop_send_id": shop_send_id, "message_id": message_id, "email_digest": address_digest(address)
    }  # fmt: skip


def _digest(kind: str, value: str) -> str:
    # The kind in front: an id spelt like an address matches no address.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def keep_erasure(session: Session, customer: Customer) -> None:
    """Add ``customer``, who is being erased, to the suppression list."""
    keep_erased_ids(session, [(customer.external_id, customer.email)])


def keep_erased_ids(session: Session, customers: Iterable[tuple[str, str]]) -> None:
    """Add ``(customer_id, email)`` pairs to the suppression list: a customer being erased, or a new id of an
    erased address (the person signed up again under another id without lifting their erasure)."""
    for external_id, email in customers:
        session.merge(ErasedCustomer(id_digest=id_digest(external_id), email_digest=address_digest(email)))


@dataclass(frozen=True)
class Erasures:
    """The suppression list's digests, read once for an import: one or two per erased customer, few enough to
    hold, so that a file's rows are checked without a query each."""

    ids: frozenset[str]
    addresses: frozenset[str]

    @classmethod
    def read(cls, session: Session) -> Erasures:
        rows = session.execute(select(ErasedCustomer.id_digest, ErasedCustomer.email_digest)).all()
        return cls(frozenset(i for i, _ in rows), frozenset(e for _, e in rows if e is not None))

    def __bool__(self) -> bool:
        return bool(self.ids)

    def holds_id(self, external_id: str) -> bool:
        return id_digest(external_id) in self.ids

    def holds_address(self, email: str) -> bool:
        return bool(self.addresses) and email_digest(email) in self.addresses


ERASED_TEXT = "[erased]"  # what a record says where it named an erased customer


# Where a text names an id or address whole: not as the end or the start of another word, address, number, time or
# path ("xc17", "ann.c17@...", "12:19", "127.0.0.19", "2026/19", "5.1.19", "19.5"); a sentence's full stop may follow.
_NOT_AFTER = r"(?<![\w.@:/-])"
_NOT_BEFORE = r"(?![\w@:/-])(?!\.\w)"


def forget_in_records(session: Session, external_id: str, email: str) -> None:
    """Leave nothing readable of an erased customer in the service's own records: the answers kept for idempotent
    retries that hold them are let go (a retry after the erasure runs again), and the jobs whose result or error
    names their id or address (a send's refused address, an import's warning), and the other customers' drafts
    whose flags name them (a household's draft skipped as their address was mailed), say ``[erased]`` there. A job's
    progress message is left as it is: it says how far the job got ("sent 19"), never whom it was about, and a
    shop's ids are often numbers."""
    named = [text for text in {external_id, email.strip(), address_key(email)} if text]
    # A JSON column holds a text as json.dumps writes it, letters outside ASCII escaped (ольга as \u043e\u043b...):
    # it is looked for so spelt too, the escape taken literally (autoescape), as PostgreSQL's LIKE would not.
    in_json = {spelling for text in named for spelling in (text, json.dumps(text)[1:-1])}
    session.execute(delete(IdempotencyKey).where(or_(*(IdempotencyKey.body.contains(text) for text in named))))
    naming = or_(
        *(Job.error.contains(text) for text in named),
        *(cast(Job.result, Text).contains(text, autoescape=True) for text in in_json),
    )
    pattern = re.compile("|".join(_standing_whole(text) for text in named), re.IGNORECASE)
    for job in session.scalars(select(Job).where(naming)):
        job.error = pattern.sub(ERASED_TEXT, job.error) if job.error else job.error
        job.result = _redacted(job.result, pattern)
    flagged = or_(*(cast(Draft.flag_reasons, Text).contains(text, autoescape=True) for text in in_json))
    for draft in session.scalars(select(Draft).where(flagged)):
        draft.flag_reasons = _redacted(draft.flag_reasons, pattern)


def _standing_whole(text: str) -> str:
    """The pattern of ``text`` where it names the customer whole (``_NOT_AFTER``, ``_NOT_BEFORE``); an id that is a
    number, not where it opens a text with a word after it, which is a count ("2 customers have no locale ...")."""
    whole = rf"{_NOT_AFTER}{re.escape(text)}{_NOT_BEFORE}"
    return rf"(?:(?<=[\s\S])|(?!{re.escape(text)} [^\W\d_])){whole}" if text.isdigit() else whole


def _redacted(value: Any, pattern: re.Pattern) -> Any:
    """``value`` (a job's JSON result) with every text ``pattern`` finds in it said as ``[erased]``."""
    if isinstance(value, str):
        return pattern.sub(ERASED_TEXT, value)
    if isinstance(value, list):
        return [_redacted(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, pattern) for key, item in value.items()}
    return value


def customers_with_addresses(session: Session, digests: set[str]) -> list[Customer]:
    """The customers whose address has one of ``digests`` (of erased sends): every address is read and digested,
    as a digest cannot be looked up, which only the unsubscribes and bounces of erased sends ask for. They are the
    other customer ids an erasure kept at the address (a household's), or people the shop imported again after
    lifting their erasure."""
    if not digests:
        return []
    ids = [
        customer_id
        for batch in session.execute(select(Customer.id, Customer.email)).partitions(10_000)
        for customer_id, email in batch
        if address_digest(email) in digests
    ]
    return list(session.scalars(select(Customer).where(Customer.id.in_(ids)))) if ids else []


def lift_erasures(session: Session, customer_id: str | None, email: str | None) -> int:
    """Lift the erasures of ``customer_id`` and of ``email`` (either may be None), for someone who signed up again
    of their own will: the next import brings them in. The number lifted (an erasure holds an id and an address:
    one matched by either is lifted whole, with the other ids kept for that address); NotFound when none matched,
    so that a mistyped id is not taken for done."""
    matches = []
    if customer_id and customer_id.strip():
        matches.append(ErasedCustomer.id_digest == id_digest(customer_id))
    if email and address_key(email):
        matches.append(ErasedCustomer.email_digest == email_digest(email))
    if not matches:
        problem = Problem(None, "customer_id", "give the customer_id, the email or both", "field")
        raise InvalidInput("erasure lift", [problem], outcome="refused")
    if email and address_key(email) and not is_email_address(email):  # a typo would be told "no erasure" (404)
        problem = Problem(None, "email", "is not an email address", "field")
        raise InvalidInput("erasure lift", [problem], outcome="refused")
    # One person may be held under several ids with one address (service.importing.erased): all are lifted.
    held = session.scalars(select(ErasedCustomer.email_digest).where(or_(*matches)))
    addresses = {digest for digest in held if digest}
    if addresses:
        matches.append(ErasedCustomer.email_digest.in_(addresses))
    lifted = session.execute(delete(ErasedCustomer).where(or_(*matches))).rowcount
    if not lifted:
        raise NotFound("No erased customer has this customer id or address: there is no erasure to lift.")
    return lifted
