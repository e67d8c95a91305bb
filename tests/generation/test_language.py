"""The language check on what a multilingual shop's audit found: copy in another language that passed, and correct
copy that failed for the product names it quotes or for its loanwords."""

from __future__ import annotations

import json

import pytest

from generation.brands import load_brand
from generation.guardrails import CHECKS, CheckContext
from generation.llm import Endpoint, register
from generation.llm.fake import answer
from generation.locales import in_writing_locale
from generation.pipeline import generate_drafts
from generation.schemas import ProductFact
from generation.settings import LLMSettings
from generation.templates import fallback_copies
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
    ("locale", "copy"),
    [
        ("de", {"subject": "Neue Ideen für Ihre Küche", "preheader": "Wir haben etwas Passendes für Sie gefunden",
                "intro": "Wir haben uns angesehen, was Ihnen gefällt, und ein paar passende Dinge für Sie gefunden."}),
        ("fr", {"subject": "Des idées pour votre cuisine", "preheader": "Quelques articles choisis pour vous",
                "intro": "Nous avons regardé ce que vous aimez et trouvé quelques articles qui s’y accordent."}),
    ],
)  # fmt: skip
def test_english_product_lines_in_another_language_s_email_fail(locale, copy):
    """A reviewer's English lines in a German or French email read as German or French beside the rest of it."""
    lines = ["A lovely green tea for your slow mornings at home.", "A sturdy cast iron pot that keeps your tea warm."]
    ok, reason = language_check(locale, [SYRUP], product_lines=lines, **copy)
    assert not ok and reason.startswith("the product lines reads as English"), reason


@pytest.mark.parametrize(
    ("locale", "intro", "reason"),
    [
        ("de", "Nous avons choisi pour vous quelques thés à déguster à la maison.", "expected German"),
        ("pl", "Für Sie ausgewählt: ein paar schöne Dinge aus unserem Sortiment.", "letters (äöü) that Polish"),
        ("en", "Wybraliśmy dla Ciebie kilka rzeczy, które świetnie pasują.", "letters (ąś) that English"),
        ("es", "Selecionámos para você algumas sugestões que combinam consigo.", "letters (êõ) that Spanish"),
        ("fr", "Hemos seleccionado algunos artículos que combinan con su pedido.", "letters (í) that French"),
        ("pt", "Abbiamo scelto per Lei alcuni articoli che si abbinano più o meno a tutto.", "letters (ù) that"),
        ("nl", "Wir haben ein paar Dinge ausgewählt, die gut zu Ihrer Bestellung passen.", "letters (ä) that Dutch"),
    ],
)
def test_copy_in_another_language_still_fails_on_its_letters_or_words(locale, intro, reason):
    ok, why = language_check(locale, [SYRUP], intro=intro)
    assert not ok and reason in why, why


BULGARIAN = {
    "subject": "Подбрано към последната ви поръчка",
    "preheader": "Продукти, които си пасват с любимите ви",
    "intro": "Разгледахме любимите ви продукти и открихме няколко неща, които чудесно си пасват с тях.",
}
RUSSIAN = {
    "subject": "Подобрано к вашему последнему заказу",
    "preheader": "Товары, которые сочетаются с вашими любимыми",
    "intro": "Мы посмотрели, что вам нравится, и нашли несколько вещей, которые отлично к этому подходят.",
}
COPY |= {
    "ru": RUSSIAN,
    "bg": BULGARIAN,
    "fr": {
        "subject": "Pour accompagner votre dernière commande",
        "preheader": "Des produits qui s’accordent avec vos favoris",
        "intro": "Nous avons regardé ce que vous aimez et trouvé quelques articles qui s’y accordent parfaitement.",
    },
    "es": {
        "subject": "Elegido para acompañar su último pedido",
        "preheader": "Productos que combinan con sus favoritos",
        "intro": "Nos fijamos en lo que le gusta y encontramos algunos artículos que combinan muy bien con ello.",
    },
    "it": {
        "subject": "Scelti per accompagnare il Suo ultimo ordine",
        "preheader": "Prodotti che si abbinano ai Suoi preferiti",
        "intro": "Abbiamo guardato ciò che Le piace e trovato alcuni articoli che si abbinano alla perfezione.",
    },
    "pt": {
        "subject": "Para acompanhar a sua última compra",
        "preheader": "Produtos que combinam com os seus favoritos",
        "intro": "Vimos as suas preferências e escolhemos alguns artigos que combinam muito bem com elas.",
    },
    "nl": {
        "subject": "Passend bij uw laatste bestelling",
        "preheader": "Producten die goed passen bij uw favorieten",
        "intro": "We hebben gekeken naar wat u mooi vindt en een paar dingen gevonden die daar goed bij passen.",
    },
}


