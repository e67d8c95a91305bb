"""generate_drafts through the fake model: shape, facts from data, grouping, caching, fallback, progress."""

from __future__ import annotations

import json
import re
import time

import pytest
from pydantic import ValidationError

from generation.brands import BrandKit, load_brand
from generation.errors import ModelUnavailable, UnknownCampaignType
from generation.export import draft_rows
from generation.llm import Endpoint, register
from generation.pipeline import finish_variant, generate_drafts, template_product_lines
from generation.schemas import CAMPAIGN_TYPES, LOCALES, Offer
from generation.settings import LLMSettings
from tests.generation.conftest import ECHO, PARROT, make_request
from tests.model_server import SilentProvider, serving


def test_every_campaign_type_and_locale_gives_checked_variants(fake_settings):
    requests = [
        make_request(f"{kind}-{locale}", locale=locale, campaign_type=kind)
        for kind in CAMPAIGN_TYPES
        for locale in LOCALES
    ]
    result = generate_drafts(requests, load_brand("hearth"), n_variants=2, settings=fake_settings)
    assert [d.customer_id for d in result.drafts] == [r.customer.customer_id for r in requests]
    for draft in result.drafts:
        assert [v.variant_id for v in draft.variants] == ["A", "B"]
        for variant in draft.variants:
            failures = [f"{c.name}: {c.reason}" for c in variant.checks if not c.passed]
            assert failures == [], (draft.customer_id, failures)
            assert variant.subject != draft.variants[0].subject or variant.variant_id == "A"


def test_facts_come_from_the_data(fake_settings, request_en):
    result = generate_drafts([request_en], load_brand("hearth"), settings=fake_settings)
    variant = result.drafts[0].variants[0]
    for text in (variant.html, variant.text):
        assert "Sencha Green 100 g" in text and "€7.90" in text and "€39.00" in text
        assert "https://shop.example/p/TEA-001" in text
        assert "10% off" in text and "BACK10" in text
        assert "Hi Anna," in text
        assert "{{unsubscribe_url}}" in text
    # A screen reader's list of links named each product's link "View product" alone; the footer's grey (#777)
    # fell short of WCAG AA's 4.5:1 on the brand's background, and its long link widened the email past a phone's.
    assert 'aria-label="View product: Sencha Green 100 g"' in variant.html
    brand = load_brand("hearth")
    assert f"font-size:12px;color:{brand.colors['text']};" in variant.html and "#777" not in variant.html
    assert "overflow-wrap:anywhere" in variant.html


def test_the_email_keeps_its_colours_and_hides_its_preheader_where_mail_clients_drop_css():
    """Gmail drops <body>'s style, so the brand's background and text colours were lost there; Outlook shows an
    element that only display:none hides, so the preheader appeared above the email."""
    from generation.render import render_email

    brand = load_brand("hearth")
    html, _ = render_email(
        make_request(), brand, subject="S", preheader="Hidden line", intro="I", product_lines=["One.", "Two."]
    )
    elements = _elements(html)
    # the preheader, then the invisible characters that keep the email's first text out of the inbox's line
    preheader = next(attrs for tag, attrs, text in elements if (text or "").startswith("Hidden line"))
    assert {"display:none", "mso-hide:all", "max-height:0", "opacity:0"} <= set(preheader["style"].split(";"))
    cells = [attrs for tag, attrs, _ in elements if tag in ("table", "td")]
    assert any(attrs.get("bgcolor") == brand.colors["background"] for attrs in cells)
    greeting = next(i for i, (_, _, text) in enumerate(elements) if text == "Hi Anna,")
    enclosing = [attrs for tag, attrs, _ in elements[:greeting] if tag == "td"][-1]
    assert f"color:{brand.colors['text']}" in enclosing.get("style", "")


def _elements(html: str) -> list[tuple[str, dict, str | None]]:
    """(tag, attributes, its first text) of each element, in document order."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict, str | None]] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs), None))

        def handle_data(self, data):
            if found and found[-1][2] is None and data.strip():
                found[-1] = (*found[-1][:2], data.strip())

    Reader().feed(html)
    return found


def test_an_email_without_products_carries_a_note_for_the_reviewer(fake_settings):
    """Drafts of a shop's best customers, for whom the recommender had nothing left, said "a few things that go
    well with it", listed nothing, passed every check and were sent."""
    empty, full = make_request("c1", products=[]), make_request("c2")
    reminder = make_request("c3", products=[], campaign_type="replenishment", segment="loyal")
    result = generate_drafts([empty, full, reminder], load_brand("hearth"), settings=fake_settings)
    notes = {draft.customer_id: draft.notes for draft in result.drafts}
    assert len(notes["c1"]) == 1 and notes["c1"][0].startswith("No products to show: the recommender found none")
    assert notes["c2"] == []
    # A re-order reminder shows only what was bought and is bought again: its note says so, not "all bought".
    assert notes["c3"][0].startswith("No products to show: none of what this customer bought is in stock and bought")


