"""The language check on what a multilingual shop's audit found: copy in another language that passed, and correct
copy that failed for the product names it quotes or for its loanwords."""

from __future__ import annotations

import pytest

from generation.brands import load_brand
from generation.guardrails import CHECKS, CheckContext
from generation.schemas import ProductFact
from tests.generation.conftest import make_request

SYRUP = ProductFact(product_id="SYR-001", name="Café Crème Brûlée Syrup", category="Coffee", price=8.5)
BEAR_GARLIC_POT = ProductFact(product_id="KIT-003", name="Teekanne „Bärlauch“", category="Kitchen", price=34.0)

# Correct copy of each language, the products' lines left to each test.
COPY = {
    "en": {
        "subject": "Time for your favourites",
        "preheader": "A few ideas we picked for you",
        "intro": "We looked at what you enjoy and found a few things that go well with it.",
    },
    "de": {
        "subject": "Passend zu Ihrer letzten Bestellung",
        "preheader": "Produkte, die zu Ihren Favoriten passen",
        "intro": "Wir haben uns angesehen, was Ihnen gefällt, und ein paar passende Dinge gefunden.",
    },
    "pl": {
        "subject": "Dobrane do Twojego ostatniego zamówienia",
        "preheader": "Produkty, które pasują do Twoich ulubionych",
        "intro": "Sprawdziliśmy, co lubisz, i znaleźliśmy kilka rzeczy, które świetnie do tego pasują.",
    },
}


def language_check(locale: str, products: list[ProductFact], **copy) -> tuple[bool, str]:
    fields = {"product_lines": ["Worth a closer look."] * len(products), **COPY[locale], **copy}
    request = make_request(locale=locale, products=products)
    result = CHECKS["language"](CheckContext(request=request, brand=load_brand("hearth"), **fields))
    return result.passed, result.reason


@pytest.mark.parametrize(
    ("locale", "product", "copy"),
    [
        ("de", SYRUP, {"product_lines": ["Der Café Crème Brûlée Syrup passt zu jedem Kaffee."]}),
        ("de", SYRUP, {"intro": "Zu Ihrem Lieblings-Café passt unser Sirup mit Crème-brûlée-Aroma."}),
        ("pl", SYRUP, {"product_lines": ["Café Crème Brûlée Syrup pasuje do każdej kawy."]}),
        ("en", BEAR_GARLIC_POT, {"product_lines": ["Our Bärlauch teapot keeps tea hot for an hour."]}),
    ],
)
def test_copy_naming_a_product_of_the_email_or_a_loanword_passes(locale, product, copy):
    """The whole copy was judged before the product names were left out, and é and è counted against German
    (which writes Café, Crème) and é against Polish: each of these failed for "letters that German does not"."""
    ok, reason = language_check(locale, [product], **copy)
    assert ok, reason


@pytest.mark.parametrize(
    ("locale", "intro", "reason"),
    [
        ("de", "Nous avons choisi pour vous quelques thés à déguster à la maison.", "expected German"),
        ("pl", "Für Sie ausgewählt: ein paar schöne Dinge aus unserem Sortiment.", "letters (äöü) that Polish"),
        ("en", "Wybraliśmy dla Ciebie kilka rzeczy, które świetnie pasują.", "letters (ąś) that English"),
    ],
)
def test_copy_in_another_language_still_fails_on_its_letters_or_words(locale, intro, reason):
    ok, why = language_check(locale, [SYRUP], intro=intro)
    assert not ok and reason in why, why