@pytest.mark.parametrize(
    ("locale", "copy", "reason"),
    [
        ("ru", BULGARIAN, "the copy spells 'към' as Russian does not"),
        ("ru", {"subject": "Отдавна не сме се виждали"}, "the subject reads as Bulgarian, expected Russian"),
        ("ru", {"preheader": BULGARIAN["preheader"]}, "the preheader reads as Bulgarian, expected Russian"),
        ("pl", {"subject": "Picked to go with your order"}, "the subject reads as English, expected Polish"),
        ("pl", {"subject": "Passend zu Ihrer letzten Bestellung"}, "the subject reads as German, expected Polish"),
        ("bg", {"subject": RUSSIAN["subject"]}, "the subject reads as Russian, expected Bulgarian"),
        ("de", {"subject": "Picked to go with your order"}, "the subject reads as English, expected German"),
        ("fr", {"subject": "Picked to go with your order"}, "the subject reads as English, expected French"),
        (
            "pt",
            {"subject": "Elegido para acompañar su último pedido"},
            "the subject reads as Spanish, expected Portuguese",
        ),
        (
            "es",
            {"preheader": "Produtos que combinam com os seus favoritos"},
            "the preheader reads as Portuguese, expected Spanish",
        ),
        ("it", {"intro": COPY["es"]["intro"]}, "the intro reads as Spanish, expected Italian"),
        (
            "fr",
            {"subject": "Scelti per accompagnare il Suo ultimo ordine"},
            "the subject reads as Italian, expected French",
        ),
        (
            "it",
            {"subject": "Pour accompagner votre dernière commande"},
            "the subject reads as French, expected Italian",
        ),
        ("de", {"subject": "Passend bij uw laatste bestelling"}, "the subject reads as Dutch, expected German"),
        ("nl", {"subject": "Passend zu Ihrer letzten Bestellung"}, "the subject reads as German, expected Dutch"),
    ],
)
def test_a_field_in_another_language_fails_short_subjects_and_bulgarian_in_a_russian_email_included(
    locale, copy, reason
):
    """Bulgarian copy passed in a Russian email (langdetect's bg, mk and uk were taken for Russian, and Bulgarian
    has no letters Russian lacks), and an English or German subject in a Polish one (the Polish "to" stopped the
    word test, and a field under 40 characters never reached langdetect)."""
    ok, why = language_check(locale, [], **copy)
    assert not ok and why == reason, why


# Short English subjects that hold none of English's commonest words: no word told them apart, and they were sent.
ENGLISH_SUBJECTS = ("Welcome back", "Come back soon", "Treat yourself today", "New arrivals", "Shop now")


@pytest.mark.parametrize(
    ("locale", "subject", "language"),
    [("de", "Welcome back", "German"), ("fr", "Come back soon", "French"), ("es", "New arrivals", "Spanish"),
     ("it", "Treat yourself today", "Italian"), ("nl", "Shop now", "Dutch")],
)  # fmt: skip
def test_a_short_english_subject_without_a_telling_word_fails_in_another_language_s_email(locale, subject, language):
    """Under 40 characters and with no word of English's commonest, an English subject passed in a German email
    whose preheader and intro were German."""
    copy = {**fallback_copies("cross_sell", locale)[0], "subject": subject}
    request = make_request(locale=locale, products=[])
    result = CHECKS["language"](CheckContext(request=request, brand=load_brand("hearth"), product_lines=[], **copy))
    assert (result.passed, result.reason) == (False, f"the subject reads as English, expected {language}")


@register("english_subjects")
def _english_subjects_endpoint(model, settings):
    """Writes the template's copy in the email's language, as the fake model does, but each subject in English."""

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        for variant, subject in zip(body["variants"], ENGLISH_SUBJECTS, strict=False):
            variant["subject"] = subject
        return json.dumps(body)

    return Endpoint(model="openai/english_subjects", api_key="x", mock=respond)


