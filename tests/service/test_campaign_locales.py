"""Customers in a language the brand has no templates for: the campaign is written for everyone, their emails in
the brand's default language and flagged for a person, who can still edit them."""

from __future__ import annotations

import pandas as pd

from tests.service.conftest import generated_campaign, trained_shop, upload


def test_an_unsupported_locale_falls_back_per_customer_and_is_flagged(client, demo_files, monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    customers = pd.read_csv(demo_files["customers"], dtype=str, keep_default_na=False)
    customers.loc[customers.index % 2 == 0, "locale"] = "cs"
    customers.to_csv(tmp_path / "customers.csv", index=False)
    assert upload(client, "customers", tmp_path / "customers.csv").status_code == 200

    campaign_id = generated_campaign(client, max_customers=8)

    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert len(drafts) == 8
    czech = [d for d in drafts if d["locale"] == "cs"]
    others = [d for d in drafts if d["locale"] != "cs"]
    assert czech and others
    for draft in czech:
        assert draft["status"] == "flagged" and draft["flagged"]
        assert (
            "The customer's locale is 'cs'" in draft["flag_reasons"][0] and "English ('en')" in draft["flag_reasons"][0]
        )
        assert all('lang="en"' in variant["html"] for variant in draft["variants"])
    assert not any("The customer's locale" in reason for d in others for reason in d["flag_reasons"])
    # the campaign's figures count them flagged too (they counted only drafts flagged by their scores)
    flagged = sum(d["flagged"] for d in drafts)
    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert campaign["stats"]["flagged"] == flagged == campaign["drafts"]["flagged"]

    draft = czech[0]
    edited = client.patch(
        f"/drafts/{draft['id']}/variants/{draft['selected_variant_id']}",
        json={"subject": "A few things we picked for you", "reviewer": "copy@shop"},
    )
    assert edited.status_code == 200, edited.text
    variant = next(v for v in edited.json()["variants"] if v["id"] == draft["selected_variant_id"])
    assert "A few things we picked for you" in variant["html"] and 'lang="en"' in variant["html"]
    # the review page's edit fields name the language of the copy, for the browser's spelling check (they named the
    # customer's, so English copy was spell-checked as the customer's language)
    page = client.get(f"/review/drafts/{draft['id']}").text
    assert 'name="subject" lang="en"' in page and 'name="intro" lang="en"' in page and 'lang="cs"' not in page


def test_a_copywriter_may_translate_an_english_email_into_the_customer_s_own_language(
    client, demo_files, monkeypatch, tmp_path
):
    """A Czech customer's email is written in English and flagged for a person; their translation of it into Czech
    failed the language check ("reads as cs, expected English") and needed an override to approve. Copy in English
    or in the customer's own language passes; copy in a third language still fails."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    customers = pd.read_csv(demo_files["customers"], dtype=str, keep_default_na=False)
    customers["locale"] = "cs"
    customers.to_csv(tmp_path / "customers.csv", index=False)
    assert upload(client, "customers", tmp_path / "customers.csv").status_code == 200
    draft = client.get(f"/campaigns/{generated_campaign(client, max_customers=1)}/drafts").json()[0]
    address = f"/drafts/{draft['id']}/variants/{draft['selected_variant_id']}"

    def language_check(**copy) -> dict:
        edited = client.patch(address, json={**copy, "reviewer": "copy@shop"})
        assert edited.status_code == 200, edited.text
        variant = next(v for v in edited.json()["variants"] if v["id"] == draft["selected_variant_id"])
        return next(c for c in variant["checks"] if c["name"] == "language")

    czech = {
        "subject": "Vybráno k vaší poslední objednávce",
        "preheader": "Produkty, které se hodí k vašim oblíbeným",
        "intro": "Podívali jsme se, co máte rádi, a našli několik věcí, které se k tomu skvěle hodí.",
    }
    assert language_check(**czech)["passed"]
    german = language_check(subject="Passend zu Ihrer letzten Bestellung")
    assert not german["passed"]
    assert german["reason"] == (
        "the subject reads as German, expected English, nor does it read as cs, the customer's own language"
    )


def test_a_customer_s_region_writes_the_amounts_of_their_email(client, demo_files, monkeypatch, tmp_path):
    """The import kept only the language of a locale (de-CH was stored de), so a Swiss customer read 12,50 EUR where
    Switzerland writes 12.50: the email is written in the language, its amounts as the region writes them."""
    import re

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    customers = pd.read_csv(demo_files["customers"], dtype=str, keep_default_na=False)
    customers["locale"] = ["de_ch" if i % 2 else "DE" for i in range(len(customers))]
    customers.to_csv(tmp_path / "customers.csv", index=False)
    assert upload(client, "customers", tmp_path / "customers.csv").status_code == 200
    swiss_id = customers.customer_id[1]
    assert client.get(f"/customers/{swiss_id}").json()["locale"] == "de-CH"

    drafts = client.get(f"/campaigns/{generated_campaign(client, max_customers=8)}/drafts").json()
    by_locale = {locale: [d for d in drafts if d["locale"] == locale] for locale in ("de", "de-CH")}
    assert by_locale["de"] and by_locale["de-CH"] and len(drafts) == 8
    price = re.compile(r"\d[\d.,']*\d\u00a0€|EUR\u00a0\d[\d.,']*\d")  # Germany writes 12,50 €, Switzerland EUR 12.50
    for locale, decimal_mark in (("de", ","), ("de-CH", ".")):
        for draft in by_locale[locale]:
            assert not any("locale" in reason for reason in draft["flag_reasons"])
            for variant in draft["variants"]:
                assert 'lang="de"' in variant["html"]
                prices = price.findall(variant["text"])
                amounts = [re.search(r"\d[\d.,']*\d", p).group() for p in prices]
                assert amounts and all(a[-3] == decimal_mark for a in amounts), (locale, prices)

    swiss = by_locale["de-CH"][0]
    edited = client.patch(
        f"/drafts/{swiss['id']}/variants/{swiss['selected_variant_id']}",
        json={"subject": "Für Ihre nächste Bestellung ausgewählt", "reviewer": "copy@shop"},
    )
    assert edited.status_code == 200, edited.text
    variant = next(v for v in edited.json()["variants"] if v["id"] == swiss["selected_variant_id"])
    edited_prices = price.findall(variant["text"])  # written again, still as Switzerland writes
    assert edited_prices and all(p.startswith("EUR") and p[-3] == "." for p in edited_prices)