@pytest.mark.parametrize(
    ("locale", "price", "offer"),
    [
        ("en", "€1,234.50", "Enjoy €7.50 off"),
        ("de", "1.234,50\u00a0€", "Sie erhalten 7,50\u00a0€ Rabatt"),
        ("pl", "1\u00a0234,50\u00a0€", "Rabat 7,50\u00a0€ na kolejne zamówienie"),
        ("fr", "1\u00a0234,50\u00a0€", "Profitez de 7,50\u00a0€ de réduction"),
        ("es", "1234,50\u00a0€", "Disfrute de 7,50\u00a0€ de descuento"),  # four digits: no space
        ("it", "1.234,50\u00a0€", "Per Lei uno sconto di 7,50\u00a0€"),
        ("pt", "€\u00a01.234,50", "Aproveite €\u00a07,50 de desconto"),
        ("nl", "€\u00a01.234,50", "U krijgt €\u00a07,50 korting"),
    ],
)
def test_prices_and_offer_amounts_are_written_as_the_locale_writes_numbers(fake_settings, locale, price, offer):
    """An amount off read "7.50 EUR" in a German email whose prices read "7,90 EUR", and no price had a
    thousands separator. A space that never breaks joins a price, and an amount off, to its currency: an ordinary
    one let "EUR" wrap alone onto the next line. The currency is written as the locale writes it: "1.65 GBP" read
    like a bank statement in an English email, where £1.65 is what a shop writes (generation.money)."""
    from tests.generation.conftest import POT

    pricey = POT.model_copy(update={"price": 1234.5})
    request = make_request(locale=locale, products=[pricey], offer=Offer(kind="amount_off", value=7.5))
    text = generate_drafts([request], load_brand("hearth"), settings=fake_settings).drafts[0].variants[0].text
    assert price in text and offer in text


def test_spanish_groups_thousands_only_past_four_digits():
    """The Spanish academies write 1234,50 but 12 345,50; the emails wrote 1 234,50."""
    from generation.render import format_number

    assert [format_number(v, "es") for v in (999, 1234, 1234.5, -1234, 12345.5, 1234567)] == [
        "999", "1234", "1234,50", "-1234", "12\u00a0345,50", "1\u00a0234\u00a0567",
    ]  # fmt: skip
    assert format_number(1234.5, "fr") == "1\u00a0234,50"  # French groups them


@pytest.mark.parametrize(
    ("brand", "locale", "greeting"),
    [("hearth", "en", "Hi Anna,"), ("atelier", "en", "Dear Anna,"), ("atelier", "pl", "Dzień dobry,"),
     ("atelier", "ru", "Добрый день, Anna."), ("atelier", "de", "Guten Tag, Anna,"),
     ("hearth", "fr", "Bonjour Anna,"), ("atelier", "fr", "Bonjour Anna,"), ("hearth", "es", "Hola, Anna:"),
     ("hearth", "it", "Buongiorno Anna,"), ("atelier", "it", "Gentile Anna,"), ("hearth", "pt", "Olá, Anna,"),
     ("hearth", "nl", "Beste Anna,"),
     # Polish names a person only in the vocative, which a stored first name cannot be trusted to give: "Cześć
     # Wojciech," was ungrammatical, so the greeting goes without the name
     ("hearth", "pl", "Dzień dobry,")],
)  # fmt: skip
def test_a_formal_brand_greets_formally_and_the_signature_is_set_off_as_mail_clients_expect(
    fake_settings, brand, locale, greeting
):
    """Maison Atelier, which addresses its readers formally and never exclaims, wrote "Hi Ava," and
    "Здравствуйте, Екатерина!"; the signature line was "--", which mail clients do not take for one."""
    request = make_request(locale=locale)
    text = generate_drafts([request], load_brand(brand), settings=fake_settings).drafts[0].variants[0].text
    assert text.startswith(f"{greeting}\n") and "\n-- \n" in text


def test_polish_template_copy_never_addresses_the_reader_informally():
    """Maison Atelier, whose kit says to address the reader formally (its German, Russian and Bulgarian do), wrote
    "Dobrane do Twojego ostatniego zamówienia" and "masz u nas konto" in Polish. The Polish copy is written without
    the second person (a formal Pan/Pani needs the reader's sex), which suits the informal brand as well."""
    from generation.templates import fallback_copies, strings

    informal = re.compile(r"\b(ty|ci|cię|ciebie|tobie|tw[oóe]\w*|masz|jesteś|(?!nasz\b)\w+[aeiy]sz)\b", re.IGNORECASE)
    words = strings("pl")
    texts = [*words["product_line"], *words["offer"].values(), words["greeting"], load_brand("atelier").footer["pl"]]
    texts += [text for kind in CAMPAIGN_TYPES for copy in fallback_copies(kind, "pl") for text in copy.values()]
    assert [(text, found.group(0)) for text in texts if (found := informal.search(text))] == []


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("de", "Sie erhalten 20\u00a0% Rabatt auf Ihre nächste Bestellung."),
        ("fr", "Profitez de 20\u00a0% de réduction sur votre prochaine commande avec le code MERCI20."),
        ("es", "Disfrute de un 20\u00a0% de descuento en su próximo pedido con el código MERCI20."),
        ("it", "Per Lei uno sconto del 20% sul prossimo ordine con il codice MERCI20."),
        ("pt", "Aproveite 20% de desconto na sua próxima compra com o código MERCI20."),
        ("nl", "U krijgt 20% korting op uw volgende bestelling met de code MERCI20."),
    ],
)
def test_the_percent_sign_is_spaced_as_each_language_writes_it(locale, sentence):
    """German, French and Spanish (as its academies write it) put a space that never breaks before %."""
    from generation.render import offer_text

    code = "MERCI20" if locale != "de" else None
    assert offer_text(Offer(kind="percent_off", value=20, code=code), locale) == sentence


@pytest.mark.parametrize(
    ("locale", "link"),
    [
        ("fr", "Voir le produit\u00a0: https://shop.example/p/TEA-001"),
        ("en", "View product: https://shop.example/p/TEA-001"),
        ("de", "Zum Produkt: https://shop.example/p/TEA-001"),
    ],
)
def test_the_text_email_s_product_link_is_spaced_as_each_language_writes_it(locale, link):
    """French sets a space that never breaks before a colon, as the brands' French footers do ("Se
    désinscrire\u00a0:"); the product link read "Voir le produit: https://…"."""
    from generation.render import render_email

    request = make_request(locale=locale)
    _, text = render_email(
        request, load_brand("hearth"), subject="S", preheader="P", intro="I", product_lines=["One.", "Two."]
    )
    assert f"  {link}\n" in text


