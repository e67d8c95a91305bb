"""Importing the data of a shop that sells in many languages: addresses and names in other scripts, text as a
Mac writes it, and language codes beyond the two-letter ones."""

from __future__ import annotations

from tests.service.test_importing import CUSTOMERS, upload_customers


def test_an_address_that_needs_smtputf8_is_imported_with_a_warning(client):
    """Valid, so kept; but a relay without SMTPUTF8 cannot take it, and a send then skips its draft: said at
    import, before a campaign is planned. A domain in another script alone needs nothing (sent as ASCII)."""
    frame = CUSTOMERS.assign(email=["ольга@пример.рф", "jan@пример.рф"])
    (warning,) = upload_customers(client, frame)["warnings"]
    assert warning.startswith("1 customers have an address with letters outside ASCII before the @ (ольга@пример.рф)")
    assert "SMTPUTF8" in warning
    assert upload_customers(client, CUSTOMERS)["warnings"] == []