def test_a_model_s_english_subject_gives_way_to_the_template_s_in_the_customer_s_language():
    """A model that wrote "Welcome back" over German, French, Spanish, Italian and Dutch copy had its subject sent
    to those customers; its versions are turned down by the language check and the template's copy is used."""
    locales = ("de", "fr", "es", "it", "nl")
    requests = [make_request(f"c-{locale}", locale=locale) for locale in locales]
    settings = LLMSettings(model="english_subjects", cache=False, locales=",".join(locales))
    result = generate_drafts(requests, load_brand("hearth"), settings=settings)
    variants = [variant for draft in result.drafts for variant in draft.variants]
    assert len(variants) == 2 * len(locales)
    assert not [v.subject for v in variants if v.subject in ENGLISH_SUBJECTS]
    assert all(v.used_fallback and v.passed for v in variants)
    assert result.stats.rejected_by_check["language"] >= len(locales)
    # and each says why, for the copywriter who reads the draft, not only the campaign's count
    names = {"de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch"}
    assert [{c.name: c.turned_down for c in v.checks if c.turned_down} for d in result.drafts for v in d.variants] == [
        {"language": f"the subject reads as English, expected {names[d.locale]}"} for d in result.drafts for _ in (0, 1)
    ]


@pytest.mark.parametrize(("written", "locale"), [(written, locale) for written in COPY for locale in COPY])
def test_copy_passes_in_its_own_language_and_fails_in_any_other_a_neighbour_included(written, locale):
    """Each language's whole copy passes as its own and fails as any other's, neighbours included (Spanish in a
    Portuguese email, Dutch in a German one): one language's commonest words must not make another's copy pass."""
    ok, why = language_check(locale, [], **COPY[written], product_lines=[])
    assert ok is (written == locale), why


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("pl", "Wróć do nas"),
        ("pl", "To coś dla Ciebie"),
        ("de", "Willkommen in unserem Shop"),
        ("en", "Welcome to our shop"),
        ("ru", "Давно не виделись"),
        ("ru", "Запасы на исходе?"),
        ("ru", "Объём и подъезд к вам"),
        ("bg", "Малка селекция за вас"),
        ("bg", "Заслужава си да го разгледате."),
        ("fr", "Revenez nous voir"),
        ("fr", "Bientôt à court de vos produits habituels\u00a0?"),
        ("es", "Ha pasado un tiempo"),
        ("es", "Le damos la bienvenida a nuestra tienda"),
        ("it", "Torni a trovarci"),
        ("it", "Le scorte stanno per finire?"),
        ("pt", "Boas-vindas à nossa loja"),
        ("pt", "Quase sem os seus produtos habituais?"),
        ("nl", "Fijn dat u er bent"),
        ("nl", "Raakt uw voorraad op?"),
    ],
)
def test_a_short_correct_subject_passes(locale, subject):
    """Short texts are where langdetect errs ("Willkommen in unserem Shop" reads as Norwegian to it): it judges
    them only when a word of the language it names agrees."""
    ok, reason = language_check(locale, [], subject=subject)
    assert ok, reason


def test_an_email_written_in_english_for_want_of_templates_may_be_in_the_customer_s_own_language():
    """A Czech customer gets English copy, flagged for a person: a copywriter's Czech translation must pass
    as the English does (judged by langdetect alone: no Czech words are known here), and copy in any third language
    still fails."""
    request, notes = in_writing_locale(make_request(locale="cs"), load_brand("hearth"))
    assert request.customer.locale == "en" and request.customer.own_locale == "cs" and notes

    def check(**copy) -> tuple[bool, str]:
        result = CHECKS["language"](CheckContext(request=request, brand=load_brand("hearth"), **copy))
        return result.passed, result.reason

    lines = ["Worth a closer look.", "Chosen with your taste in mind."]
    czech = {
        "subject": "Vybráno k vaší poslední objednávce",
        "preheader": "Produkty, které se hodí k vašim oblíbeným",
        "intro": "Podívali jsme se, co máte rádi, a našli několik věcí, které se k tomu skvěle hodí.",
    }
    assert check(**COPY["en"], product_lines=lines) == (True, "")
    assert check(**czech, product_lines=lines) == (True, "")
    assert check(**czech, product_lines=["Svěží a bylinkový zelený čaj.", "Udrží každý šálek teplý."]) == (True, "")
    assert check(**{**czech, "subject": "Passend zu Ihrer letzten Bestellung"}, product_lines=lines) == (
        False,
        "the subject reads as German, expected English, nor does it read as cs, the customer's own language",
    )


def test_the_english_template_copy_is_spelled_alike_for_british_and_american_readers():
    """Every English email's fallback said "favourites" to American customers of any shop: the campaign templates
    are shared by every brand, which is where a shop chooses its own spelling."""
    import re

    from audience.campaigns import campaign_types
    from generation import templates

    british = re.compile(r"\b\w*(favourit|colour|personalis|organis|centre|catalogue|cancelled|jeweller|realis)", re.I)
    for campaign_type in campaign_types():
        for copy in templates.fallback_copies(campaign_type, "en"):
            for field, text in copy.items():
                assert not british.search(text), (campaign_type, field, text)