@pytest.mark.parametrize(
    ("locale", "informal"),
    [
        ("fr", r"tu|te|toi|ton|ta|tes|t’\w+"),
        ("es", r"tú|tu|tus|te|ti|contigo|vosotr\w*|vuestr\w*"),
        ("it", r"tu|ti|te|tuo|tua|tuoi|tue"),
        ("pt", r"tu|te|ti|teu|tua|teus|tuas|você|vocês|contigo|consigo|connosco|conosco"),
        ("nl", r"je|jij|jou|jouw"),
    ],
)
def test_french_spanish_italian_portuguese_and_dutch_copy_addresses_the_reader_formally(locale, informal):
    """As German does with Sie (vous, usted, Lei, u): a formal brand's kit asks for it, and an informal one's voice
    reads warm in it too. Portuguese goes without você, too familiar in Portugal, and without consigo and connosco,
    which Brazil does not write."""
    from generation.templates import fallback_copies, strings

    pattern = re.compile(rf"(?<!\w)(?:{informal})(?!\w)", re.IGNORECASE)
    words = strings(locale)
    texts = [*words["product_line"], *words["offer"].values(), *words["unsubscribe"].values(), words["greeting"]]
    texts += [kit.footer[locale] for kit in (load_brand("hearth"), load_brand("atelier"))]
    texts += [text for kind in CAMPAIGN_TYPES for copy in fallback_copies(kind, locale) for text in copy.values()]
    assert [(text, found.group(0)) for text in texts if (found := pattern.search(text))] == []


@pytest.mark.parametrize(
    ("locale", "written_in", "greeting", "offer", "view", "sign_off"),
    [
        ("fr-CA", "fr", "Bonjour Anna,", "Profitez de 10\u00a0% de réduction", "Voir le produit", "Chaleureusement"),
        ("es-MX", "es", "Hola, Anna:", "Disfrute de un 10\u00a0% de descuento", "Ver el producto", "Con cariño"),
        ("it-CH", "it", "Buongiorno Anna,", "Per Lei uno sconto del 10%", "Vedi il prodotto", "Un caro saluto"),
        ("pt-BR", "pt", "Olá, Anna,", "Aproveite 10% de desconto", "Ver o produto", "Com carinho"),
        ("nl-BE", "nl", "Beste Anna,", "U krijgt 10% korting", "Bekijk het product", "Hartelijke groet"),
    ],
)
def test_a_customer_in_french_spanish_italian_portuguese_or_dutch_gets_an_email_in_their_language(
    locale, written_in, greeting, offer, view, sign_off
):
    """They got an English email (<html lang="en">, English greeting, copy, sign-off and unsubscribe page),
    flagged for a person: the templates covered en, de, pl, ru and bg only. A regional locale is written in its
    language, as de-AT is in German."""
    from generation.templates import fallback_copies

    settings = LLMSettings(model="fake", cache=False, locales="en")  # the template's copy, as the local model gives
    request = make_request(locale=locale, offer=Offer(kind="percent_off", value=10, code="MERCI10"))
    (draft,) = generate_drafts([request], load_brand("hearth"), settings=settings).drafts
    assert draft.locale == written_in and draft.notes == []
    templates = [(copy["subject"], copy["intro"]) for copy in fallback_copies("win_back", written_in)]
    for variant in draft.variants:
        assert variant.passed, [f"{c.name}: {c.reason}" for c in variant.checks if not c.passed]
        assert (variant.subject, variant.intro) in templates
        assert variant.html.startswith(f'<!doctype html>\n<html lang="{written_in}">')
        assert variant.text.startswith(f"{greeting}\n")
        assert all(
            words in variant.text for words in (offer, view, sign_off, load_brand("hearth").footer_for(written_in))
        )


def test_llm_calls_scale_with_groups_not_customers(fake_settings):
    requests = [make_request(f"c{i}", first_name=f"Name{chr(65 + i % 26)}") for i in range(200)]
    result = generate_drafts(requests, load_brand("hearth"), settings=fake_settings)
    assert len(result.drafts) == 200
    assert result.stats.groups == 1
    assert result.stats.llm_calls == 1


def test_locales_the_model_does_not_write_get_template_copy_without_a_call():
    settings = LLMSettings(model="fake", cache=False, locales="en")
    requests = [make_request("en-1"), make_request("de-1", locale="de"), make_request("pl-1", locale="pl")]
    result = generate_drafts(requests, load_brand("hearth"), settings=settings)
    assert result.stats.groups == 3 and result.stats.llm_calls == 1 and result.stats.template_only_groups == 2
    drafts = {d.customer_id: d for d in result.drafts}
    assert not any(v.used_fallback for v in drafts["en-1"].variants)
    for customer_id in ("de-1", "pl-1"):
        assert all(v.used_fallback and v.passed for v in drafts[customer_id].variants)
    assert "Sencha Green 100 g" in drafts["de-1"].variants[0].text


def test_identical_prompts_are_cached():
    settings = LLMSettings(model="fake", cache=True)
    requests = [make_request("cache-1", segment="lost", campaign_type="vip")]
    generate_drafts(requests, load_brand("atelier"), settings=settings)
    again = generate_drafts(requests, load_brand("atelier"), settings=settings)
    assert again.stats.llm_calls == 0 and again.stats.cache_hits == 1


def test_progress_reaches_the_total(fake_settings):
    seen = []
    requests = [make_request(f"c{i}", locale=["en", "de"][i % 2]) for i in range(6)]
    generate_drafts(requests, load_brand("hearth"), settings=fake_settings, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)


