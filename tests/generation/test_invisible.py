"""Characters a reader does not see, in the model's copy: a direction control turned a subject around for the reader
while the checks read it as written, and a zero-width space in "click here" or "free" hid the phrase from the spam
and grounding checks, though not from the reader (nor from spam filters, which count such characters against the
sender). The copy is checked, and kept, without them; the joiners a reader does see stay."""

from __future__ import annotations

import json

from generation.brands import load_brand
from generation.copywriter import CopyVariant
from generation.invisible import first_direction_control, visible
from generation.llm import Endpoint, register
from generation.pipeline import generate_drafts
from generation.settings import LLMSettings
from generation.suggestion import SuggestionTurnedDown, suggest_copy
from tests.generation.conftest import make_request

HIDDEN = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad\u200b\u200c\u200d\u2060\ufeff"
TURNED = {  # the subject reads "We kept a warm cup for you" on the screen
    "subject": "We kept a warm cup \u202euoy rof", "preheader": "Fresh\u00ad leaves and a tea\u200bpot picked for you",
    "intro": "It has been a while, and we would love to see you back for a slow morning with a fresh pot.",
}  # fmt: skip
HIDDEN_CLICK = {
    "subject": "Good to see you again", "preheader": "A few things picked for your kitchen",
    "intro": "It has been a while, so click h\u200bere to see the fresh pot we picked for you today.",
}  # fmt: skip
HIDDEN_FREE = {
    "subject": "A small gift for you", "preheader": "A few things picked for your kitchen",
    "intro": "It has been a while. Your teapot comes 100% fr\ufeffee with a fresh pot picked for you.",
}  # fmt: skip


@register("hiding")
def _hiding_endpoint(model, settings):
    """Answers like the fake model, with the versions above and a product line with a zero-width joiner in a word."""
    from generation.llm.fake import answer

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        line = "A bright, warm cup for your kitchen\u200d shelf."
        return json.dumps(
            body | {"variants": [TURNED, HIDDEN_CLICK], "product_lines": dict.fromkeys(body["product_lines"], line)}
        )

    return Endpoint(model="openai/hiding", api_key="x", mock=respond)


def _suggesting(name: str, version: dict[str, str]) -> LLMSettings:
    """Settings of a model registered as ``name`` that suggests ``version`` whatever it is asked."""

    @register(name)
    def _endpoint(model, settings):
        return Endpoint(model=f"openai/{name}", api_key="x", mock=lambda messages, schema: json.dumps(version))

    return LLMSettings(model=name, cache=False, max_retries=1)


CURRENT = CopyVariant(
    subject="We miss your visits", preheader="A few things picked for your kitchen",
    intro="It has been a while since your last order. Take a look at what we chose for you.",
)  # fmt: skip


def test_the_campaign_s_copy_is_checked_and_kept_as_the_reader_sees_it():
    result = generate_drafts([make_request()], load_brand("hearth"), settings=LLMSettings(model="hiding", cache=False))
    turned, clicking = result.drafts[0].variants
    assert (turned.subject, turned.preheader) == (
        "We kept a warm cup uoy rof",
        "Fresh leaves and a teapot picked for you",
    )
    assert not turned.used_fallback and turned.product_lines[0] == "A bright, warm cup for your kitchen shelf."
    assert not any(character in turned.html + turned.text for character in HIDDEN)
    assert clicking.used_fallback and result.stats.rejected_by_check.get("spam_triggers", 0) >= 1


def test_a_suggestion_hiding_a_spam_phrase_or_a_free_gift_is_turned_down():
    request = make_request()
    for name, version in (("hidden_click", HIDDEN_CLICK), ("hidden_free", HIDDEN_FREE)):
        try:
            suggest_copy(request, load_brand("hearth"), CURRENT, [], settings=_suggesting(name, version))
        except SuggestionTurnedDown as turned_down:
            assert "spam_triggers" in dict(turned_down.reasons), name
        else:
            raise AssertionError(f"{name}: a version with a hidden spam phrase was suggested")


def test_a_suggested_subject_is_kept_as_the_reader_sees_it():
    suggestion = suggest_copy(make_request(), load_brand("hearth"), CURRENT, [], settings=_suggesting("turned", TURNED))
    assert suggestion.variant.subject == "We kept a warm cup uoy rof"
    assert not any(character in suggestion.variant.html for character in HIDDEN)


def test_the_joiners_a_reader_sees_stay():
    family, persian, hindi = "\U0001f468\u200d\U0001f469\u200d\U0001f467", "می\u200cخواهم", "क्\u200dष"
    assert visible(f"For the {family} at home") == f"For the {family} at home"
    assert (visible(persian), visible(hindi)) == (persian, hindi)
    assert visible("fr\u200cee fr\u200dee \u200dclick") == "free free click"
    assert first_direction_control("Hello \u2067world") == "character 7 is U+2067 RIGHT-TO-LEFT ISOLATE"
    assert first_direction_control("Hello world") is None
