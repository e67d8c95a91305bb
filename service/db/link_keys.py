"""Products' addresses as a click's address is compared with them (generation.links.link_key), stored digested with
each product (``Product.link_key_digest``), so that the catalog's products a click may be on are found by index
whatever the catalog's size.

A digest, not the key: a key percent-encodes each letter of an address that is no ASCII, up to 12 characters for one
(an address of 1,000 characters, as an import takes, may have a key of 9,000), past what a PostgreSQL index entry
holds (2,704 bytes); a digest is 64 characters whatever the key.

The stored digests are the keys of ``link_key``'s rules when each product's address was written (migration 0046 for
those stored before). A change to those rules that changes the key of an address a catalog may hold needs a
migration that writes every product's digest again (as 0046 does), or the products stored before are not found at
the addresses the new rules key otherwise."""

from __future__ import annotations

import hashlib

from generation.links import link_key

# The digest's length: SHA-256's, in hex.
DIGEST_LENGTH = 64


def key_digest(key: str) -> str:
    """The digest of a link key (``generation.links.link_key``'s)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def link_key_digest(url: str | None) -> str | None:
    """The digest of ``url``'s link key; None for no address (no click's address is empty)."""
    key = link_key(url or "")
    return key_digest(key) if key else None