def test_progress_moves_draft_by_draft_within_a_group_before_its_batch_is_handed_over(fake_settings):
    """A group's drafts were reported only once the whole batch was handed over: a 10-customer campaign read
    "writing drafts: 0 of 10" for 6 s, then done, and a group of thousands from a real model said nothing for
    minutes. Each draft written is heard now, before the batch that holds it is handed over."""
    from generation.pipeline import stream_drafts
    from generation.schemas import GenerationStats

    requests = [make_request(f"c{i}", first_name=f"N{i}") for i in range(10)]  # one group: same locale, segment
    heard: list[tuple[str, int]] = []
    batches = stream_drafts(
        requests, load_brand("hearth"), GenerationStats(), settings=fake_settings, batch_size=1_000,
        progress=lambda done, _total: heard.append(("progress", done)),
    )  # fmt: skip
    for batch in batches:
        heard.append(("batch", len(batch)))
    assert heard == [*(("progress", done) for done in range(10)), ("batch", 10), ("progress", 10)], heard


def test_streamed_drafts_come_in_bounded_batches_and_are_the_drafts_of_one_call(fake_settings):
    """A campaign of a million customers cannot hold every rendered draft at once: `stream_drafts` hands them
    over in batches, and all of them together are what `generate_drafts` returns, with the same stats."""
    from generation.pipeline import stream_drafts
    from generation.schemas import GenerationStats

    segments = ["at_risk", "champions", "lost"]
    requests = [
        make_request(f"c{i}", locale=["en", "de"][i % 2], segment=segments[i % 3], first_name=f"N{i}")
        for i in range(70)
    ]
    brand = load_brand("hearth")
    whole = generate_drafts(requests, brand, settings=fake_settings)
    stats, seen = GenerationStats(), []
    progress = lambda done, _total: seen.append(done)  # noqa: E731
    batches = list(stream_drafts(requests, brand, stats, settings=fake_settings, batch_size=8, progress=progress))
    assert max(len(batch) for batch in batches) == 8 and len(batches) > stats.groups == whole.stats.groups == 6
    streamed = {draft.customer_id: draft for batch in batches for draft in batch}
    assert len(streamed) == 70 and [streamed[d.customer_id] for d in whole.drafts] == whole.drafts
    assert stats.model_dump(exclude={"seconds"}) == whole.stats.model_dump(exclude={"seconds"})
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] == 70


def test_requests_built_on_demand_are_not_held_while_drafts_stream(fake_settings):
    """A campaign's requests may come from a sequence that builds each one when asked (a million of them would not
    fit in memory): `stream_drafts` reads it twice by position, keeps only positions per customer, and its drafts
    are those of a list of the same requests."""
    import gc
    from collections import Counter
    from collections.abc import Sequence

    from generation.pipeline import stream_drafts
    from generation.schemas import DraftRequest, GenerationStats

    class OnDemand(Sequence):
        def __len__(self):
            return 120

        def __getitem__(self, position):
            if not 0 <= position < len(self):
                raise IndexError(position)
            return make_request(f"c{position}", locale=["en", "de"][position % 2], first_name=f"N{position}")

    brand = load_brand("hearth")
    whole = generate_drafts(list(OnDemand()), brand, settings=fake_settings)
    alive = []
    streamed = {}
    for batch in stream_drafts(OnDemand(), brand, GenerationStats(), settings=fake_settings, batch_size=10):
        gc.collect()
        # isinstance of each of the process's objects, by type: a pydantic model's isinstance goes through its
        # ABCMeta, and asked of every object (some 700,000, far more in a worker of the whole suite) took seconds
        kinds = Counter(map(type, gc.get_objects()))
        alive.append(sum(count for kind, count in kinds.items() if issubclass(kind, DraftRequest)))
        streamed |= {draft.customer_id: draft for draft in batch}
    assert [streamed[d.customer_id] for d in whole.drafts] == whole.drafts and len(streamed) == 120
    assert max(alive) < 20, alive  # each group's first request, not the 120 of the campaign


def test_requests_may_come_from_a_generator(fake_settings):
    """Read twice by position, the requests of a generator are read into a list first: a generator gave no drafts."""
    from generation.pipeline import stream_drafts
    from generation.schemas import GenerationStats

    brand = load_brand("hearth")
    listed = generate_drafts([make_request(f"c{i}") for i in range(5)], brand, settings=fake_settings)
    generated = generate_drafts((make_request(f"c{i}") for i in range(5)), brand, settings=fake_settings)
    assert generated.drafts == listed.drafts and len(listed.drafts) == 5
    requests = {f"c{i}": make_request(f"c{i}") for i in range(5)}
    streamed = list(stream_drafts(requests.values(), brand, GenerationStats(), settings=fake_settings))
    assert [draft for batch in streamed for draft in batch] == listed.drafts


@register("broken")
def _broken_endpoint(model, settings):
    """A model that always answers with text that is not JSON."""
    return Endpoint(model="openai/broken", api_key="x", mock=lambda messages, schema: "Sure! Here is your email:")


def test_a_model_that_keeps_failing_falls_back_to_template_copy():
    settings = LLMSettings(model="broken", cache=False, max_retries=2)
    result = generate_drafts([make_request()], load_brand("hearth"), settings=settings)
    assert result.stats.llm_calls == 3 and result.stats.invalid_answers == 3
    variants = result.drafts[0].variants
    assert all(v.used_fallback for v in variants) and result.stats.fallbacks == 2
    assert all(v.passed for v in variants)
    assert variants[0].subject != variants[1].subject


