"""Importing the data of a shop that sells in many languages: addresses and names in other scripts, text as a
Mac writes it, and language codes beyond the two-letter ones."""

from __future__ import annotations

import unicodedata

import pandas as pd
from sqlalchemy import select

from service.db.models import Customer, Product
from service.db.session import session_scope
from tests.service.test_importing import CUSTOMERS, PRODUCTS, upload_customers
from tests.service.test_sending import approved_draft, new_campaign


def test_an_address_that_needs_smtputf8_is_imported_with_a_warning(client):
    """Valid, so kept; but a relay without SMTPUTF8 cannot take it, and a send then skips its draft: said at
    import, before a campaign is planned. A domain in another script alone needs nothing (sent as ASCII)."""
    frame = CUSTOMERS.assign(email=["ольга@пример.рф", "jan@пример.рф"])
    (warning,) = upload_customers(client, frame)["warnings"]
    assert warning.startswith("1 customer has an address with letters outside ASCII before the @ (c1)")
    assert "SMTPUTF8" in warning and "ольга" not in warning  # the id: a job's result goes to the webhook
    assert upload_customers(client, CUSTOMERS)["warnings"] == []


def test_text_is_kept_composed_so_greetings_and_the_review_search_find_the_name(client, engine):
    """ "Jürgen" from a Mac's export (NFD: "Ju" + U+0308) lost his greeting ("Guten Tag," for "Hallo Jürgen,") and
    the review search for the typed (NFC) name found nobody."""
    decomposed = unicodedata.normalize("NFD", "Jürgen")
    assert decomposed != "Jürgen"
    upload_customers(client, CUSTOMERS.assign(first_name=[decomposed, "Jan"], tier=[f"{decomposed}s Stufe", "x"]))
    products = PRODUCTS.assign(name=[unicodedata.normalize("NFD", "Grüner Tee"), "Chef knife"])
    response = client.post("/imports/products", files={"file": ("p.csv", products.to_csv(index=False), "text/csv")})
    assert response.status_code == 200, response.text
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        assert customer.first_name == "Jürgen" and customer.attributes["tier"] == "Jürgens Stufe"
        assert session.scalar(select(Product.name).where(Product.sku == "T1")) == "Grüner Tee"
        customer.first_name = decomposed  # as a database imported before this fix holds it
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, external_id="c1")
    for typed in ("Jürgen", decomposed, "jürgen"):  # what the review page's search asks for
        found = client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": typed}).json()
        assert [draft["customer_id"] for draft in found] == ["c1"], typed


def test_language_codes_of_three_letters_and_with_a_script_are_accepted_with_the_usual_warning(client):
    """`gsw` (Swiss German: ISO 639 has only three letters for it) refused the whole customers file as "must be a
    language code such as en, de or pt-BR"."""
    frame = CUSTOMERS.assign(locale=["gsw", "zh-Hant-TW"])
    (warning,) = upload_customers(client, frame)["warnings"]
    assert warning.startswith("2 customers have a language without email templates: gsw (1), zh (1).")
    assert client.get("/customers/c1").json()["locale"] == "gsw"
    bad = CUSTOMERS.assign(locale=["german", "de"]).to_csv(index=False)
    response = client.post("/imports/customers", files={"file": ("customers.csv", bad, "text/csv")})
    assert response.status_code == 422 and "gsw" in response.text


def test_a_file_without_languages_imports_with_the_shops_default_and_keeps_a_stored_one(client, monkeypatch):
    """A shop platform's customers export has no language column: the whole file was refused ("missing column
    locale"), and an empty cell refused its row. Now a new customer gets TAILOR_IMPORT_DEFAULT_LOCALE, a stored one
    keeps theirs, and the warnings say so."""
    upload_customers(client, CUSTOMERS.assign(locale=["pl", "pl"]))
    monkeypatch.setenv("TAILOR_IMPORT_DEFAULT_LOCALE", "DE_ch")
    newcomer = CUSTOMERS.iloc[:1].assign(customer_id="c3", email="eva@example.com")
    (warning,) = upload_customers(client, pd.concat([CUSTOMERS, newcomer]).drop(columns="locale"))["warnings"]
    assert warning == (
        "3 customers have no locale in the file (c1, c2, c3): those new to Tailor are written to in de-CH "
        "(TAILOR_IMPORT_DEFAULT_LOCALE), those already stored keep theirs."
    )
    locales = {c: client.get(f"/customers/{c}").json()["locale"] for c in ("c1", "c2", "c3")}
    assert locales == {"c1": "pl", "c2": "pl", "c3": "de-CH"}
    upload_customers(client, CUSTOMERS.assign(locale=["", "fr"]))  # an empty cell, as a missing column
    assert [client.get(f"/customers/{c}").json()["locale"] for c in ("c1", "c2")] == ["pl", "fr"]


def test_a_default_language_that_is_no_language_code_is_refused_naming_the_variable(client, monkeypatch):
    monkeypatch.setenv("TAILOR_IMPORT_DEFAULT_LOCALE", "English")
    frame = CUSTOMERS.drop(columns="locale")
    response = client.post("/imports/customers", files={"file": ("c.csv", frame.to_csv(index=False), "text/csv")})
    assert "TAILOR_IMPORT_DEFAULT_LOCALE='English': must be a language code" in response.text, response.text
