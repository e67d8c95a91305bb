"""Amounts as the reader's locale writes them, region included where the region writes numbers otherwise."""

from __future__ import annotations

import pytest

from generation.brands import load_brand
from generation.locales import normal_locale, number_locale
from generation.pipeline import generate_drafts
from generation.render import format_number, format_price
from generation.schemas import CustomerFacts, Offer
from generation.settings import LLMSettings
from tests.generation.conftest import TEA, make_request

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("locale", "written"),
    [
        ("en", ["999", "1,234.50", "12,345.50", "1,234,567"]),
        ("de", ["999", "1.234,50", "12.345,50", "1.234.567"]),
        ("es", ["999", "1234,50", f"12{NBSP}345,50", f"1{NBSP}234{NBSP}567"]),  # region unknown: the academies' way
        ("es-ES", ["999", "1234,50", "12.345,50", "1.234.567"]),
        ("es-MX", ["999", "1,234.50", "12,345.50", "1,234,567"]),
        ("es_mx", ["999", "1,234.50", "12,345.50", "1,234,567"]),
        ("es-419", ["999", "1,234.50", "12,345.50", "1,234,567"]),
        ("de-CH", ["999", "1'234.50", "12'345.50", "1'234'567"]),
        ("de-AT", ["999", "1.234,50", "12.345,50", "1.234.567"]),  # as German
        ("fr-CA", ["999", f"1{NBSP}234,50", f"12{NBSP}345,50", f"1{NBSP}234{NBSP}567"]),
        ("pt-BR", ["999", "1.234,50", "12.345,50", "1.234.567"]),
        ("pt-PT", ["999", f"1{NBSP}234,50", f"12{NBSP}345,50", f"1{NBSP}234{NBSP}567"]),
        ("en-IN", ["999", "1,234.50", "12,345.50", "12,34,567"]),
        ("en-ZA", ["999", f"1{NBSP}234,50", f"12{NBSP}345,50", f"1{NBSP}234{NBSP}567"]),
        ("es-XX", ["999", "1234,50", f"12{NBSP}345,50", f"1{NBSP}234{NBSP}567"]),  # a region not listed: its language
    ],
)
def test_each_locale_writes_amounts_its_own_way(locale, written):
    assert [format_number(value, locale) for value in (999, 1234.5, 12345.5, 1234567)] == written


def test_signs_cents_and_prices():
    assert format_number(-1234.5, "de-CH") == "-1'234.50" and format_number(-0.001, "en") == "0.00"
    assert format_number(0.5, "pt-PT") == "0,50"
    assert format_price(1234.5, "CHF", "de-CH") == f"CHF{NBSP}1'234.50"
    assert format_price(7, "EUR", "de") == f"7,00{NBSP}€"


@pytest.mark.parametrize(
    ("currency", "locale", "written"),
    [
        ("GBP", "en", "£1.65"),  # Online Retail's prices read "1.65 GBP", as on a bank statement
        ("USD", "en-US", "$1.65"),
        ("USD", "en-GB", "US$1.65"),  # a reader in Britain is told which dollar
        ("EUR", "nl", f"€{NBSP}1,65"),
        ("PLN", "pl", f"1,65{NBSP}zł"),
        ("PLN", "en", f"PLN{NBSP}1.65"),  # no symbol in English: the code, kept apart from the digits
        ("RUB", "ru", f"1,65{NBSP}₽"),
        ("EUR", "sv", "€1.65"),  # a language without templates is written in English
        ("XYZ", "en", f"XYZ{NBSP}1.65"),  # a code CLDR does not know is written as it is
        ("", "de", "1,65"),  # a catalog without a currency: the amount alone
    ],
)
def test_the_currency_is_written_as_the_reader_s_locale_writes_it(currency, locale, written):
    assert format_price(1.65, currency, locale) == written