@register("boastful")
def _boastful_endpoint(model, settings):
    """A model that answers in the right shape but promises a discount nobody offered."""
    version = {"subject": "Take 70% off today", "preheader": "Only for you", "intro": "Everything is 70% off now."}
    body = json.dumps({"variants": [version, version], "product_lines": {}})
    return Endpoint(model="openai/boastful", api_key="x", mock=lambda messages, schema: body)


@register("samey")
def _samey_endpoint(model, settings):
    """Answers like the fake model, but writes one product line for every product."""
    from generation.llm.fake import answer

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        body["product_lines"] = dict.fromkeys(body["product_lines"], "A bright, warm cup for your kitchen shelf.")
        return json.dumps(body)

    return Endpoint(model="openai/samey", api_key="x", mock=respond)


def test_a_model_line_written_for_two_products_is_kept_for_the_first_only():
    """The local model wrote "Porrajes de célropeo de l'eco de l'eco" under two products of one email."""
    request = make_request()  # two products
    result = generate_drafts([request], load_brand("hearth"), settings=LLMSettings(model="samey", cache=False))
    lines = result.drafts[0].variants[0].product_lines
    assert lines[0] == "A bright, warm cup for your kitchen shelf." and lines[1] == template_product_lines(request)[1]


def test_stats_say_which_check_turned_the_model_copy_down():
    settings = LLMSettings(model="boastful", cache=False, max_retries=1)
    result = generate_drafts([make_request()], load_brand("hearth"), settings=settings)
    assert result.stats.llm_calls == 2 and result.stats.invalid_answers == 0
    assert result.stats.rejected_by_check.get("grounding", 0) >= 2  # both answers invented the 70 %
    assert all(v.used_fallback and v.passed for v in result.drafts[0].variants)


def test_bad_input_fails_with_a_named_error(fake_settings):
    with pytest.raises(UnknownCampaignType, match="newsletter"):
        generate_drafts([make_request(campaign_type="newsletter")], load_brand("hearth"), settings=fake_settings)


def test_a_language_without_templates_gets_the_nearest_or_the_brand_default_with_a_note(fake_settings):
    requests = [make_request("cs-1", locale="cs"), make_request("at-1", locale="de-AT"), make_request("en-1")]
    result = generate_drafts(requests, load_brand("hearth"), settings=fake_settings)
    assert [d.customer_id for d in result.drafts] == ["cs-1", "at-1", "en-1"]  # one locale fails no campaign
    drafts = {d.customer_id: d for d in result.drafts}
    assert drafts["cs-1"].locale == "en" and all(v.passed for v in drafts["cs-1"].variants)
    assert drafts["cs-1"].notes == [
        "The customer's locale is 'cs', a language Hearth & Leaf has no email templates for; this email is written "
        "in English ('en'), the brand's default."
    ]
    assert drafts["at-1"].locale == "de" and drafts["at-1"].notes == []  # the same language, without the region
    assert 'lang="de"' in drafts["at-1"].variants[0].html and drafts["en-1"].notes == []
    assert draft_rows(result.drafts)[0]["notes"] == drafts["cs-1"].notes  # exported with the draft

    german_first = BrandKit.model_validate({**load_brand("hearth").model_dump(), "default_locale": "de"})
    (draft,) = generate_drafts([make_request("uk-1", locale="uk")], german_first, settings=fake_settings).drafts
    assert draft.locale == "de" and "German ('de')" in draft.notes[0]
    with pytest.raises(ValidationError, match="default_locale: 'cs' is not one of the locales"):
        BrandKit.model_validate({**load_brand("hearth").model_dump(), "default_locale": "cs"})


def test_finish_variant_rechecks_an_edited_variant(request_en):
    brand = load_brand("hearth")
    edited = finish_variant(
        request_en, brand, variant_id="A", subject="Now 50% off everything", preheader="Only this week",
        intro="We cut every price in half for you.", product_lines=["Lovely.", "Sturdy."],
    )  # fmt: skip
    grounding = next(c for c in edited.checks if c.name == "grounding")
    assert not grounding.passed and "50" in grounding.reason


def test_offer_kinds_render_in_every_locale(fake_settings):
    """Each kind of offer is stated in each language's email, with its code: a kind a language had no sentence for
    was left out of the email without a word, and only free shipping's checks were looked at."""
    offers = [Offer(kind="percent_off", value=15, code="PCT15"), Offer(kind="amount_off", value=5, code="AMT5"),
              Offer(kind="free_shipping", code="SHIPFREE"), Offer(kind="gift", code="GIFTBOX")]  # fmt: skip
    requests = [
        make_request(f"{offer.kind}-{locale}", locale=locale, offer=offer) for locale in LOCALES for offer in offers
    ]
    drafts = generate_drafts(requests, load_brand("atelier"), settings=fake_settings).drafts
    assert len(drafts) == len(requests)
    for request, draft in zip(requests, drafts, strict=True):
        variant = draft.variants[0]
        assert variant.passed, (draft.customer_id, [c for c in variant.checks if not c.passed])
        for body in (variant.text, variant.html):
            assert request.offer.code in body, (draft.customer_id, body)


def test_a_template_variant_with_a_bad_model_line_gets_template_lines(request_en):
    from generation.copywriter import CopyVariant, GroupCopy
    from generation.pipeline import personalize, template_product_lines
    from generation.templates import fallback_copies

    template = CopyVariant(**fallback_copies("win_back", "en")[0])
    copy = GroupCopy(variants=[(template, True)], product_lines={"TEA-001": "Order at www.tea-deals.biz today."})
    variant = personalize(request_en, load_brand("hearth"), copy, 0)
    assert variant.passed and variant.used_fallback
    assert variant.product_lines == template_product_lines(request_en)


def test_a_model_variant_that_fails_for_one_customer_says_why_the_template_s_copy_replaced_it():
    """The group's copy passed its checks over the group's products, but speaks of a teapot this customer's email
    does not show: the template's copy replaces it, and its claims check says why."""
    from generation.copywriter import CopyVariant, GroupCopy
    from generation.pipeline import personalize
    from generation.templates import fallback_copies
    from tests.generation.conftest import TEA

    template = fallback_copies("win_back", "en")[0]
    intro = "We have missed you. Here are a few things we chose for you, should one of them catch your eye."
    model = CopyVariant(subject="Your teapot misses you", preheader=template["preheader"], intro=intro)
    copy = GroupCopy(variants=[(model, False)], product_lines={})
    variant = personalize(make_request(products=[TEA]), load_brand("hearth"), copy, 0)
    assert variant.used_fallback and variant.passed and variant.subject == template["subject"]
    assert {c.name: c.turned_down for c in variant.checks if c.turned_down} == {
        "unbacked_claims": "the subject speaks of 'teapot', but no product in this email is one"
    }


def test_a_variant_of_the_model_s_copy_names_no_turned_down_check(request_en, fake_settings):
    variants = generate_drafts([request_en], load_brand("hearth"), settings=fake_settings).drafts[0].variants
    assert [v for v in variants if not v.used_fallback]
    assert not [c for v in variants if not v.used_fallback for c in v.checks if c.turned_down]


def test_the_products_of_one_email_never_share_a_template_line():
    """An Italian VIP email said "Una proposta della nostra gamma per Lei." under products 2 and 3: the model
    copied that example line for product 2, and product 3 took it as its template line."""
    from generation.copywriter import CopyVariant, GroupCopy
    from generation.pipeline import personalize
    from generation.templates import fallback_copies, strings
    from tests.generation.conftest import POT, TEA

    third = TEA.model_copy(update={"product_id": "TEA-003", "name": "Genmaicha 100 g"})
    request = make_request(locale="it", campaign_type="vip", products=[TEA, POT, third])
    examples = strings("it")["product_line"]
    template = CopyVariant(**fallback_copies("vip", "it")[0])
    copy = GroupCopy(variants=[(template, True)], product_lines={"KIT-002": examples[2]})
    lines = personalize(request, load_brand("hearth"), copy, 0).product_lines
    assert lines[1] == examples[2] and len(set(lines)) == 3


@register("patchy")
def _patchy_endpoint(model, settings):
    """Answers English groups like the fake model; for German ones the provider fails (a 503, say)."""
    from generation.llm.fake import answer

    def respond(messages, schema):
        if "Write only in German" in messages[0]["content"]:
            return Exception("503 Service Unavailable")
        return answer(messages, schema)

    return Endpoint(model="openai/patchy", api_key="x", mock=respond)


@pytest.mark.parametrize("first", ["en", "de"])
def test_a_provider_failure_costs_only_that_groups_copy_once_any_group_has_answered(first):
    """Whichever group finishes first: a failing group that came back before any answer failed the campaign, so
    the outcome hung on the order the groups finished in (the full suite once saw the German group first)."""
    settings = LLMSettings(model="patchy", cache=False, concurrency=1, locales="en,de", retry_backoff=0)
    requests = [make_request("c-en", locale="en"), make_request("c-de", locale="de")]
    requests = requests if first == "en" else requests[::-1]  # with one call at a time, groups end in this order
    result = generate_drafts(requests, load_brand("hearth"), settings=settings)
    assert result.stats.unavailable_groups == 1 and result.stats.groups == 2
    drafts = {draft.customer_id: draft for draft in result.drafts}
    assert not any(v.used_fallback for v in drafts["c-en"].variants)
    assert all(v.used_fallback and v.passed for v in drafts["c-de"].variants)


def test_a_model_that_never_answers_fails_the_campaign_naming_the_setting():
    """A wrong key or model name used to be ModelUnavailable only for some errors; a campaign of template copy
    would hide it, so when the model has not answered once the campaign fails with the provider's reason."""
    settings = LLMSettings(model="patchy", cache=False, concurrency=1, locales="en,de", retry_backoff=0)
    with pytest.raises(ModelUnavailable, match=r"'patchy' \(TAILOR_LLM_MODEL\) could not be used"):
        generate_drafts([make_request("c-de", locale="de")], load_brand("hearth"), settings=settings)


@register("chatterbox")
def _chatterbox_endpoint(model, settings):
    """Answers in prose instead of JSON, as small models do."""
    return Endpoint(model="openai/chatterbox", api_key="x", mock=lambda m, s: "Here is a lovely email for you!")


def test_unusable_answers_count_in_the_campaign_s_tokens():
    """A campaign's tokens and cost left out the answers that were not JSON, though a hosted model bills them."""
    settings = LLMSettings(model="chatterbox", cache=False, max_retries=1)
    result = generate_drafts([make_request("c1")], load_brand("hearth"), settings=settings)
    assert result.stats.invalid_answers == 2 and result.stats.llm_calls == 2
    assert result.stats.completion_tokens > 0 and result.stats.prompt_tokens > 0
    assert all(v.used_fallback and v.passed for v in result.drafts[0].variants)


@register("rambling")
def _rambling_endpoint(model, settings):
    """Answers like the fake model, but writes the product lines the local model wrote in an audit, and the same
    subject line as the template's first."""
    from generation.llm.fake import answer
    from generation.templates import fallback_copies

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        first, second = list(body["product_lines"])[:2]
        body["product_lines"] = {
            first: "Pretzel Biscuits (250 g)",  # under the tea: another product's name
            second: "A heavy pot. So here is a possible revision of the previous version.",
        }
        subject = fallback_copies("win_back", "en")[0]["subject"]
        body["variants"] = [{**variant, "subject": subject} for variant in body["variants"]]
        return json.dumps(body)

    return Endpoint(model="openai/rambling", api_key="x", mock=respond)