@pytest.mark.parametrize(
    ("locale", "written"),
    [("ru-EE", f"1,65{NBSP}€"), ("it-DE", f"1,65{NBSP}€"), ("de-EU", f"1,65{NBSP}€"), ("pl-UK", f"1,65{NBSP}GBP")],
)
def test_a_region_cldr_does_not_know_writes_the_currency_as_its_language_does(locale, written):
    """A Russian reader in Estonia read "1,65 EUR" where one in Russia read "1,65 €", and "gbp" stayed lower case."""
    currency = "gbp" if locale == "pl-UK" else "EUR"
    assert format_price(1.65, currency, locale) == written


def test_locales_are_kept_in_one_spelling():
    assert [normal_locale(tag) for tag in ("PT_br", "en-gb", "EN", "zh-hant-tw", "es-419", " de-ch ")] == [
        "pt-BR", "en-GB", "en", "zh-Hant-TW", "es-419", "de-CH",
    ]  # fmt: skip


def test_the_customer_s_region_counts_only_when_the_email_is_in_their_language():
    assert number_locale(CustomerFacts(customer_id="c", locale="es", own_locale="es-MX")) == "es-MX"
    assert number_locale(CustomerFacts(customer_id="c", locale="en", own_locale="cs-CZ")) == "en"  # English copy
    assert number_locale(CustomerFacts(customer_id="c", locale="de")) == "de"


def test_an_email_to_mexico_writes_its_prices_and_offer_as_mexico_does():
    settings = LLMSettings(model="fake", cache=False, locales="en")
    amount = Offer(kind="amount_off", value=1500)
    kettle = TEA.model_copy(update={"price": 1234.5})
    requests = [
        make_request(f"c-{locale}", locale=locale, offer=amount, products=[kettle]) for locale in ("es-MX", "es")
    ]
    mexico, spain = generate_drafts(requests, load_brand("hearth"), settings=settings).drafts
    assert mexico.locale == spain.locale == "es" and mexico.notes == spain.notes == []
    for variant in mexico.variants:
        assert f"EUR{NBSP}1,234.50" in variant.text and f"EUR{NBSP}1,500" in variant.text
        assert "1234,50" not in variant.text
    for variant in spain.variants:
        assert f"1234,50{NBSP}€" in variant.text and f"1500{NBSP}€" in variant.text


def test_an_email_to_switzerland_is_spelt_without_eszett_but_its_products_keep_their_names():
    """A de-CH customer read the Atelier's "Mit freundlichen Grüßen"; Switzerland writes "Grüssen"."""
    settings = LLMSettings(model="fake", cache=False, locales="en")
    mug = TEA.model_copy(update={"name": "Große Tasse", "price": 12.5})
    swiss, german = (
        make_request(f"c-{locale}", locale=locale, products=[mug], offer=Offer(kind="percent_off", value=10))
        for locale in ("de-CH", "de")
    )
    kit = load_brand("atelier")
    assert "ß" in kit.sign_off_for("de")
    drafts = generate_drafts([swiss, german], kit, settings=settings).drafts
    for variant in drafts[0].variants:
        body = variant.text.replace("Große Tasse", "")
        assert "ß" not in body and kit.sign_off_for("de").replace("ß", "ss") in body
        assert "Große Tasse" in variant.text and "EUR\u00a012.50" in variant.text  # the shop's name, Swiss amounts
    assert all(kit.sign_off_for("de") in variant.text for variant in drafts[1].variants)


def test_the_model_is_told_the_offer_in_the_shop_s_currency():
    """The email wrote "Enjoy £5 off" for a British shop, and the prompt told the model "Enjoy €5 off"."""
    from generation.copywriter import build_messages
    from generation.grouping import group_requests
    from tests.generation.conftest import POT

    products = [p.model_copy(update={"currency": "GBP"}) for p in (TEA, POT)]
    (group,) = group_requests([make_request(products=products, offer=Offer(kind="amount_off", value=5))])
    user = build_messages(group, load_brand("hearth"), 2)[-1]["content"]
    assert "Enjoy £5 off" in user and "€" not in user