def test_model_lines_that_are_not_about_their_product_and_a_subject_the_other_variant_has_are_left_out():
    """Sent in an audit: a line naming a product the email does not show, the model talking about its own answer,
    and an A/B pair whose two subjects were the same."""
    request = make_request()
    result = generate_drafts([request], load_brand("hearth"), settings=LLMSettings(model="rambling", cache=False))
    variants = result.drafts[0].variants
    assert all(v.product_lines == template_product_lines(request) for v in variants)
    assert len({v.subject for v in variants}) == len(variants)


def test_a_line_naming_another_product_of_the_email_or_talking_about_itself_fails_its_checks():
    from generation.guardrails import CHECKS, CheckContext

    brand = load_brand("hearth")
    request = make_request()
    for line, check in (
        ("Cast Iron goodness in every cup.", "unbacked_claims"),  # the teapot's name under the tea
        ("A grassy cup. Here is a possible revision of the line.", "injection"),
    ):
        context = CheckContext(
            request=request, brand=brand, subject="", preheader="", intro="", product_lines=[line], lines_only=True,
            line_products=[request.products[0].product_id],
        )  # fmt: skip
        assert not CHECKS[check](context).passed, line


@register("echoing")
def _echoing_endpoint(model, settings):
    """Answers like the fake model, but with the subject SmolLM2 wrote in a demo once asked to fix its answer, and
    a product line that is the prompt's own request."""
    from generation.llm.fake import answer

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        body["variants"][0]["subject"] = "Fix this."
        body["product_lines"][next(iter(body["product_lines"]))] = "Then one short line for each product."
        return json.dumps(body)

    return Endpoint(model="openai/echoing", api_key="x", mock=respond)


def test_copy_that_repeats_the_model_s_instructions_is_turned_down():
    """A demo campaign's variant had the subject "Fix this." (copied from the retry's "Your previous answer was
    rejected: ... Fix this."), passed every check and was not flagged."""
    request = make_request()
    settings = LLMSettings(model="echoing", cache=False, max_retries=1)
    result = generate_drafts([request], load_brand("hearth"), settings=settings)
    variants = result.drafts[0].variants
    assert "Fix this." not in {v.subject for v in variants}
    assert variants[0].product_lines[0] == template_product_lines(request)[0]
    # the first version's subject, in the answer and the retry's; the echoed line is counted as a line's, once an
    # answer (it was counted in both versions, which read as four versions turned down)
    assert result.stats.rejected_by_check.get("injection") == 2
    assert result.stats.lines_rejected_by_check.get("injection") == 2
    told = [c.turned_down for v in variants for c in v.checks if c.name == "injection" and c.turned_down]
    assert any("repeats the instructions" in reason for reason in told), told


DOWN_CALLS: list[str] = []


@register("down")
def _down_endpoint(model, settings):
    """A provider that is down: every call a 503; the groups that asked are counted (the answer is made once a
    call to the gateway, which tries it again itself)."""

    def respond(messages, schema):
        DOWN_CALLS.append(messages[0]["content"][:20])
        return Exception("503 Service Unavailable")

    return Endpoint(model="openai/down", api_key="x", mock=respond)


def test_a_provider_down_from_the_start_is_given_up_after_a_few_groups_not_tried_for_each():
    """Every group ran its whole schedule of tries against a provider that was down: 12 groups made 48 calls (and
    with a Retry-After, waited minutes each) before the campaign failed."""
    from generation.llm.breaker import FAILURES_TO_STOP

    DOWN_CALLS.clear()
    settings = LLMSettings(model="down", cache=False, concurrency=1, retry_backoff=0, transient_retries=1)
    segments = ["at_risk", "lost", "hibernating", "champions", "loyal", "new", "cant_lose", "potential_loyalists"]
    requests = [make_request(f"c{i}", segment=segment) for i, segment in enumerate(segments)]
    with pytest.raises(ModelUnavailable, match=r"'down' \(TAILOR_LLM_MODEL\) could not be used after 2 tries"):
        generate_drafts(requests, load_brand("hearth"), settings=settings)
    assert len(DOWN_CALLS) == FAILURES_TO_STOP < len(segments)


def test_a_model_that_answers_no_group_in_time_fails_the_campaign_as_an_unreachable_one_does():
    """Every call timed out, and the campaign was "ready" with 100% template copy and no word why; the same outage
    as a 500 failed it naming the model."""
    with serving(SilentProvider) as base:
        settings = LLMSettings(model="openai/any", api_base=base, api_key="x", timeout=0.5, cache=False, concurrency=1)
        requests = [make_request(f"c{i}", segment=s) for i, s in enumerate(["at_risk", "lost", "new", "loyal", "new"])]
        generate_drafts(requests[:1], load_brand("hearth"), settings=LLMSettings(model="fake"))  # litellm imported
        started = time.monotonic()
        with pytest.raises(ModelUnavailable, match=r"no answer within 0.5 s \(TAILOR_LLM_TIMEOUT\)"):
            generate_drafts(requests, load_brand("hearth"), settings=settings)
        assert time.monotonic() - started < 4  # three groups waited, not every one


def test_the_prompt_holds_nothing_of_the_customers_it_is_written_for():
    """What the README tells a shop sending prompts to a hosted model: no customer's name or id goes in the prompt,
    which is written for a group; the templates put the name in after the model has written."""
    from generation.copywriter import build_messages
    from generation.grouping import group_requests

    requests = [make_request("zz-8871", first_name="Wiesława"), make_request("zz-8872", first_name="Bożydar")]
    (group,) = group_requests(requests)
    sent = " ".join(message["content"] for message in build_messages(group, load_brand("hearth"), 2))
    assert not any(word in sent for word in ("zz-887", "Wiesława", "Bożydar"))
    assert "Sencha" in sent or "tea" in sent.lower()  # the products' facts are what it is written from


def test_the_model_is_told_what_the_brand_kit_says_the_shop_sells_not_a_tea_shop():
    """The system prompt told every brand's model it wrote for "a home, kitchen and tea shop": a shop of bicycles
    with a kit of its own was written for as one of tea. It says what the kit's `shop` says, or the name alone."""
    from generation.copywriter import build_messages
    from generation.grouping import group_requests

    (group,) = group_requests([make_request()])
    hearth = load_brand("hearth")

    def system(brand) -> str:
        return build_messages(group, brand, 2)[0]["content"]

    assert system(hearth).startswith("You write email copy for Hearth & Leaf, a home, kitchen and tea shop. Voice: ")
    cycles = hearth.model_copy(update={"name": "Spoke & Chain", "shop": "a bicycle workshop"})
    assert system(cycles).startswith("You write email copy for Spoke & Chain, a bicycle workshop. Voice: ")
    unsaid = system(hearth.model_copy(update={"shop": ""}))
    assert unsaid.startswith("You write email copy for Hearth & Leaf. Voice: ") and "tea shop" not in unsaid


def test_the_model_is_shown_the_example_and_goal_words_of_the_language_it_writes():
    """A German group's prompt said "Write only in German" and showed the English example and goal words ("miss,
    while, back, again"), while the campaign_goal check holds German copy to the German ones ("vermisst, weile")."""
    from generation.copywriter import build_messages
    from generation.grouping import group_requests
    from generation.templates import fallback_copies

    (group,) = group_requests([make_request(locale="de")])
    user = build_messages(group, load_brand("hearth"), 2)[-1]["content"]
    assert "with one of these words: vermisst, weile, wieder, seit." in user
    example = fallback_copies("win_back", "de")[0]
    assert f"Example: {json.dumps(example, sort_keys=True, ensure_ascii=False)}" in user, user
    assert "Ein paar Ideen, die wir für Sie ausgewählt haben" in user and "It has been a while" not in user


def test_a_model_variant_with_the_template_s_intro_and_a_subject_that_fails_gets_the_template_s_subject():
    """The model's copy took the template's intro word for word and wrote a subject of its own that fails for this
    customer: the template's copy was never tried (the same intro and lines were taken for the same copy), and the
    variant was sent to a person failing, where the template's passes."""
    from generation.copywriter import CopyVariant, GroupCopy
    from generation.pipeline import personalize
    from generation.templates import fallback_copies
    from tests.generation.conftest import TEA

    template = fallback_copies("win_back", "en")[0]
    model = CopyVariant(subject="Your teapot misses you", preheader=template["preheader"], intro=template["intro"])
    copy = GroupCopy(variants=[(model, False)], product_lines={})
    variant = personalize(make_request(products=[TEA]), load_brand("hearth"), copy, 0)
    assert variant.used_fallback and variant.passed and variant.subject == template["subject"]


def test_a_preheader_that_only_repeats_the_subject_gives_way_to_the_template_s_and_says_so():
    """The local model wrote the subject again as the preheader, and the whole variant was turned down for it: its
    subject and intro are kept with the template's preheader, which its structure check names as the template's. A
    version that fails anything else is still the template's copy, whole."""
    from generation.templates import fallback_copies

    result = generate_drafts([make_request()], load_brand("hearth"), settings=PARROT)
    salvaged, template = result.drafts[0].variants
    assert not salvaged.used_fallback and salvaged.passed
    assert salvaged.subject == "We miss your visits" and salvaged.intro.startswith("It has been some weeks")
    assert salvaged.preheader == fallback_copies("win_back", "en")[0]["preheader"]
    assert {c.name: c.turned_down for c in salvaged.checks if c.turned_down} == {
        "structure": "the preheader repeats the subject, so the preheader is the template's; the subject and intro "
        "are the model's"
    }
    assert template.used_fallback and template.passed and template.subject != "Good to see you again"
    assert {c.name for c in template.checks if c.turned_down} == {"grounding", "structure"}  # 70 % off, and the repeat
    assert result.stats.fallbacks == 1


def test_an_intro_that_only_repeats_another_field_keeps_the_rest_of_the_model_s_copy_and_says_so():
    """The local model wrote its preheader (or subject) again as the intro, and the whole variant was turned down
    for it: the preheader the intro repeats gives way to the template's, and an intro that repeats the subject to
    the template's intro; the structure check names the field that is the template's, and every check passes."""
    from generation.templates import fallback_copies

    templates = fallback_copies("win_back", "en")
    result = generate_drafts([make_request()], load_brand("hearth"), settings=ECHO)
    first, second = result.drafts[0].variants
    assert not first.used_fallback and first.passed and not second.used_fallback and second.passed
    assert (first.subject, first.intro) == ("We miss your visits", "Take a look at what is new in the shop.")
    assert first.preheader == templates[0]["preheader"]
    assert {c.name: c.turned_down for c in first.checks if c.turned_down} == {
        "structure": "the intro repeats the preheader, so the preheader is the template's; the subject and intro "
        "are the model's"
    }
    assert (second.subject, second.preheader) == ("Your favourites are waiting for you", "Back in the kitchen with us?")
    assert second.intro in {template["intro"] for template in templates}
    assert {c.name: c.turned_down for c in second.checks if c.turned_down} == {
        "structure": "the intro repeats the subject, so the intro is the template's; the subject and preheader are "
        "the model's"
    }
    assert result.stats.fallbacks == 0
